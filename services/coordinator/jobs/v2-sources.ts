/**
 * V2 topic-only front end (params.sources), before ingest:
 *
 *   queries (model; offline: the topic's own words) → search tasks (query × provider)
 *   → dedupe (DOI, arXiv id, normalised title; also against papers the input already has)
 *   → BM25 against the topic picks what to fetch → fetch/extract tasks (PDF first, else the page)
 *   → BM25 filter on the texts → the model's judgement → the input record the pipeline reads.
 *
 * Every search and fetch is a task on the bus: bounded concurrency per host in each worker,
 * memoized by task id, so a crawl scales with the workers and a replay after a crash re-fetches
 * nothing. A failed search or fetch is a reason in the record; the job goes on with the rest.
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import type { V2Params } from '../../../shared/protocol/v2-params.ts';
import { parseInputText, prepareInput } from '../../../shared/protocol/v2-input.ts';
import { queriesOp } from '../../../shared/ops/sources/queries.ts';
import { searchOp } from '../../../shared/ops/sources/search.ts';
import { fetchOp } from '../../../shared/ops/sources/fetch.ts';
import { judgeOp } from '../../../shared/ops/sources/judge.ts';
import { offlineQueries } from '../../../shared/sources/queries.ts';
import { dedupe } from '../../../shared/sources/dedupe.ts';
import { bm25Filter } from '../../../shared/sources/relevance.ts';
import { provenanceById, toPaper } from '../../../shared/sources/record.ts';
import { findArxivId, findDoi, sha256Hex } from '../../../shared/sources/ids.ts';
import type { Hit } from '../../../shared/sources/providers/index.ts';
import type { SkippedSource, SourceDoc } from '../../../shared/sources/types.ts';
import type { SourcesSpec } from '../../../shared/sources/spec.ts';

export interface SourcesReport {
  queries: string[];
  /** Hits returned by all searches. */
  found: number;
  /** Distinct works after dedupe. */
  distinct: number;
  /** Fetches tried, and those that yielded text. */
  fetchTried: number;
  fetched: number;
  /** Sources handed to the survey. */
  kept: number;
  skipped: SkippedSource[];
  searchErrors: SkippedSource[];
  provenance: { id: string; provenance: SourceDoc['provenance'] }[];
  ms: number;
}

function hitDoc(h: Hit, provider: string, query: string, at: string): SourceDoc {
  const text = h.abstract;
  return {
    title: h.title,
    text,
    ...(h.abstract ? { abstract: h.abstract } : {}),
    authors: h.authors,
    year: h.year,
    doi: h.doi,
    arxivId: h.arxivId,
    url: h.url,
    venue: h.venue,
    provenance: {
      origin: provider,
      ...(h.url ? { url: h.url } : {}),
      ...(h.doi ? { doi: h.doi } : {}),
      ...(h.arxivId ? { arxivId: h.arxivId } : {}),
      retrievedAt: at,
      sha256: sha256Hex(JSON.stringify(h)),
      format: 'metadata',
      query,
    },
  };
}

/** Candidate URLs for a hit's full text: the PDF first, then the landing page. */
function fetchUrls(d: SourceDoc, pdf: string | null): string[] {
  const urls = [pdf, d.url].filter((u): u is string => !!u && /^https?:\/\//i.test(u));
  return [...new Set(urls)].slice(0, 4);
}

export async function gatherSources(ctx: JobContext, p: V2Params & { sources: SourcesSpec }): Promise<{ inputKey: string; report: SourcesReport }> {
  const t0 = Date.now();
  const spec = p.sources;
  const base = parseInputText(await ctx.blobText(p.inputKey)) as { title: string; papers?: unknown[] } & Record<string, unknown>;
  const skipped: SkippedSource[] = [];
  const searchErrors: SkippedSource[] = [];
  // 1. Queries: the model's, or the offline ones when its task failed.
  const q = await ctx.runSettled(queriesOp, { topic: spec.topic, n: spec.queries });
  const queries = q.ok ? q.value.queries : offlineQueries(spec.topic, spec.queries);
  if (!q.ok) searchErrors.push({ source: 'queries', reason: `${q.error}; the topic's own words were used` });
  ctx.emit({ type: 'info', stage: 'sources', message: `${queries.length} queries × ${spec.providers.length} providers`, data: { queries } });
  // 2. Search: one task per (query, provider).
  const searches = queries.flatMap((query) => spec.providers.map((provider) => ({ provider, query, n: spec.perQuery })));
  const results = await ctx.mapSettled(searchOp, searches, { stage: 'search' });
  const hits: { doc: SourceDoc; pdf: string | null }[] = [];
  results.forEach((r, i) => {
    const s = searches[i];
    if (!r.ok) return void searchErrors.push({ source: `${s.provider}: ${s.query}`, reason: r.error });
    if (r.value.error) searchErrors.push({ source: `${s.provider}: ${s.query}`, reason: r.value.error });
    for (const h of r.value.hits) hits.push({ doc: hitDoc(h, s.provider, s.query, r.value.at), pdf: h.pdfUrl });
  });
  // 3. Dedupe, counting the papers the input already holds first (so they win).
  const existing = ((base.papers ?? []) as Record<string, any>[]).map((x): SourceDoc => ({
    title: String(x?.title ?? ''), text: String(x?.txt ?? x?.abstract ?? ''), authors: [], year: null,
    doi: findDoi(x?.doi ?? ''), arxivId: findArxivId(x?.arxiv_id ? `arXiv:${x.arxiv_id}` : x?.url ?? ''), url: null,
    provenance: { origin: 'input', retrievedAt: '', sha256: '0'.repeat(64), format: 'input', path: String(x?.title ?? '') },
  })).filter((d) => d.title);
  const pdfOf = new Map<SourceDoc, string | null>();
  const all = [...existing, ...hits.map((h) => (pdfOf.set(h.doc, h.pdf), h.doc))];
  const { docs: uniq, duplicates } = dedupe(all);
  const fresh = uniq.filter((d) => d.provenance.origin !== 'input');
  const dupCount = duplicates.length;
  // The PDF link of a merged duplicate: any copy's.
  const pdfByTitle = new Map<string, string>();
  for (const h of hits) if (h.pdf) pdfByTitle.set(h.doc.title.toLowerCase(), h.pdf);
  // 4. Fetch the most promising ones (BM25 over title and abstract).
  const order = bm25Filter(spec.topic, fresh, spec.maxFetch, 0);
  for (const d of order.dropped) skipped.push({ source: fresh[d.index].url ?? fresh[d.index].title, reason: d.score > 0 ? `ranked ${spec.maxFetch + 1} or lower by BM25 against the topic; not fetched` : 'shares no term with the topic' });
  const chosen = order.kept.map((k) => fresh[k.index]);
  const tasks = spec.fetchFullText ? chosen.map((d) => fetchUrls(d, pdfOf.get(d) ?? pdfByTitle.get(d.title.toLowerCase()) ?? null)) : [];
  const withUrls = tasks.map((urls, i) => ({ urls, i })).filter((t) => t.urls.length);
  const fetched = await ctx.mapSettled(fetchOp, withUrls.map((t) => ({ urls: t.urls })), { stage: 'fetch' });
  let fetchedOk = 0;
  const docs: SourceDoc[] = chosen.map((d) => ({ ...d }));
  fetched.forEach((r, j) => {
    const d = docs[withUrls[j].i];
    const label = d.url ?? d.title;
    if (r.ok && r.value.ok && r.value.text) {
      fetchedOk++;
      d.text = r.value.text;
      d.provenance = { ...d.provenance, url: r.value.url, format: r.value.format ?? 'text', sha256: r.value.sha256 ?? d.provenance.sha256, retrievedAt: r.value.retrievedAt ?? d.provenance.retrievedAt };
    } else {
      const why = r.ok ? (r.value.reason ?? 'no text') : r.error;
      skipped.push({ source: label, reason: d.abstract ? `full text not used (${why}); the abstract stands in` : `no text (${why})` });
    }
  });
  const withText = docs.filter((d) => d.text.trim().length >= 40);
  for (const d of docs) if (d.text.trim().length < 40 && !skipped.some((s) => s.source === (d.url ?? d.title) && /no text/.test(s.reason))) skipped.push({ source: d.url ?? d.title, reason: 'no text and no abstract' });
  // 5. Relevance: BM25 on the texts, then the model's judgement (offline: shared topic terms).
  const rel = bm25Filter(spec.topic, withText, spec.maxSources, 0);
  for (const d of rel.dropped) skipped.push({ source: withText[d.index].url ?? withText[d.index].title, reason: d.score > 0 ? `below the best ${spec.maxSources} by BM25 against the topic` : 'shares no term with the topic' });
  let kept = rel.kept.map((k) => withText[k.index]);
  if (spec.judge && kept.length) {
    const batches: SourceDoc[][] = [];
    for (let i = 0; i < kept.length; i += 20) batches.push(kept.slice(i, i + 20));
    const verdicts = await ctx.mapSettled(judgeOp, batches.map((b) => ({ topic: spec.topic, candidates: b.map((d, j) => ({ id: `C${j + 1}`, title: d.title, abstract: (d.abstract ?? d.text).slice(0, 1200) })) })), { stage: 'judge' });
    kept = batches.flatMap((b, i) => {
      const v = verdicts[i];
      if (!v.ok) return b; // no verdict: BM25's choice stands
      return b.filter((d, j) => {
        const verdict = v.value.verdicts.find((x) => x.id === `C${j + 1}`);
        if (verdict && !verdict.relevant) skipped.push({ source: d.url ?? d.title, reason: `judged not relevant (${verdict.reason})` });
        return !verdict || verdict.relevant;
      });
    });
  }
  const record = { ...base, title: base.title, papers: [...(base.papers ?? []), ...kept.map(toPaper)] };
  const body = JSON.stringify(record);
  const inputKey = `jobs/${ctx.jobId}/sources-input.json`;
  await ctx.putBlob(inputKey, body);
  let provenance: SourcesReport['provenance'] = [];
  try {
    provenance = provenanceById(record.papers as never[], prepareInput(record).papers);
  } catch {
    provenance = [];
  }
  const report: SourcesReport = { queries, found: hits.length, distinct: fresh.length, fetchTried: withUrls.length, fetched: fetchedOk, kept: kept.length, skipped, searchErrors, provenance, ms: Date.now() - t0 };
  ctx.emit({ type: 'info', stage: 'sources', message: `${hits.length} hits, ${fresh.length} distinct (${dupCount} duplicates), ${fetchedOk}/${withUrls.length} fetched, ${kept.length} kept`, data: { found: hits.length, distinct: fresh.length, fetched: fetchedOk, kept: kept.length, searchErrors: searchErrors.length } });
  for (const e of searchErrors) ctx.emit({ type: 'info', stage: 'sources', message: `search skipped: ${e.source}: ${e.reason}` });
  return { inputKey, report };
}

/**
 * V2 job script: topic + papers → cited Markdown survey.
 *
 *   ingest → group → partial outlines (map) → merge (reduce, tree-shaped for many partials)
 *   → repair → digest every paper (map, failures recorded) → [refinement blocks + re-digest]
 *   → write bottom-up (dependency-driven) → figures (optional) → assemble with numbered citations.
 */
import { z } from 'zod';
import { UnusableResultError, type JobContext } from '../../../shared/jobs/types.ts';
import { V2ParamsSchema } from '../../../shared/protocol/schemas.ts';
import { batches, chunk, randomGroups, rebalance } from '../../../shared/algo/grouping.ts';
import { ROOT_ID, leaves, repairOutline, sections, sectionNumber, walk, type OutlineNode } from '../../../shared/algo/outline.ts';
import { assembleSurvey, slugify } from '../../../shared/algo/assemble.ts';
import { citedKeys } from '../../../shared/algo/citations.ts';
import { groupOp } from '../../../shared/ops/v2/group.ts';
import { outlinePartialOp } from '../../../shared/ops/v2/outline-partial.ts';
import { outlineMergeOp, type MergeInput } from '../../../shared/ops/v2/outline-merge.ts';
import { digestOp, mergeDigestParts, normaliseDigest, type DigestInput, type DigestOutput } from '../../../shared/ops/v2/digest.ts';
import { figuresOp, figureProblems, renderFigure } from '../../../shared/ops/v2/figures.ts';
import { cutAt } from '../../../shared/protocol/v2-input.ts';
import { describeIssues } from '../../../shared/protocol/issues.ts';
import { ingest, type Ingested } from './v2-ingest.ts';
import { refineBlock, type BlockRecord } from './refine-block.ts';
import { digestsBySection, pruneEmptySections, rekeyDigests, writeConclusion, writeSections, type Failure } from './v2-write.ts';
import { OPEN_PROBLEM, paperSubject } from '../../../shared/algo/prose.ts';
import { retitleOutline } from '../../../shared/algo/retitle.ts';
import { verifyWritten } from './v2-verify.ts';
import { gatherSources } from './v2-sources.ts';
import { givenDigests, givenOutline, reviewAt, useBaseJob, type ReviewLog } from './v2-review.ts';

/** V2 params: all of them live in the wire schema (shared/protocol/v2-params.ts). */
export const V2JobParamsSchema = V2ParamsSchema;
export type V2JobParams = z.infer<typeof V2JobParamsSchema>;

function stage<T>(ctx: JobContext, name: string, fn: () => Promise<T>, data?: (r: T) => Record<string, unknown>): Promise<T> {
  ctx.emit({ type: 'stage.started', stage: name });
  return fn().then((r) => {
    ctx.emit({ type: 'stage.finished', stage: name, ...(data ? { data: data(r) } : {}) });
    return r;
  });
}

const NO_BLOBS = { blobText: () => Promise.reject(new Error('the offline outline merge reads no blobs')) };

const rootOf = (title: string, children: OutlineNode[]): OutlineNode => ({ id: ROOT_ID, title, construction: '', analysis: '', children });

/** Where an op's offline implementation stood in for an unusable model reply (recorded, and shown in the Markdown). */
function noteFallback(fallbacks: Failure[], stage: string, id: string, s: { ok: boolean; fallback?: string }): void {
  if (s.ok && s.fallback) fallbacks.push({ stage, id, reason: s.fallback });
}

async function makeGroups(ctx: JobContext, p: V2JobParams, inp: Ingested, failures: Failure[], fallbacks: Failure[]): Promise<string[][]> {
  const ids = inp.papers.map((x) => x.id);
  if (p.groupMode === 'random') return randomGroups(ctx.rng, ids, p.groupSize);
  // The model groups shuffled batches of at most `groupBatch` papers (one reply cannot list
  // thousands of ids); each batch's reply is repaired against that batch's papers.
  const titles = new Map(inp.papers.map((x) => [x.id, x.title]));
  const parts = chunk(ctx.rng.shuffle(ids), p.groupBatch);
  const settled = await ctx.mapSettled(
    groupOp,
    parts.map((part) => ({ title: inp.title, groupSize: p.groupSize, papers: part.map((id) => ({ id, title: titles.get(id)! })) })),
    { stage: 'group' },
  );
  return settled.flatMap((s, i) => {
    if (!s.ok) {
      failures.push({ stage: 'group', id: `batch ${i + 1}/${parts.length}`, reason: `${s.error}; random groups used instead` });
      return randomGroups(ctx.rng, parts[i], p.groupSize);
    }
    noteFallback(fallbacks, 'group', `batch ${i + 1}/${parts.length}`, s);
    const { groups, report } = rebalance(s.value.groups.map((g) => g.ids), p.groupSize, parts[i]);
    if (report.unknown.length || report.duplicates.length || report.missing.length)
      ctx.emit({ type: 'info', stage: 'group', message: `grouping repaired: ${report.unknown.length} unknown, ${report.duplicates.length} repeated, ${report.missing.length} missing ids`, data: { ...report } });
    return groups;
  });
}

async function makeOutline(ctx: JobContext, p: V2JobParams, inp: Ingested, groups: string[][], failures: Failure[], fallbacks: Failure[], repairs: string[]): Promise<OutlineNode> {
  const meta = new Map(inp.papers.map((x) => [x.id, x]));
  const inputs = batches(ctx.rng, groups, p.outlineBatch).map((b) => ({
    title: inp.title,
    papers: b.flat().map((id) => ({ id, title: meta.get(id)!.title, abstract: cutAt(meta.get(id)!.abstract, p.abstractChars) })),
  }));
  const settled = await ctx.mapSettled(outlinePartialOp, inputs, { stage: 'outline' });
  const tidy = (secs: OutlineNode[]) => repairOutline(rootOf(inp.title, secs), p.maxDepth).outline.children;
  let level: MergeInput['partials'] = [];
  settled.forEach((s, i) => {
    noteFallback(fallbacks, 'outline', `batch ${i + 1}`, s);
    if (s.ok && s.value.sections.length) level.push({ sections: tidy(s.value.sections) });
    else failures.push({ stage: 'outline', id: `batch ${i + 1}`, reason: s.ok ? 'the partial outline is empty' : s.error });
  });
  if (level.length === 0) {
    const why = failures.filter((f) => f.stage === 'outline').map((f) => `${f.id}: ${f.reason}`);
    throw new Error(`no partial outline could be drafted (${why.length} batches failed; first: ${why[0] ?? 'none'})`);
  }
  // Many partials are merged in a tree (fan-in `mergeFanIn`), which also keeps each task small.
  // A merge task that fails is done by the offline clustering instead, and recorded.
  const mergeAll = async (inputs: MergeInput[]) => {
    const settled = await ctx.mapSettled(outlineMergeOp, inputs, { stage: 'outline' });
    return Promise.all(
      settled.map(async (s, i) => {
        noteFallback(fallbacks, 'outline', `merge ${i + 1}/${inputs.length}`, s);
        if (s.ok) return s.value;
        failures.push({ stage: 'outline', id: `merge ${i + 1}/${inputs.length}`, reason: `${s.error}; merged by the offline clustering instead` });
        return outlineMergeOp.extractive(inputs[i], NO_BLOBS);
      }),
    );
  };
  while (level.length > p.mergeFanIn) {
    const merged = await mergeAll(chunk(level, p.mergeFanIn).map((partials) => ({ title: inp.title, partials })));
    level = merged.map((m) => ({ sections: tidy(m.sections) }));
  }
  const [merged] = await mergeAll([{ title: inp.title, partials: level }]);
  let fixed = repairOutline(rootOf(inp.title, merged.sections), p.maxDepth);
  if (fixed.problems.length) {
    // The model's merge passed its checks but is still unusable after renumbering: the offline
    // clustering of the same partials decides the outline, and the record says so.
    const offline = await outlineMergeOp.extractive({ title: inp.title, partials: level }, NO_BLOBS);
    const alt = repairOutline(rootOf(inp.title, offline.sections), p.maxDepth);
    fallbacks.push({ stage: 'outline', id: 'merge', reason: `the merged outline was unusable (${fixed.problems.join('; ')}); merged by the offline clustering instead` });
    fixed = alt;
  }
  repairs.push(...fixed.repairs);
  if (fixed.problems.length) throw new Error(`the merged outline is unusable: ${fixed.problems.join('; ')} (the offline merge of the ${level.length} partial outline(s) could not do better; are there at least 2 papers?)`);
  return fixed.outline;
}

async function digestAll(ctx: JobContext, inp: Ingested, outline: OutlineNode, failures: Failure[], fallbacks: Failure[], pass: number) {
  const known = new Set(inp.papers.map((x) => x.id));
  const view = sections(outline).map(({ node }) => ({
    id: node.id,
    title: node.title,
    construction: node.construction,
    leaf: node.children.length === 0,
    papers: citedKeys(`${node.construction} ${node.analysis}`).filter((k) => known.has(k)),
  }));
  const ids = new Set(view.map((s) => s.id));
  const tasks: DigestInput[] = [];
  const owner: number[] = [];
  inp.papers.forEach((paper, i) =>
    inp.chunks[i].forEach((range, c, all) => {
      tasks.push({
        title: inp.title,
        paperId: paper.id,
        paperTitle: paper.title,
        textKey: inp.keys[i],
        ...(all.length > 1 ? { range } : {}),
        part: { index: c, count: all.length },
        sections: view,
      });
      owner.push(i);
    }),
  );
  const settled = await ctx.mapSettled(digestOp, tasks, { stage: pass ? `digest ${pass + 1}` : 'digest' });
  const parts = inp.papers.map(() => [] as DigestOutput[]);
  let unknownSections = 0;
  settled.forEach((s, t) => {
    const paper = inp.papers[owner[t]];
    const part = tasks[t].part;
    if (!s.ok) {
      failures.push({ stage: 'digest', id: part.count > 1 ? `${paper.id} part ${part.index + 1}/${part.count}` : paper.id, reason: s.error });
      return;
    }
    noteFallback(fallbacks, pass ? `digest ${pass + 1}` : 'digest', part.count > 1 ? `${paper.id} part ${part.index + 1}/${part.count}` : paper.id, s);
    const n = normaliseDigest(s.value, paper.id, ids);
    unknownSections += n.unknownSections.length;
    parts[owner[t]].push(n.digest);
  });
  const digests = inp.papers.flatMap((paper, i) => (parts[i].length ? [mergeDigestParts(paper.id, parts[i])] : []));
  return { digests, unknownSections };
}

export async function runV2(ctx: JobContext): Promise<Record<string, unknown>> {
  const parsed = V2JobParamsSchema.safeParse(ctx.spec.params);
  if (!parsed.success) throw new Error(`invalid V2 parameters: ${describeIssues(parsed.error, V2JobParamsSchema)}`);
  const p = parsed.data;
  const t0 = Date.now();
  const failures: Failure[] = [];
  /** Tasks whose model reply was unusable even after a repair round: the offline implementation answered. */
  const fallbacks: Failure[] = [];
  const repairs: string[] = [];
  const reviews: ReviewLog[] = [];
  // A rerun of an edited outline reuses its base job's results (v2-review.ts): set up before any task.
  const base = await useBaseJob(ctx, p);
  // Topic-only mode: search, fetch and filter sources first (v2-sources.ts); the result is the input ingest reads.
  const src = p.sources ? await stage(ctx, 'sources', () => gatherSources(ctx, { ...p, sources: p.sources! }), (s) => ({ found: s.report.found, fetched: s.report.fetched, kept: s.report.kept })) : undefined;
  const ingestKey = src?.inputKey ?? p.inputKey;
  const inp = await stage(ctx, 'ingest', () => ingest(ctx, ingestKey, p.digestChunkChars, base?.namespace), (r) => ({ papers: r.papers.length, skipped: r.skipped.length, truncated: r.truncated.length }));
  let groups: string[][] = [];
  let outline: OutlineNode;
  let pass = 0;
  let dig: Awaited<ReturnType<typeof digestAll>>;
  const refinement: BlockRecord[] = [];
  if (p.outline) {
    // A given outline (a rerun's edit): no grouping, drafting or refinement.
    const given = givenOutline(p);
    outline = given;
    ctx.emit({ type: 'info', stage: 'outline', message: `${base ? `rerun of ${base.jobId} with an edited outline` : 'outline given'}: ${sections(given).length} sections` });
    dig = await stage(ctx, 'digest', () => givenDigests(ctx, p, given, base, () => digestAll(ctx, inp, given, failures, fallbacks, 0)), (d) => ({ digested: d.digests.length }));
  } else {
    const g = await stage(ctx, 'group', () => makeGroups(ctx, p, inp, failures, fallbacks), (x) => ({ groups: x.length }));
    groups = g;
    const drafted = await stage(ctx, 'outline', () => makeOutline(ctx, p, inp, g, failures, fallbacks, repairs), (o) => ({ sections: sections(o).length, repairs: repairs.length }));
    let cur = await reviewAt(ctx, p, 'draft', drafted, reviews, failures);
    let d = await stage(ctx, 'digest', () => digestAll(ctx, inp, cur, failures, fallbacks, pass), (x) => ({ digested: x.digests.length }));
    for (let b = 0; b < p.blocks; b++) {
      const block = await stage(ctx, `refine ${b + 1}`, () => refineBlock(ctx, { ...p.conv, maxDepth: p.maxDepth }, cur, g, d.digests, { block: b }));
      refinement.push(block.record);
      // After the last block the person reviews the refined outline before it is digested again.
      cur = b === p.blocks - 1 ? await reviewAt(ctx, p, 'refined', block.outline, reviews, failures) : block.outline;
      pass++;
      d = await stage(ctx, `digest ${pass + 1}`, () => digestAll(ctx, inp, cur, failures, fallbacks, pass), (x) => ({ digested: x.digests.length }));
    }
    outline = cur;
    dig = d;
  }
  // Sections that no digest informs are dropped before writing (the record lists them).
  const informed = new Set(dig.digests.flatMap((d) => Object.keys(d.sections)));
  const pruned = pruneEmptySections(outline, (id) => informed.has(id));
  outline = pruned.outline;
  const digests = rekeyDigests(dig.digests, pruned.idMap);
  const meta = new Map(inp.papers.map((x) => [x.id, { title: x.title, authors: x.authors, year: x.year }]));
  const filed = digestsBySection(outline, digests, meta);
  // An outline the offline engine drew is retitled from the papers the digests filed under each
  // section (noun phrases of their titles and abstracts), so every heading names what is under it.
  const offlineOutline = fallbacks.some((f) => f.stage === 'outline' && /merge/.test(f.id)) || failures.some((f) => f.stage === 'outline' && /^merge/.test(f.id));
  let renamed: { id: string; from: string; to: string }[] = [];
  // A person's outline (given, or edited at review) keeps the person's titles.
  const personsOutline = !!p.outline || reviews.some((r) => r.edited);
  if ((ctx.spec.engine === 'extractive' || offlineOutline) && !personsOutline) {
    const paperIds = new Map([...filed.bySection].map(([id, list]) => [id, list.map((d) => d.paperId)]));
    ({ outline, renamed } = retitleOutline(outline, paperIds, inp.papers, inp.title));
  }
  const knownIds = new Set(inp.papers.map((x) => x.id));
  const written = await stage(ctx, 'write', () =>
    writeSections(ctx, {
      title: inp.title,
      outline,
      bySection: filed.bySection,
      knownIds,
      paperCount: digests.length,
      conclusionNumber: String(outline.children.length + 1),
      ...(p.sectionWords ? { targetWords: p.sectionWords } : {}),
      ...(p.language ? { language: p.language } : {}),
    }),
  );
  failures.push(...written.failures);
  for (const [id, reason] of written.offline) if (!written.failures.some((f) => f.id === id)) fallbacks.push({ stage: 'write', id, reason });
  const figures = new Map<string, string[]>();
  if (p.figures) {
    await stage(ctx, 'figures', async () => {
      // Each section's text is capped so the task stays far below the bus's message limit.
      const secs = walk(outline).map(({ node, depth }) => ({ id: node.id, number: sectionNumber(node.id), title: node.title, depth, text: cutAt(written.texts.get(node.id) ?? '', 4000) }));
      try {
        const out = await ctx.run(figuresOp, { title: inp.title, sections: secs });
        for (const f of out.figures) {
          const bad = figureProblems(f);
          if (bad.length || !written.texts.has(f.sectionId)) failures.push({ stage: 'figures', id: f.sectionId, reason: bad.join('; ') || 'unknown section id' });
          else figures.set(f.sectionId, [...(figures.get(f.sectionId) ?? []), renderFigure(f)]);
        }
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        failures.push({ stage: 'figures', id: 'all', reason: (e as Error).message });
      }
    });
  }
  // The conclusion is written from the finished sections and the papers' own open problems.
  const notes = digests.flatMap((d) => (OPEN_PROBLEM.test(d.suggestion) ? [{ paperId: d.paperId, subject: paperSubject(meta.get(d.paperId)?.authors, meta.get(d.paperId)?.title ?? d.paperId), text: d.suggestion }] : []));
  const conclusion = await stage(ctx, 'conclude', () => writeConclusion(ctx, { title: inp.title, outline, texts: written.texts, notes, knownIds, ...(p.language ? { language: p.language } : {}) }));
  if (conclusion.failure) failures.push(conclusion.failure);
  else if (conclusion.offline) fallbacks.push({ stage: 'conclude', id: 'conclusion', reason: conclusion.offline });
  const offlineSections = new Set([...written.offline.keys(), ...(conclusion.offline ? ['conclusion'] : [])]);
  // Every cited sentence is checked against its sources before the survey is assembled.
  const verification = await stage(ctx, 'verify', () => verifyWritten(ctx, p.verify, { ids: inp.papers.map((x) => x.id), keys: inp.keys, titles: inp.papers.map((x) => x.title) }, written, conclusion, failures), (v) => ({ ...v.summary }));
  const doc = assembleSurvey({
    title: inp.title,
    outline,
    texts: written.texts,
    abstract: written.abstract,
    // Comparison tables go right after their section's text, before any figure.
    figures: new Map([...new Set([...written.tables.keys(), ...figures.keys()])].map((id) => [id, [...(written.tables.has(id) ? [written.tables.get(id)!] : []), ...(figures.get(id) ?? [])]])),
    sources: inp.papers,
    bibtex: p.bibtex,
    conclusion: { title: conclusion.title, text: conclusion.text },
    // Offline runs need no note: everything in them is the offline engine's by choice.
    ...(ctx.spec.engine === 'extractive' ? {} : { offlineSections, offlineOutline }),
  });
  const mapped = new Set(digests.filter((d) => Object.keys(d.sections).length).map((d) => d.paperId));
  const counts = {
    papersIn: inp.papersIn,
    papers: inp.papers.length,
    skipped: inp.skipped.length,
    truncated: inp.truncated.length,
    groups: groups.length,
    sections: sections(outline).length,
    leaves: leaves(outline).length,
    sectionsPruned: pruned.removed.length,
    digested: digests.length,
    papersMapped: mapped.size,
    digestFailures: failures.filter((f) => f.stage === 'digest').length,
    unknownSectionIds: dig.unknownSections + filed.unknown,
    cited: doc.cited.length,
    citationCoverage: inp.papers.length ? doc.cited.length / inp.papers.length : 0,
    citationMarks: doc.citationMarks,
    droppedCitations: doc.dropped.length + written.dropped,
    words: doc.markdown.split(/\s+/).filter(Boolean).length,
    figures: [...figures.values()].flat().length,
    comparisonTables: written.tables.size,
    /** Replies that needed a repair round, and tasks the offline implementation answered instead of the model. */
    repairs: ctx.usage().repairs ?? 0,
    fallbacks: fallbacks.length,
    offlineSections: offlineSections.size,
    offlineOutline,
    repeatedSentencesRemoved: doc.repeatsRemoved,
    verification: { mode: verification.mode, ...verification.summary },
    ms: Date.now() - t0,
  };
  ctx.emit({ type: 'info', stage: 'assemble', message: `${counts.sections} sections, ${counts.cited}/${counts.papers} papers cited`, data: counts });
  const papers = inp.papers.map(({ id, title, authors, year, url, textChars, textSource }) => ({ id, title, authors, year, url, textChars, textSource }));
  const sectionTexts = walk(outline).map(({ node }) => ({ id: node.id, number: sectionNumber(node.id), title: node.title, text: written.texts.get(node.id) ?? '' }));
  const shortfall = surveyShortfall(counts, sectionTexts.slice(1));
  const result = {
    title: inp.title,
    slug: slugify(inp.title),
    markdown: doc.markdown,
    verification,
    record: {
      params: p,
      /** The input this survey read, and how it ran: what a rerun of an edited outline starts from. */
      inputKey: ingestKey,
      job: { engine: ctx.spec.engine, ...(ctx.spec.seed !== undefined ? { seed: ctx.spec.seed } : {}), ...(ctx.spec.cache ? { cache: ctx.spec.cache } : {}) },
      ...(base ? { baseJob: base.jobId, memo: { namespace: base.namespace, jobs: base.jobs } } : {}),
      ...(reviews.length ? { review: reviews } : {}),
      outline,
      repairs,
      prunedSections: pruned.removed,
      renamedSections: renamed,
      refinement,
      groups,
      digests,
      sections: sectionTexts,
      abstract: written.abstract,
      conclusion: conclusion.text,
      ...(p.language && ctx.spec.engine === 'extractive' ? { languageNote: `the offline engine writes in the papers' language and ignored language "${p.language}"` } : {}),
      references: doc.references,
      ...(doc.bibtex ? { bibtex: doc.bibtex } : {}),
      papers,
      counts,
      failures,
      fallbacks,
      ...(shortfall.length ? { shortfall } : {}),
      skipped: inp.skipped,
      ...(src ? { sources: src.report } : {}),
      truncated: inp.truncated,
    },
  };
  if (shortfall.length) {
    const why = `the survey is not usable: ${shortfall.join('; ')}`;
    if (!p.keepPartial) throw new UnusableResultError(`${why} (the record is stored; rerun with --keep-partial to accept it)`, result);
    ctx.emit({ type: 'info', stage: 'assemble', message: `kept as asked, though ${why.slice(4)}`, data: { shortfall } });
  }
  return result;
}

/** Why a written survey falls short of usable: too few of its papers cited, or sections left empty. */
export function surveyShortfall(counts: { papers: number; cited: number }, sectionTexts: readonly { number: string; title: string; text: string }[]): string[] {
  const out: string[] = [];
  if (counts.papers >= 2 && counts.cited < counts.papers / 2) out.push(`it cites ${counts.cited} of its ${counts.papers} papers (fewer than half)`);
  const empty = sectionTexts.filter((s) => !s.text.trim());
  if (empty.length) out.push(`${empty.length} section(s) are empty (${empty.slice(0, 3).map((s) => `${s.number} ${s.title}`).join(', ')})`);
  return out;
}

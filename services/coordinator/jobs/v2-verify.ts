/**
 * V2 verification stage: every cited sentence of the written survey (sections, introduction,
 * abstract, conclusion) is checked against the texts of the sources it cites, one `v2.verify`
 * task per section; the verdicts are applied (repair) or only reported (report). Task inputs
 * carry Object Store keys, never the paper texts.
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import { ROOT_ID, sectionNumber } from '../../../shared/algo/outline.ts';
import { applyChecks, citedSentences, verifyBatches, sentenceKey, summarise, summaryLine, type SentenceReport, type VerifyMode, type VerifySummary } from '../../../shared/algo/verify.ts';
import { sentences } from '../../../shared/algo/text.ts';
import { verifyOp, type VerifyInput } from '../../../shared/ops/v2/verify.ts';
import type { Failure } from './v2-write.ts';

export interface VerifyReport {
  mode: VerifyMode | 'off';
  summary: VerifySummary;
  line: string;
  sentences: SentenceReport[];
}

/** Where a section text lives: its label in the report. */
function label(id: string): string {
  if (id === ROOT_ID) return 'introduction';
  return /^S\d/.test(id) ? sectionNumber(id) : id;
}

/**
 * Verify the written texts in place: `written.texts` (by section id, the root's is the
 * introduction), `written.abstract` and `conclusion.text` are replaced by their repaired forms in
 * repair mode. A section whose task fails keeps its text; its sentences are reported unchecked.
 */
export async function verifyWritten(
  ctx: JobContext,
  mode: VerifyMode | 'off',
  papers: { ids: readonly string[]; keys: readonly string[]; titles?: readonly string[] },
  written: { texts: Map<string, string>; abstract: string },
  conclusion: { text: string },
  failures: Failure[],
): Promise<VerifyReport> {
  const empty = summarise([]);
  if (mode === 'off') return { mode, summary: empty, line: summaryLine(empty, mode), sentences: [] };
  const keyOf = new Map(papers.ids.map((id, i) => [id, papers.keys[i]]));
  const titleOf = new Map(papers.ids.map((id, i) => [id, papers.titles?.[i] ?? '']));
  const parts = new Map<string, string>([['abstract', written.abstract], ...written.texts, ['conclusion', conclusion.text]]);
  const jobs = [...parts].flatMap(([id, text]) => {
    const cited = citedSentences(text);
    if (!cited.length) return [];
    // One task per section; a long section is checked in batches that fit a model's context.
    const inputs: VerifyInput[] = [];
    for (const { from, batch } of verifyBatches(cited)) {
      const ids = [...new Set(batch.flatMap((s) => s.keys))].filter((k) => keyOf.has(k));
      inputs.push({
        section: label(id),
        sentences: batch.map((s, i) => ({ id: from + i, text: s.text })),
        sources: ids.map((k) => ({ id: k, key: keyOf.get(k)!, title: titleOf.get(k)! })),
        minOverlap: 0.5,
      });
    }
    return [{ id, text, cited, inputs, section: label(id) }];
  });
  const flat = jobs.flatMap((j) => j.inputs);
  const results = await ctx.mapSettled(verifyOp, flat, { stage: 'verify' });
  let next = 0;
  const settled = jobs.map((j) => {
    const mine = results.slice(next, (next += j.inputs.length));
    const bad = mine.find((r) => !r.ok);
    return bad && !bad.ok ? bad : { ok: true as const, value: { checks: mine.flatMap((r) => (r.ok ? r.value.checks : [])) } };
  });
  // A rewrite must not repeat a sentence the survey already has.
  const seen = new Set([...parts.values()].flatMap((t) => sentences(t).map(sentenceKey)));
  const reports: SentenceReport[] = [];
  jobs.forEach((j, i) => {
    const s = settled[i];
    if (!s.ok) failures.push({ stage: 'verify', id: j.section, reason: `${s.error}; its sentences are left as written` });
    const { text, reports: r } = applyChecks(j.section, j.text, j.cited, s.ok ? s.value.checks : [], mode, seen);
    reports.push(...r);
    if (mode !== 'repair') return;
    if (j.id === 'abstract') written.abstract = text;
    else if (j.id === 'conclusion') conclusion.text = text;
    else written.texts.set(j.id, text);
  });
  const summary = summarise(reports);
  const line = summaryLine(summary, mode);
  ctx.emit({ type: 'info', stage: 'verify', message: line, data: { ...summary } });
  return { mode, summary, line, sentences: reports };
}

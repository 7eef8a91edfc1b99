/**
 * V2 outline review and reruns of an edited outline.
 *
 * * Review (`params.reviewOutline`): the job pauses after the outline is drafted and again after
 *   the last refinement block; a person may edit the outline before it goes on.
 * * Given outline (`params.outline`): grouping, drafting and refinement are skipped.
 * * Rerun (`params.baseJob`): the base job's digests are re-keyed to the edited outline (papers
 *   are digested again only for sections that were added), task ids are computed in the base
 *   job's namespace and its stored results are reused, so only the writing the edit touches
 *   (a renamed section, its ancestors, then the conclusion and the checks of changed text) runs.
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import { OutlineNodeSchema, repairOutline, sections, validateOutline, type OutlineNode } from '../../../shared/algo/outline.ts';
import { remapDigests } from '../../../shared/algo/outline-review.ts';
import type { DigestOutput } from '../../../shared/ops/v2/digest.ts';
import type { V2Params } from '../../../shared/protocol/v2-params.ts';
import type { Failure } from './v2-write.ts';

/** Earlier jobs whose results a rerun looks in, at most. */
const MAX_MEMO_JOBS = 16;

export interface ReviewLog {
  gate: 'draft' | 'refined';
  edited: boolean;
  changes: string[];
}

/** Pause at `gate` when the job asked for review; the outline to go on with. */
export async function reviewAt(ctx: JobContext, p: V2Params, gate: ReviewLog['gate'], outline: OutlineNode, log: ReviewLog[], failures: Failure[]): Promise<OutlineNode> {
  if (!p.reviewOutline) return outline;
  if (!ctx.reviewGate) throw new Error('this job context cannot pause for outline review; submit the job without reviewOutline');
  const got = await ctx.reviewGate(gate, outline, p.maxDepth);
  // The store holds only checked outlines; a repair here is a safety net, recorded if it did anything.
  const fixed = repairOutline(got.outline, p.maxDepth);
  if (fixed.problems.length) {
    failures.push({ stage: 'review', id: gate, reason: `the reviewed outline is unusable (${fixed.problems.join('; ')}); the drafted outline was kept` });
    log.push({ gate, edited: false, changes: [] });
    return outline;
  }
  log.push({ gate, edited: got.edited, changes: got.changes });
  ctx.emit({ type: 'info', stage: 'review', message: got.edited ? `outline edited at review: ${got.changes.join('; ') || 'no change'}` : 'outline kept as drafted at review' });
  return fixed.outline;
}

export interface BaseJob {
  jobId: string;
  /** The job whose key space task ids and paper texts use. */
  namespace: string;
  jobs: string[];
  digests: DigestOutput[];
}

/** Read a rerun's base job and reuse its results from now on (call before any task). */
export async function useBaseJob(ctx: JobContext, p: V2Params): Promise<BaseJob | undefined> {
  if (!p.baseJob) return undefined;
  if (!p.outline) throw new Error('baseJob needs the edited outline in "outline"');
  if (!ctx.finalResult || !ctx.reuseResults) throw new Error('this job context cannot rerun from a base job');
  const base = (await ctx.finalResult(p.baseJob.jobId)) as { pipeline?: string; record?: { digests?: DigestOutput[]; memo?: { namespace?: string; jobs?: string[] } } };
  if (base.pipeline !== 'v2' || !Array.isArray(base.record?.digests)) throw new Error(`baseJob: ${p.baseJob.jobId} is not a finished survey with digests`);
  const memo = base.record!.memo;
  const namespace = memo?.namespace ?? p.baseJob.jobId;
  const jobs = [p.baseJob.jobId, ...(memo?.jobs ?? [])].slice(0, MAX_MEMO_JOBS);
  ctx.reuseResults({ namespace, jobs });
  return { jobId: p.baseJob.jobId, namespace, jobs, digests: base.record!.digests! };
}

/** A given outline, checked (ids by position; at least two top-level sections). */
export function givenOutline(p: V2Params): OutlineNode {
  const parsed = OutlineNodeSchema.safeParse(p.outline);
  if (!parsed.success) throw new Error('outline: not an outline tree ({ id, title, construction, analysis, children })');
  const problems = validateOutline(parsed.data, p.maxDepth);
  if (!problems.length) return parsed.data;
  if (p.baseJob) throw new Error(`outline: ${problems.join('; ')} (a rerun's outline must come checked from \`llmxmr outline put\`)`);
  const fixed = repairOutline(parsed.data, p.maxDepth);
  if (fixed.problems.length) throw new Error(`outline: ${fixed.problems.join('; ')}`);
  return fixed.outline;
}

type Digested = { digests: DigestOutput[]; unknownSections: number };

/**
 * The digests of a given outline: a rerun's are its base's, re-keyed to the edit, with papers
 * digested again only when sections were added (and only those sections' texts taken from it).
 */
export async function givenDigests(ctx: JobContext, p: V2Params, outline: OutlineNode, base: BaseJob | undefined, digestAll: () => Promise<Digested>): Promise<Digested> {
  if (!base || !p.baseJob) return digestAll();
  const reused = remapDigests(base.digests, p.baseJob.from);
  const added = sections(outline).filter((v) => !p.baseJob!.from[v.node.id]).map((v) => v.node.id);
  if (!added.length) return { digests: reused, unknownSections: 0 };
  ctx.emit({ type: 'info', stage: 'digest', message: `${added.length} section(s) added: papers are digested again for them` });
  const fresh = await digestAll();
  const byPaper = new Map(fresh.digests.map((d) => [d.paperId, d]));
  const merged = reused.map((d) => {
    const f = byPaper.get(d.paperId);
    const extra = Object.fromEntries(added.flatMap((id) => (f?.sections[id] ? [[id, f.sections[id]]] : [])));
    return { ...d, sections: { ...d.sections, ...extra } };
  });
  // A paper that had no digest in the base run may have one now.
  const known = new Set(reused.map((d) => d.paperId));
  for (const f of fresh.digests) {
    const extra = Object.fromEntries(added.flatMap((id) => (f.sections[id] ? [[id, f.sections[id]]] : [])));
    if (!known.has(f.paperId) && Object.keys(extra).length) merged.push({ ...f, sections: extra });
  }
  return { digests: merged, unknownSections: fresh.unknownSections };
}

/**
 * One V2 refinement block: the entropy-driven convolution over the outline (upstream-v2 §2.3,
 * with the §8.2 fixes). Feedback per digest group → layer 0 (modify + judge per suggestion) →
 * stacked layers (score-weighted kernel groups, or pooling when there are many suggestions;
 * kernel → modify → judge per group; top-k with residual) → self-refine best-of-N. Each layer
 * is a barrier: the next layer's kernels start only after every judge of this one has answered.
 * The incumbent is judged first and stays the champion unless beaten (monotonic acceptance;
 * `upstreamAcceptance` restores upstream's "best of the last pool"). Every random choice goes
 * through ctx.rng in a fixed order, and repeated requests carry a slot or sample index, so a
 * replay after a crash issues the same tasks and finds their results.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TaskFailedError, type JobContext } from '../../../shared/jobs/types.ts';
import type { OpDef } from '../../../shared/ops/op.ts';
import { ROOT_ID, repairOutline, type OutlineNode } from '../../../shared/algo/outline.ts';
import type { Suggestion } from '../../../shared/algo/outline-edit.ts';
import { sourceProfiles, type DigestLike } from '../../../shared/algo/entropy.ts';
import { acceptBest, bestOf, poolGroups, poolingTriggered, sampleGroups, topKResidual } from '../../../shared/algo/sampling.ts';
import { feedbackOp } from '../../../shared/ops/v2/feedback.ts';
import { kernelOp } from '../../../shared/ops/v2/kernel.ts';
import { modifyOp } from '../../../shared/ops/v2/modify.ts';
import { judgeOp, type SubScores } from '../../../shared/ops/v2/judge.ts';
import { refineOp } from '../../../shared/ops/v2/refine.ts';
import { ConvParamsSchema } from '../../../shared/protocol/v2-params.ts';

export { ConvParamsSchema };
export const ConvParams = ConvParamsSchema;
export type ConvParams = z.infer<typeof ConvParamsSchema>;
export type ConvParamsInput = z.input<typeof ConvParamsSchema>;

export interface Evaluation {
  score: number;
  subScores: SubScores;
  rationale: string;
}

interface Candidate extends Evaluation {
  suggestion: Suggestion;
  outline: OutlineNode;
  /** Digest groups this candidate's suggestion integrates (its receptive field). */
  receptive: number[];
  /** Where it was made: "incumbent", "L0.g3", "L2.g5", "R1.s0". */
  origin: string;
}

export interface CandidateRecord {
  origin: string;
  score: number;
  subScores: SubScores;
  receptive: number[];
  operations: number;
}

export interface LayerRecord {
  layer: number;
  pooling: boolean;
  /** Origin of the outline this layer's suggestions were applied to. */
  base: string;
  /** Kernel groups as indices into the previous layer's pool (layer 0: one group per digest group). */
  kernelGroups: number[][];
  candidates: CandidateRecord[];
  /** Scores of the pool carried to the next layer. */
  poolScores: number[];
  /** Best score so far (the champion's; under upstream acceptance, the pool's best). */
  best: number;
}

export interface BlockRecord {
  block: number;
  params: ConvParams;
  groups: number;
  sources: number;
  initial: Evaluation;
  feedback: { group: number; operations: number }[];
  layers: LayerRecord[];
  /** Layer after which the early stop ended the layers (null: all ran). */
  stoppedAfter: number | null;
  selfRefine: { round: number; candidates: CandidateRecord[]; best: number; accepted: string }[];
  accepted: Evaluation & { origin: string; receptive: number[]; outline: OutlineNode };
  /** Tasks issued per op (a task with an input seen before is answered from its stored result). */
  calls: Record<string, number>;
  /** Candidates dropped because a task failed terminally. */
  failures: { op: string; slot: string; error: string }[];
}

/**
 * Tasks a block issues per op when no task fails and no early stop happens. S is the number of
 * suggestions in play; a layer pools when S > k·R (⌈S/k⌉ groups; a kernel only for groups of two
 * or more) and otherwise samples R groups of min(k, S) (kernels only when that is at least 2);
 * after pooling S is the group count, after sampling min(topK, S + R).
 */
export function expectedCalls(params: ConvParamsInput, groups: number | readonly unknown[]): Record<string, number> & { total: number } {
  const p = ConvParamsSchema.parse(params);
  const g = typeof groups === 'number' ? groups : groups.length;
  const k = p.kernelWidth;
  const R = p.resultNum;
  let s = g;
  let kernels = 0;
  let layerCands = 0;
  for (let l = 1; l <= p.convLayer; l++) {
    if (s > k * R) {
      const n = Math.ceil(s / k);
      kernels += k >= 2 ? Math.floor(s / k) + (s % k >= 2 ? 1 : 0) : 0;
      layerCands += n;
      s = n;
    } else {
      if (s === 0) break;
      kernels += Math.min(k, s) >= 2 ? R : 0;
      layerCands += R;
      s = Math.min(p.topK, s + R);
    }
  }
  const refines = p.selfRefineCount * p.selfRefineBestOf;
  const calls = {
    'v2.feedback': g,
    'v2.kernel': kernels,
    'v2.modify': g + layerCands + refines,
    'v2.judge': p.judgeSamples * (1 + g + layerCands + refines),
    'v2.refine': refines,
  };
  return { ...calls, total: Object.values(calls).reduce((a, b) => a + b, 0) };
}

const score = (c: Evaluation) => c.score;
const evaluationOf = (c: Evaluation): Evaluation => ({ score: c.score, subScores: c.subScores, rationale: c.rationale });
const brief = (c: Candidate): CandidateRecord => ({ origin: c.origin, score: c.score, subScores: c.subScores, receptive: c.receptive, operations: c.suggestion.operations.length });
const union = (xs: readonly number[][]) => [...new Set(xs.flat())].sort((a, b) => a - b);

/**
 * Refine the outline once. `groups` are the digest groups (paper ids); `digests` the per-paper
 * digests made against `outline`. Returns the accepted outline and the block's record.
 */
export async function refineBlock(
  ctx: JobContext,
  params: ConvParamsInput,
  outline: OutlineNode,
  groups: readonly string[][],
  digests: readonly DigestLike[],
  opts: { block?: number } = {},
): Promise<{ outline: OutlineNode; record: BlockRecord }> {
  const p = ConvParamsSchema.parse(params);
  const block = opts.block ?? 0;
  const title = outline.title;
  const calls: Record<string, number> = { 'v2.feedback': 0, 'v2.kernel': 0, 'v2.modify': 0, 'v2.judge': 0, 'v2.refine': 0 };
  const failures: BlockRecord['failures'] = [];
  const issue = <I, O>(op: OpDef<I, O>, input: I): Promise<O> => {
    calls[op.name] = (calls[op.name] ?? 0) + 1;
    return ctx.run(op, input);
  };
  /** Run a candidate's chain; a task that failed terminally drops the candidate (anything else propagates). */
  const guarded = async <T>(slot: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof TaskFailedError) || ctx.signal.aborted) throw e;
      failures.push({ op: e.op, slot, error: e.reason });
      return null;
    }
  };

  // The sources' profiles go to the Object Store once, under a content-addressed key.
  const sources = sourceProfiles(
    [...digests].sort((a, b) => (a.paperId < b.paperId ? -1 : a.paperId > b.paperId ? 1 : 0)),
    outline,
  );
  const blob = JSON.stringify({ sources });
  const sourcesKey = `jobs/${ctx.jobId}/refine/sources-${createHash('sha256').update(blob).digest('hex').slice(0, 24)}.json`;
  await ctx.putBlob(sourcesKey, blob);

  const judge = async (o: OutlineNode, slot: string): Promise<Evaluation> => {
    const outs = await Promise.all(Array.from({ length: p.judgeSamples }, (_, sample) => issue(judgeOp, { title, outline: o, sourcesKey, sample, slot })));
    const mean = (f: (e: Evaluation) => number) => outs.reduce((s, e) => s + f(e), 0) / outs.length;
    const subScores = Object.fromEntries(Object.keys(outs[0].subScores).map((k) => [k, mean((e) => e.subScores[k as keyof SubScores])])) as SubScores;
    return { score: mean(score), subScores, rationale: outs[0].rationale };
  };
  const revise = async (base: OutlineNode, suggestion: Suggestion, slot: string): Promise<OutlineNode> => {
    const out = await issue(modifyOp, { title, outline: base, suggestions: [suggestion], maxDepth: p.maxDepth, slot });
    const root: OutlineNode = { id: ROOT_ID, title, construction: '', analysis: '', children: out.sections };
    return repairOutline(root, p.maxDepth).outline;
  };
  /** modify → judge for one suggestion; null when a task of the chain failed. */
  const candidate = (base: OutlineNode, s: Suggestion, slot: string, receptive: number[]) =>
    guarded(slot, async (): Promise<Candidate> => {
      const o = await revise(base, s, slot);
      return { ...(await judge(o, slot)), suggestion: s, outline: o, receptive, origin: slot.replace(/^b\d+\./, '') };
    });
  const report = (layer: number | string, scores: number[], best: number, extra: Record<string, unknown> = {}) => {
    const range = scores.length ? ` (${scores.length} candidates, ${Math.min(...scores).toFixed(2)}–${Math.max(...scores).toFixed(2)})` : '';
    ctx.emit({ type: 'info', stage: 'refine', message: `block ${block + 1} ${typeof layer === 'number' ? `layer ${layer}` : layer}: best ${best.toFixed(2)}${range}`, data: { block, layer, scores, best, ...extra } });
  };

  const incumbent: Candidate = { ...(await judge(outline, `b${block}.inc`)), suggestion: { text: '', operations: [] }, outline, receptive: [], origin: 'incumbent' };
  const record: BlockRecord = {
    block,
    params: p,
    groups: groups.length,
    sources: sources.length,
    initial: evaluationOf(incumbent),
    feedback: [],
    layers: [],
    stoppedAfter: null,
    selfRefine: [],
    accepted: { ...evaluationOf(incumbent), origin: incumbent.origin, receptive: [], outline },
    calls,
    failures,
  };

  // Feedback per digest group (one barrier), then layer 0: each suggestion applied to the outline.
  const byPaper = new Map(digests.map((d) => [d.paperId, d]));
  const feedback = await Promise.all(
    groups.map((g, i) =>
      guarded(`b${block}.F.g${i}`, () =>
        issue(feedbackOp, {
          title,
          outline,
          group: [...g],
          digests: g.flatMap((id) => (byPaper.has(id) ? [{ suggestion: '', ...byPaper.get(id)! }] : [])),
          sourcesKey,
        }),
      ),
    ),
  );
  record.feedback = feedback.flatMap((f, group) => (f ? [{ group, operations: f.operations.length }] : []));
  const layer0 = await Promise.all(feedback.map((f, i) => (f ? candidate(outline, f, `b${block}.L0.g${i}`, [i]) : null)));
  let pool = layer0.filter((c): c is Candidate => c !== null);
  let champion = acceptBest(incumbent, pool, score);
  const leader = () => (p.upstreamAcceptance ? (bestOf(pool, score) ?? incumbent) : champion);
  record.layers.push({ layer: 0, pooling: false, base: 'incumbent', kernelGroups: pool.map((c) => c.receptive), candidates: pool.map(brief), poolScores: pool.map(score), best: leader().score });
  report(0, pool.map(score), leader().score);

  for (let layer = 1; layer <= p.convLayer && pool.length > 0; layer++) {
    const before = leader().score;
    const pooling = poolingTriggered(pool.length, p.kernelWidth, p.resultNum);
    const kernelGroups = pooling ? poolGroups(ctx.rng, pool.length, p.kernelWidth) : sampleGroups(ctx.rng, pool.map(score), p.kernelWidth, p.resultNum);
    const baseCand = p.mode === 'original' ? incumbent : leader();
    const fresh = (
      await Promise.all(
        kernelGroups.map((g, i) => {
          const slot = `b${block}.L${layer}.g${i}`;
          const members = [...new Set(g)].map((j) => pool[j]);
          return guarded(slot, async () => {
            const merged =
              members.length === 1
                ? members[0].suggestion
                : await issue(kernelOp, {
                    title,
                    outline: baseCand.outline,
                    suggestions: members.map((m) => ({ text: m.suggestion.text, operations: m.suggestion.operations, score: m.score, evaluation: m.rationale })),
                    slot,
                  });
            return candidate(baseCand.outline, merged, slot, union(members.map((m) => m.receptive)));
          });
        }),
      )
    ).filter((c): c is Candidate => c !== null && c !== undefined);
    pool = pooling ? fresh : topKResidual(pool, fresh, p.topK, score);
    champion = acceptBest(champion, fresh, score);
    const best = leader().score;
    record.layers.push({ layer, pooling, base: baseCand.origin, kernelGroups, candidates: fresh.map(brief), poolScores: pool.map(score), best });
    report(layer, fresh.map(score), best, { pooling, kernelGroups });
    if (p.earlyStopDelta > 0 && best - before < p.earlyStopDelta) {
      record.stoppedAfter = layer;
      break;
    }
  }

  // Self-refine: best-of-N suggestions from the outline and its evaluation alone.
  let cur = leader();
  for (let round = 1; round <= p.selfRefineCount; round++) {
    const base = cur;
    const tries = await Promise.all(
      Array.from({ length: p.selfRefineBestOf }, (_, sample) => {
        const slot = `b${block}.R${round}.s${sample}`;
        return guarded(slot, async () => {
          const s = await issue(refineOp, { title, outline: base.outline, evaluation: evaluationOf(base), sourcesKey, sample, slot });
          return candidate(base.outline, s, slot, base.receptive);
        });
      }),
    );
    const cands = tries.filter((c): c is Candidate => c !== null && c !== undefined);
    cur = p.upstreamAcceptance ? (bestOf(cands, score) ?? base) : acceptBest(base, cands, score);
    record.selfRefine.push({ round, candidates: cands.map(brief), best: cur.score, accepted: cur.origin });
    report(`self-refine ${round}`, cands.map(score), cur.score, { phase: 'self-refine', round });
  }

  record.accepted = { ...evaluationOf(cur), origin: cur.origin, receptive: cur.receptive, outline: cur.outline };
  ctx.emit({
    type: 'info',
    stage: 'refine',
    message: `block ${block + 1}: accepted ${cur.origin} with ${cur.score.toFixed(2)} (initial ${incumbent.score.toFixed(2)})`,
    data: { block, phase: 'accepted', initial: incumbent.score, best: cur.score, origin: cur.origin, calls: { ...calls } },
  });
  return { outline: cur.outline, record };
}

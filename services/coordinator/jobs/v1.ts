/**
 * The V1 job script: long document + question → answer, as map → collapse rounds → reduce.
 * Chunking, collapse planning and the truncation fallback are pure and run here in the
 * coordinator; every model-sized step is a task (v1.map on the mappers, v1.collapse and
 * v1.reduce on the reducers). Reads like upstream's pipeline with its bugs fixed: the budget
 * counts the rendered prompt and the question, every collapse round must shrink, the number of
 * rounds is bounded, and the reduce input is made to fit.
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import type { ChatMessage, OpEnv } from '../../../shared/ops/op.ts';
import type { JobSpec } from '../../../shared/protocol/schemas.ts';
import { budgetFor } from '../../../shared/algo/chunk.ts';
import { fitsBudget, groupByBudget, settledGroups, shrinkToFit, truncateByConfidence } from '../../../shared/algo/collapse.ts';
import { countMessageTokens, countTokens } from '../../../shared/algo/tokens.ts';
import { collapseOp } from '../../../shared/ops/v1/collapse.ts';
import { mapOp } from '../../../shared/ops/v1/map.ts';
import { getProfile } from '../../../shared/ops/v1/profiles.ts';
import { isRelevant, recordCost, truncateRecord, type V1Record } from '../../../shared/ops/v1/record.ts';
import { reduceOp } from '../../../shared/ops/v1/reduce.ts';
import { checkDocSize, chunkDocument, mapDocument } from './v1-doc.ts';

const NO_BLOBS = { blobText: () => Promise.reject(new Error('the offline reduce reads no blobs')) };

export type V1JobSpec = Extract<JobSpec, { pipeline: 'v1' }>;

/**
 * Tokens kept free in every call on top of the measured prompt: chunk labels vary in length,
 * and a block counted on its own can encode a token or two differently inside the prompt.
 */
export const SAFETY_TOKENS = 16;

export async function runV1(ctx: JobContext<V1JobSpec>): Promise<Record<string, unknown>> {
  const { params } = ctx.spec;
  const { question, profile, window } = params;
  const def = getProfile(profile);
  const maxOutputTokens = params.maxOutputTokens ?? def.maxOutputTokens;
  const env: OpEnv = { blobText: (key) => ctx.blobText(key), signal: ctx.signal };

  // Chunk: the budget is what is left of the window after the rendered map prompt (without
  // chunk and question), the reserved reply and the question.
  ctx.emit({ type: 'stage.started', stage: 'chunk' });
  // The size is checked from the metadata before anything is read; the document is then
  // streamed twice (boundaries, then the map tasks' texts) and never held whole.
  await checkDocSize(ctx, params.docKey);
  const questionTokens = countTokens(question);
  const promptTokens = async (messages: ChatMessage[] | Promise<ChatMessage[]>) =>
    countMessageTokens(await messages) + SAFETY_TOKENS;
  const sizes = { window, maxOutputTokens, questionTokens };
  const mapBudget = budgetFor({
    ...sizes,
    promptTokens: await promptTokens(mapOp.prompt({ chunk: { index: 0, text: '' }, question: '', profile }, env)),
  });
  const collapseBudget = budgetFor({
    ...sizes,
    promptTokens: await promptTokens(collapseOp.prompt({ records: [], question: '', profile }, env)),
  });
  const reduceBudget = budgetFor({
    ...sizes,
    promptTokens: await promptTokens(reduceOp.prompt({ records: [], question: '', profile }, env)),
  });
  const { chunks, blank } = await chunkDocument(ctx, params.docKey, mapBudget);
  if (blank) throw new Error(`the document "${params.docKey}" is empty or holds only white space: there is nothing to read`);
  const tokens = chunks.map((c) => c.tokens);
  const chunkTokens = {
    min: Math.min(...tokens),
    max: Math.max(...tokens),
    total: tokens.reduce((a, b) => a + b, 0),
  };
  ctx.emit({
    type: 'stage.finished',
    stage: 'chunk',
    message: `${chunks.length} chunk(s) of at most ${mapBudget} tokens`,
    data: { chunks: chunks.length, budget: mapBudget, chunkTokens, collapseBudget, reduceBudget },
  });

  // Map: one task per chunk, then keep the records that bear on the question. With pipelining
  // (the default), the first collapse round starts on the records already in: as soon as the
  // relevant records of the chunks mapped so far, in order, are over the reduce budget (so the
  // barrier version would collapse too), every group that no later record can change is sent
  // (settledGroups), the same groups with the same inputs, hence the same task ids and answer.
  const firstRound = new FirstRound(ctx, params.pipelineCollapse !== false, chunks.length, { question, profile, maxOutputTokens, collapseBudget, reduceBudget });
  ctx.emit({ type: 'stage.started', stage: 'map', data: { tasks: chunks.length } });
  let mapped: V1Record[];
  try {
    mapped = await mapDocument(ctx, params.docKey, chunks, (index, text) => ({ chunk: { index, text }, question, profile, maxOutputTokens }), {
      stage: 'map',
      onSettled: (i, s) => firstRound.mapped(i, s.ok ? (s.value as V1Record) : null),
    });
  } catch (e) {
    firstRound.abandon();
    throw e;
  }
  let records: V1Record[] = mapped.filter((r) => isRelevant(r, question));
  const relevant = records.length;
  ctx.emit({
    type: 'stage.finished',
    stage: 'map',
    message: `${relevant} of ${mapped.length} chunk(s) hold relevant information`,
    data: { records: mapped.length, relevant, collapseGroupsStarted: firstRound.sent() },
  });

  // Collapse: merge groups until everything fits one reduce call. Fan-in ≥ 2 makes every round
  // shrink the number of records; the number of rounds is bounded.
  let collapseRounds = 0;
  let collapseTasks = 0;
  const pipelinedGroups = firstRound.sent();
  while (records.length > 1 && !fitsBudget(records, reduceBudget, recordCost)) {
    if (collapseRounds >= params.maxCollapseRounds) break;
    collapseRounds++;
    const stage = `collapse.${collapseRounds}`;
    const groups = groupByBudget(records, collapseBudget, recordCost).map((g) =>
      shrinkToFit(g, collapseBudget, recordCost, truncateRecord),
    );
    ctx.emit({ type: 'stage.started', stage, data: { records: records.length, groups: groups.length, ...(collapseRounds === 1 ? { pipelined: pipelinedGroups } : {}) } });
    const merged =
      collapseRounds === 1 && firstRound.started()
        ? await firstRound.finish(records, groups)
        : await ctx.map(
            collapseOp,
            groups.map((g) => ({ records: g, question, profile, maxOutputTokens })),
            { stage },
          );
    collapseTasks += groups.length;
    const before = records.length;
    records = merged.filter((r) => isRelevant(r, question));
    ctx.emit({
      type: 'stage.finished',
      stage,
      message: `${before} record(s) merged into ${merged.length}, ${records.length} still relevant`,
      data: { in: before, out: merged.length, relevant: records.length },
    });
  }
  firstRound.abandon(); // nothing is left running when the round was not needed after all

  // Fallback when the rounds ran out (or one record alone is too large): keep the most
  // confident records that fit, shortening the top one if it must.
  let truncated = false;
  if (!fitsBudget(records, reduceBudget, recordCost)) {
    const before = records.length;
    records = truncateByConfidence(records, reduceBudget, recordCost, (r) => r.confidence, truncateRecord);
    truncated = true;
    ctx.emit({
      type: 'info',
      stage: 'reduce',
      message: `records still over the reduce budget after ${collapseRounds} collapse round(s): kept the ${records.length} most confident of ${before}`,
    });
  }

  // Reduce: one task over what is left. With nothing left there is nothing for a model to
  // weigh: the offline reduce says so (confidence 0) without a call that could only guess.
  ctx.emit({ type: 'stage.started', stage: 'reduce', data: { records: records.length } });
  const reduceInput = { records, question, profile, maxOutputTokens };
  const final = records.length ? await ctx.run(reduceOp, reduceInput) : reduceOp.output.parse(await reduceOp.extractive(reduceInput, NO_BLOBS));
  ctx.emit({ type: 'stage.finished', stage: 'reduce', data: { confidence: final.confidence } });

  return {
    answer: final.answer,
    rationale: final.rationale,
    confidence: final.confidence,
    profile,
    citedChunks: final.chunks,
    stats: {
      chunks: chunks.length,
      chunkTokens,
      budget: mapBudget,
      mapTasks: chunks.length,
      relevant,
      collapseRounds,
      collapseTasks,
      pipelinedGroups,
      reduceRecords: records.length,
      truncated,
    },
  };
}

interface RoundSizes {
  question: string;
  profile: V1JobSpec['params']['profile'];
  maxOutputTokens: number;
  collapseBudget: number;
  reduceBudget: number;
}

/**
 * The first collapse round, started while the map stage still runs. It keeps the map records
 * by chunk index, follows the longest run of chunks mapped from the first one, and sends each
 * collapse group as soon as `settledGroups` says no later record can change it. Pure
 * bookkeeping around ctx.run: the groups and their inputs are those of the barrier version.
 */
class FirstRound {
  private readonly byIndex: (V1Record | null | undefined)[];
  private next = 0;
  private readonly prefix: V1Record[] = [];
  private readonly tasks: { group: V1Record[]; result: Promise<V1Record> }[] = [];
  private failed = false;
  private on = false;
  private closed = false;

  constructor(
    private readonly ctx: JobContext<V1JobSpec>,
    private readonly enabled: boolean,
    chunks: number,
    private readonly s: RoundSizes,
  ) {
    this.byIndex = new Array(chunks).fill(undefined);
  }

  started(): boolean {
    return this.on;
  }

  /** Groups sent before the map barrier ended. */
  sent(): number {
    return this.tasks.length;
  }

  /** A map task settled (null: it failed, and the job will fail at the barrier). */
  mapped(index: number, record: V1Record | null): void {
    if (!this.enabled || this.closed || this.failed) return;
    if (record === null) {
      this.failed = true;
      return;
    }
    this.byIndex[index] = record;
    let grew = false;
    while (this.next < this.byIndex.length && this.byIndex[this.next]) {
      const r = this.byIndex[this.next++]!;
      if (isRelevant(r, this.s.question)) {
        this.prefix.push(r);
        grew = true;
      }
    }
    if (!grew) return;
    // Only when the whole set cannot fit the reduce either (costs only add up), as the barrier
    // version decides.
    if (!this.on && (this.prefix.length < 2 || fitsBudget(this.prefix, this.s.reduceBudget, recordCost))) return;
    if (!this.on) {
      this.on = true;
      this.ctx.emit({ type: 'info', stage: 'collapse.1', message: `collapse started on the first ${this.prefix.length} relevant record(s) while mapping goes on` });
    }
    const groups = settledGroups(this.prefix, false, this.s.collapseBudget, recordCost);
    for (const g of groups.slice(this.tasks.length)) this.send(g);
  }

  private send(group: V1Record[]): void {
    const shrunk = shrinkToFit(group, this.s.collapseBudget, recordCost, truncateRecord);
    const result = this.ctx.run(collapseOp, { records: shrunk, question: this.s.question, profile: this.s.profile, maxOutputTokens: this.s.maxOutputTokens });
    result.catch(() => undefined); // awaited in finish(); a failure there fails the job
    this.tasks.push({ group, result });
  }

  /** All records are in: send the groups left, check the early ones, and wait for the round. */
  async finish(records: V1Record[], shrunkGroups: V1Record[][]): Promise<V1Record[]> {
    this.closed = true;
    const all = settledGroups(records, true, this.s.collapseBudget, recordCost);
    const early = this.tasks.length;
    const same = all.length >= early && this.tasks.every((t, i) => t.group.length === all[i].length && t.group.every((r, k) => r === all[i][k]));
    if (!same) throw new Error('pipelined collapse sent a group the full grouping does not hold (a bug: settledGroups must only return final groups)');
    if (all.length !== shrunkGroups.length) throw new Error('pipelined collapse: group count differs from the barrier grouping');
    for (const g of all.slice(early)) this.send(g);
    const settled = await Promise.allSettled(this.tasks.map((t) => t.result));
    const bad = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (bad) throw bad.reason;
    return settled.map((x) => (x as PromiseFulfilledResult<V1Record>).value);
  }

  /** The round will not be awaited (the map failed, or no collapse is needed). */
  abandon(): void {
    this.closed = true;
  }
}

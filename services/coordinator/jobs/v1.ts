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
import { budgetFor, chunkText } from '../../../shared/algo/chunk.ts';
import { fitsBudget, groupByBudget, shrinkToFit, truncateByConfidence } from '../../../shared/algo/collapse.ts';
import { countMessageTokens, countTokens } from '../../../shared/algo/tokens.ts';
import { collapseOp } from '../../../shared/ops/v1/collapse.ts';
import { mapOp } from '../../../shared/ops/v1/map.ts';
import { getProfile } from '../../../shared/ops/v1/profiles.ts';
import { isRelevant, recordCost, truncateRecord, type V1Record } from '../../../shared/ops/v1/record.ts';
import { reduceOp } from '../../../shared/ops/v1/reduce.ts';

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
  const doc = await ctx.blobText(params.docKey);
  if (doc.trim() === '') {
    throw new Error(`the document "${params.docKey}" is empty or holds only white space: there is nothing to read`);
  }
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
  const chunks = chunkText(doc, mapBudget);
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

  // Map: one task per chunk, then keep the records that bear on the question.
  ctx.emit({ type: 'stage.started', stage: 'map', data: { tasks: chunks.length } });
  const mapped = await ctx.map(
    mapOp,
    chunks.map((c) => ({ chunk: { index: c.index, text: c.text }, question, profile, maxOutputTokens })),
    { stage: 'map' },
  );
  let records: V1Record[] = mapped.filter((r) => isRelevant(r, question));
  const relevant = records.length;
  ctx.emit({
    type: 'stage.finished',
    stage: 'map',
    message: `${relevant} of ${mapped.length} chunk(s) hold relevant information`,
    data: { records: mapped.length, relevant },
  });

  // Collapse: merge groups until everything fits one reduce call. Fan-in ≥ 2 makes every round
  // shrink the number of records; the number of rounds is bounded.
  let collapseRounds = 0;
  let collapseTasks = 0;
  while (records.length > 1 && !fitsBudget(records, reduceBudget, recordCost)) {
    if (collapseRounds >= params.maxCollapseRounds) break;
    collapseRounds++;
    const stage = `collapse.${collapseRounds}`;
    const groups = groupByBudget(records, collapseBudget, recordCost).map((g) =>
      shrinkToFit(g, collapseBudget, recordCost, truncateRecord),
    );
    ctx.emit({ type: 'stage.started', stage, data: { records: records.length, groups: groups.length } });
    const merged = await ctx.map(
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
      reduceRecords: records.length,
      truncated,
    },
  };
}

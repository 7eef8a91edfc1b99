/**
 * v1.reduce: all remaining records → the final answer, with disagreements settled by
 * confidence. With no records it says plainly that the document holds nothing relevant, with
 * confidence 0. The model fills only the fields the prompt lists; the chunks behind the answer
 * are the records that agree with it. Served by the reducer.
 */
import { z } from 'zod';
import { V1ProfileSchema } from '../../protocol/schemas.ts';
import { defineOp, type ChatMessage } from '../op.ts';
import { commonProblems } from './checks.ts';
import { recordsBlock, recordsText } from './collapse.ts';
import { integrate } from './integrate.ts';
import { fillTemplate, getProfile } from './profiles.ts';
import { normalizeAnswer, optionLetters } from './question.ts';
import { chunkList, clampConfidence, parseReplyFields, RecordSchema, rejectBrokenJson, type V1Record } from './record.ts';
import { lettered, replyObject } from './reply.ts';

export const ReduceInputSchema = z.object({
  records: z.array(RecordSchema),
  question: z.string(),
  profile: V1ProfileSchema,
  /** Reply tokens the job reserved (engines should send this as max_tokens). */
  maxOutputTokens: z.number().int().positive().optional(),
});
export type ReduceInput = z.infer<typeof ReduceInputSchema>;

export const ReduceOutputSchema = z.object({
  answer: z.string(),
  rationale: z.string(),
  confidence: z.number().min(0).max(5),
  /** Source chunks behind the answer. */
  chunks: z.array(z.number().int().nonnegative()),
});
export type ReduceOutput = z.infer<typeof ReduceOutputSchema>;

export function reduceMessages(input: ReduceInput): ChatMessage[] {
  const p = getProfile(input.profile);
  return [
    { role: 'system', content: p.system },
    { role: 'user', content: fillTemplate(p.reduce.template, { question: input.question, context: recordsBlock(input.records) }) },
  ];
}

export function reduceReplySchema(input: Pick<ReduceInput, 'question' | 'profile'>) {
  const p = getProfile(input.profile);
  return replyObject(p.reduce.fields, { letters: p.lettered ? optionLetters(input.question) : undefined });
}

/**
 * The final output from the fields a reply holds: the chunks are those of the records whose
 * answer agrees with it (all relevant records when none does, all records for a summary); a
 * missing score is the best score among them, and 0 when there were no records at all.
 */
export function completeReduce(out: Partial<ReduceOutput>, input: ReduceInput): ReduceOutput {
  const answer = (out.answer ?? '').trim();
  const live = input.records.filter((r) => !r.irrelevant);
  const key = normalizeAnswer(answer);
  const agree =
    input.profile === 'sum'
      ? []
      : live.filter((r: V1Record) => {
          const k = normalizeAnswer(r.answer);
          return k !== '' && key !== '' && (key.includes(k) || k.includes(key));
        });
  const backing = agree.length > 0 ? agree : live;
  const chunks = [...new Set(backing.flatMap((r) => r.chunks))].sort((a, b) => a - b);
  const best = backing.reduce((m, r) => Math.max(m, r.confidence), 0);
  const mean = backing.length ? backing.reduce((s, r) => s + r.confidence, 0) / backing.length : 0;
  const given = typeof out.confidence === 'number' && Number.isFinite(out.confidence) ? clampConfidence(out.confidence) : undefined;
  return {
    answer,
    rationale: out.rationale ?? (input.profile === 'sum' && chunks.length ? `Merged from the partial summaries of chunk ${chunkList(chunks)}.` : ''),
    confidence: input.records.length === 0 ? 0 : input.profile === 'sum' ? Math.round(mean * 2) / 2 : (given ?? best),
    chunks,
  };
}

/** Read the final answer from a model's free-text reply (the tolerant fallback of servers without structured output). */
export function parseReduceReply(text: string, input: ReduceInput): ReduceOutput {
  rejectBrokenJson(text);
  const f = parseReplyFields(text);
  if (f.answer === '') throw new Error('the reply has no answer');
  return completeReduce({ answer: f.answer, rationale: f.rationale, confidence: f.confidence }, input);
}

export const reduceOp = defineOp<ReduceInput, ReduceOutput>({
  name: 'v1.reduce',
  kind: 'reduce',
  version: 2,
  input: ReduceInputSchema,
  output: ReduceOutputSchema,
  maxOutputTokens: 300,
  prompt: (input) => reduceMessages(input),
  // The reply holds only the fields the prompt lists; `finalize` completes it.
  replySchema: (input) => reduceReplySchema(input) as unknown as z.ZodType<ReduceOutput>,
  check: (out, input) =>
    commonProblems(out, { profile: input.profile, question: input.question, source: recordsText(input.records), step: 'reduce', hasMaterial: input.records.some((r) => !r.irrelevant) }),
  parse: (text, input) => lettered(parseReduceReply(text, input), input),
  // Only chunks that really stand behind the input records may be cited, whatever the reply held.
  finalize: (out, input) => completeReduce(out, input),
  extractive: (input) => {
    const r = integrate(input.records, input.question, input.profile, 'reduce');
    return { answer: r.answer, rationale: r.rationale, confidence: r.confidence, chunks: r.support };
  },
});

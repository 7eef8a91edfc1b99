/**
 * v1.reduce: all remaining records → the final answer, with disagreements settled by
 * confidence. With no records it says plainly that the document holds nothing relevant, with
 * confidence 0. Served by the reducer.
 */
import { z } from 'zod';
import { V1ProfileSchema } from '../../protocol/schemas.ts';
import { defineOp, type ChatMessage } from '../op.ts';
import { recordsBlock } from './collapse.ts';
import { integrate } from './integrate.ts';
import { fillTemplate, getProfile } from './profiles.ts';
import { normalizeAnswer } from './question.ts';
import { parseReplyFields, RecordSchema, type V1Record } from './record.ts';

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
    { role: 'user', content: fillTemplate(p.reduce, { question: input.question, context: recordsBlock(input.records) }) },
  ];
}

/** Read the final answer from a model's reply; chunks and a missing score come from the records that agree. */
export function parseReduceReply(text: string, input: ReduceInput): ReduceOutput {
  const f = parseReplyFields(text);
  if (f.answer === '') throw new Error('the reply has no answer');
  const live = input.records.filter((r) => !r.irrelevant);
  const key = normalizeAnswer(f.answer);
  const agree = live.filter((r: V1Record) => {
    const k = normalizeAnswer(r.answer);
    return k !== '' && (key.includes(k) || k.includes(key));
  });
  const backing = agree.length > 0 ? agree : live;
  const fallback = backing.reduce((m, r) => Math.max(m, r.confidence), 0);
  return {
    answer: f.answer,
    rationale: f.rationale,
    confidence: input.records.length === 0 ? 0 : (f.confidence ?? fallback),
    chunks: [...new Set(backing.flatMap((r) => r.chunks))].sort((a, b) => a - b),
  };
}

export const reduceOp = defineOp<ReduceInput, ReduceOutput>({
  name: 'v1.reduce',
  kind: 'reduce',
  version: 1,
  input: ReduceInputSchema,
  output: ReduceOutputSchema,
  maxOutputTokens: 300,
  prompt: (input) => reduceMessages(input),
  parse: (text, input) => parseReduceReply(text, input),
  // Only chunks that really stand behind the input records may be cited.
  finalize: (out, input) => {
    const known = new Set(input.records.flatMap((r) => r.chunks));
    return { ...out, chunks: out.chunks.filter((c) => known.has(c)) };
  },
  extractive: (input) => {
    const r = integrate(input.records, input.question, input.profile, 'reduce');
    return { answer: r.answer, rationale: r.rationale, confidence: r.confidence, chunks: r.support };
  },
});

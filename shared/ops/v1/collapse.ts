/**
 * v1.collapse: a group of records → one merged record of the same protocol, so the result can
 * be merged again. Records are sent with the same "Record i" labels that collapse planning
 * measured (bug 5). The model fills only the fields the prompt lists; the chunks are the union
 * of the group's. Served by the reducer.
 */
import { z } from 'zod';
import { V1ProfileSchema } from '../../protocol/schemas.ts';
import { defineOp, fence, type ChatMessage } from '../op.ts';
import { commonProblems, evidenceProblem } from './checks.ts';
import { integrate } from './integrate.ts';
import { fillTemplate, getProfile } from './profiles.ts';
import { optionLetters } from './question.ts';
import { completeRecord, hasNoInfoMarker, parseRecordText, RecordSchema, renderRecords, type V1Record } from './record.ts';
import { lettered, replyObject } from './reply.ts';

export const CollapseInputSchema = z.object({
  records: z.array(RecordSchema),
  question: z.string(),
  profile: V1ProfileSchema,
  /** Reply tokens the job reserved when it planned the groups (engines should send this as max_tokens). */
  maxOutputTokens: z.number().int().positive().optional(),
});
export type CollapseInput = z.infer<typeof CollapseInputSchema>;

const chunksOf = (records: readonly V1Record[]) => [...new Set(records.flatMap((r) => r.chunks))].sort((a, b) => a - b);

export function recordsBlock(records: readonly V1Record[]): string {
  return fence('Records', records.length > 0 ? renderRecords(records) : '(none)');
}

/** What the records say, for checking that merged evidence is quoted from them. */
export const recordsText = (records: readonly V1Record[]) => records.map((r) => `${r.evidence}\n${r.answer}`).join('\n');

export function collapseMessages(input: CollapseInput): ChatMessage[] {
  const p = getProfile(input.profile);
  return [
    { role: 'system', content: p.system },
    { role: 'user', content: fillTemplate(p.collapse.template, { question: input.question, context: recordsBlock(input.records) }) },
  ];
}

export function collapseReplySchema(input: Pick<CollapseInput, 'question' | 'profile'>) {
  const p = getProfile(input.profile);
  return replyObject(p.collapse.fields, { letters: p.lettered ? optionLetters(input.question) : undefined, allowNoInfo: true });
}

export const collapseOp = defineOp<CollapseInput, V1Record>({
  name: 'v1.collapse',
  kind: 'reduce',
  version: 2,
  input: CollapseInputSchema,
  output: RecordSchema,
  maxOutputTokens: 300,
  prompt: (input) => collapseMessages(input),
  // The reply holds only the fields the prompt lists; `finalize` completes it into a record.
  replySchema: (input) => collapseReplySchema(input) as unknown as z.ZodType<V1Record>,
  check: (out, input) => {
    const source = recordsText(input.records);
    const problems = commonProblems(out, { profile: input.profile, question: input.question, source, step: 'collapse', hasMaterial: input.records.some((r) => !r.irrelevant) });
    // Evidence matters only on a record that goes on: an irrelevant one is dropped anyway.
    if (out.evidence && input.profile !== 'math' && !hasNoInfoMarker(out.answer ?? '')) {
      const e = evidenceProblem(out.evidence, source, "the records' evidence");
      if (e) problems.push(e);
    }
    return problems;
  },
  parse: (text, input) => lettered(parseRecordText(text, { chunks: chunksOf(input.records), question: input.question }), input),
  finalize: (out, input) => completeRecord(out, { chunks: chunksOf(input.records), summary: input.profile === 'sum' }),
  extractive: (input) => {
    const r = integrate(input.records, input.question, input.profile, 'collapse');
    return {
      chunks: r.all,
      evidence: r.evidence,
      rationale: r.rationale,
      answer: r.answer,
      confidence: r.confidence,
      irrelevant: r.irrelevant,
    };
  },
});

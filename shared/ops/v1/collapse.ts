/**
 * v1.collapse: a group of records → one merged record of the same protocol, so the result can
 * be merged again. Records are sent with the same "Record i" labels that collapse planning
 * measured (bug 5). Served by the reducer.
 */
import { z } from 'zod';
import { V1ProfileSchema } from '../../protocol/schemas.ts';
import { defineOp, fence, type ChatMessage } from '../op.ts';
import { integrate } from './integrate.ts';
import { fillTemplate, getProfile } from './profiles.ts';
import { hasNoInfoMarker, parseRecordText, RecordSchema, renderRecords, type V1Record } from './record.ts';

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

export function collapseMessages(input: CollapseInput): ChatMessage[] {
  const p = getProfile(input.profile);
  return [
    { role: 'system', content: p.system },
    { role: 'user', content: fillTemplate(p.collapse, { question: input.question, context: recordsBlock(input.records) }) },
  ];
}

export const collapseOp = defineOp<CollapseInput, V1Record>({
  name: 'v1.collapse',
  kind: 'reduce',
  version: 1,
  input: CollapseInputSchema,
  output: RecordSchema,
  maxOutputTokens: 300,
  prompt: (input) => collapseMessages(input),
  parse: (text, input) => parseRecordText(text, { chunks: chunksOf(input.records), question: input.question }),
  finalize: (out, input) => ({ ...out, chunks: chunksOf(input.records), irrelevant: out.irrelevant || hasNoInfoMarker(out.answer) }),
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

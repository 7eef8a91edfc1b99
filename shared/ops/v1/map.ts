/**
 * v1.map: one chunk of the document and the question → one protocol record (evidence,
 * rationale, answer, confidence, or irrelevant). Served by the mapper.
 */
import { z } from 'zod';
import { V1ProfileSchema } from '../../protocol/schemas.ts';
import { defineOp, fence, type ChatMessage } from '../op.ts';
import { extractRecord } from './extract.ts';
import { fillTemplate, getProfile } from './profiles.ts';
import { hasNoInfoMarker, parseRecordText, RecordSchema, type V1Record } from './record.ts';

export const MapInputSchema = z.object({
  chunk: z.object({ index: z.number().int().nonnegative(), text: z.string() }),
  question: z.string(),
  profile: V1ProfileSchema,
  /** Reply tokens the job reserved when it sized the chunk (engines should send this as max_tokens). */
  maxOutputTokens: z.number().int().positive().optional(),
});
export type MapInput = z.infer<typeof MapInputSchema>;

export function mapMessages(input: MapInput): ChatMessage[] {
  const p = getProfile(input.profile);
  const context = fence(`${p.sourceLabel} (chunk ${input.chunk.index})`, input.chunk.text);
  return [
    { role: 'system', content: p.system },
    { role: 'user', content: fillTemplate(p.map, { question: input.question, context }) },
  ];
}

export const mapOp = defineOp<MapInput, V1Record>({
  name: 'v1.map',
  kind: 'map',
  version: 1,
  input: MapInputSchema,
  output: RecordSchema,
  maxOutputTokens: 300,
  prompt: (input) => mapMessages(input),
  parse: (text, input) => parseRecordText(text, { chunks: [input.chunk.index], question: input.question }),
  // The model never has to track chunk numbers; a marker in the answer always means irrelevant.
  finalize: (out, input) => ({ ...out, chunks: [input.chunk.index], irrelevant: out.irrelevant || hasNoInfoMarker(out.answer) }),
  extractive: (input) => extractRecord(input.chunk.text, input.chunk.index, input.question, input.profile),
});

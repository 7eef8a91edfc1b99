/**
 * v1.map: one chunk of the document and the question → one protocol record (evidence,
 * rationale, answer, confidence, or irrelevant). Served by the mapper. The model fills only
 * the fields its profile's prompt lists (the reply schema is built from the same list); the
 * chunk number and the irrelevant flag are set here from the input.
 */
import { z } from 'zod';
import { V1ProfileSchema } from '../../protocol/schemas.ts';
import { defineOp, fence, type ChatMessage } from '../op.ts';
import { commonProblems, evidenceProblem } from './checks.ts';
import { extractRecord } from './extract.ts';
import { fillTemplate, getProfile } from './profiles.ts';
import { optionLetters } from './question.ts';
import { completeRecord, hasNoInfoMarker, parseRecordText, RecordSchema, type V1Record } from './record.ts';
import { lettered, replyObject } from './reply.ts';

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
    { role: 'user', content: fillTemplate(p.map.template, { question: input.question, context }) },
  ];
}

/** The fields the map prompt of this input's profile asks for; the answer is an option letter where the question has options. */
export function mapReplySchema(input: Pick<MapInput, 'question' | 'profile'>) {
  const p = getProfile(input.profile);
  return replyObject(p.map.fields, { letters: p.lettered ? optionLetters(input.question) : undefined, allowNoInfo: true });
}

export const mapOp = defineOp<MapInput, V1Record>({
  name: 'v1.map',
  kind: 'map',
  version: 2,
  input: MapInputSchema,
  output: RecordSchema,
  maxOutputTokens: 300,
  prompt: (input) => mapMessages(input),
  // The reply holds only the fields the prompt lists; `finalize` completes it into a record.
  replySchema: (input) => mapReplySchema(input) as unknown as z.ZodType<V1Record>,
  check: (out, input) => {
    const problems = commonProblems(out, { profile: input.profile, question: input.question, source: input.chunk.text, step: 'map' });
    // Evidence matters only on a record that goes on: an irrelevant one is dropped anyway.
    if (out.evidence && input.profile !== 'math' && !hasNoInfoMarker(out.answer ?? '')) {
      const e = evidenceProblem(out.evidence, input.chunk.text, 'the excerpt');
      if (e) problems.push(e);
    }
    return problems;
  },
  parse: (text, input) => lettered(parseRecordText(text, { chunks: [input.chunk.index], question: input.question }), input),
  // The model never tracks chunk numbers; a marker (or nothing) in the answer means irrelevant;
  // a retrieval answer scored 5 must stand in the chunk character for character.
  finalize: (out, input) => {
    const r = completeRecord(out, { chunks: [input.chunk.index], summary: input.profile === 'sum' });
    if (input.profile === 'retrieval' && r.confidence > 4.5 && !input.chunk.text.includes(r.answer)) return { ...r, confidence: 4.5 };
    return r;
  },
  extractive: (input) => extractRecord(input.chunk.text, input.chunk.index, input.question, input.profile),
});

/**
 * What a V1 model reply holds, described once and used twice: the field list a prompt shows
 * the model, and the zod schema the engine sends (as the json_schema response_format, or in the
 * prompt) and validates against. Both come from the same `FieldDoc` list, so a prompt can never
 * ask for a field the schema lacks or forget one it has. Fields the model must not fill (the
 * source chunk numbers, the irrelevant flag) are never in a reply: `finalize` sets them from the
 * input. Pure: no I/O.
 */
import { z } from 'zod';
import type { V1Profile } from '../../protocol/schemas.ts';
import { asOptionLetter } from './question.ts';
import { NO_INFO } from './record.ts';

/** Record fields a model may be asked to fill. */
export type ReplyField = 'evidence' | 'rationale' | 'answer' | 'confidence';
export const REPLY_FIELDS: readonly ReplyField[] = ['evidence', 'rationale', 'answer', 'confidence'];

/** One field of a reply: its name and, in the prompt's language, what it must hold. */
export interface FieldDoc {
  name: ReplyField;
  says: string;
}

export type PromptLanguage = 'en' | 'zh';

const WORDING: Record<PromptLanguage, { intro: string; text: string; score: string }> = {
  en: {
    intro: 'Reply with one JSON object and nothing else. It has exactly these fields, in this order:',
    text: 'text',
    score: 'a number from 0 to 5',
  },
  zh: {
    intro: '只回复一个 JSON 对象，前后不要有任何其他文字。它恰好包含以下字段，按此顺序：',
    text: '文本',
    score: '0 到 5 之间的数字',
  },
};

/** The field list as the prompt shows it: one line per field, its JSON name in quotes. */
export function renderReplySpec(fields: readonly FieldDoc[], lang: PromptLanguage = 'en'): string {
  const w = WORDING[lang];
  const lines = fields.map((f) => `- "${f.name}" (${f.name === 'confidence' ? w.score : w.text}): ${f.says}`);
  return [w.intro, ...lines].join('\n');
}

export interface StepDef {
  /** The user message, with {question} and {context} slots; ends with the reply's field list. */
  template: string;
  /** The fields the reply holds, in order: the prompt lists them and the reply schema is built from them. */
  fields: readonly FieldDoc[];
}

/** A step: the task text, then the field list rendered from the same docs the reply schema is built from. */
export function step(task: string, fields: readonly FieldDoc[], lang: PromptLanguage = 'en'): StepDef {
  return { template: `${task}\n\n${renderReplySpec(fields, lang)}`, fields };
}

export interface ReplyOptions {
  /** The answer must be one of these (option letters); with `allowNoInfo`, the marker too. */
  letters?: readonly string[];
  /** The answer may be the "[NO INFORMATION]" marker (map and collapse steps). */
  allowNoInfo?: boolean;
}

/** The zod schema of a reply with exactly these fields (all required), tight where the input allows. */
export function replyObject(fields: readonly FieldDoc[], opts: ReplyOptions = {}): z.ZodObject<Record<string, z.ZodType>> {
  const shape: Record<string, z.ZodType> = {};
  for (const f of fields) {
    if (f.name === 'confidence') shape.confidence = z.number().min(0).max(5);
    else if (f.name === 'answer') {
      const letters = opts.letters ?? [];
      shape.answer =
        letters.length >= 2
          ? z.enum([...letters, ...(opts.allowNoInfo ? [NO_INFO] : [])] as [string, ...string[]])
          : z.string().min(1);
    } else shape[f.name] = z.string();
  }
  return z.object(shape);
}

/** The names of a reply schema's fields, read from the schema itself (what the model is asked for). */
export function schemaFieldNames(schema: z.ZodType): string[] {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown> };
  return Object.keys(js.properties ?? {});
}

/** A parsed free-text reply with its answer read as an option letter where the profile answers with letters. */
export function lettered<T extends { answer: string }>(out: T, input: { question: string; profile: V1Profile }): T {
  return input.profile === 'mc' || input.profile === 'code' ? { ...out, answer: asOptionLetter(out.answer, input.question) } : out;
}

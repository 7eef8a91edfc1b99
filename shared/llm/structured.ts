/**
 * Structured output helpers of the openai engine: the op's zod schema as JSON Schema, a tolerant
 * reading of replies (fenced blocks, JSON inside prose, the op's own text parser), the notes
 * that put the schema into the prompt or ask for a repair, and per-op failure counts.
 */
import { z } from 'zod';
import type { ChatMessage, OpDef } from '../ops/op.ts';

export interface OutputFailureCount {
  op: string;
  model: string;
  /** Replies (first or repair) that did not validate against the op's output schema. */
  invalidOutput: number;
  /** Responses whose body was not a usable chat completion (garbled JSON, wrong shape). */
  malformedResponse: number;
  /** Invalid first replies that the repair round fixed. */
  repaired: number;
  /** Tasks answered by the offline implementation after the repair round failed too. */
  fallbacks: number;
}

const failures = new Map<string, OutputFailureCount>();
export function failureEntry(op: string, model: string): OutputFailureCount {
  const key = `${op}\u0000${model}`;
  if (!failures.has(key)) failures.set(key, { op, model, invalidOutput: 0, malformedResponse: 0, repaired: 0, fallbacks: 0 });
  return failures.get(key)!;
}
/** Output validation failures per op and model, over every openai engine of this process. */
export function outputFailureCounts(): OutputFailureCount[] {
  return [...failures.values()].map((e) => ({ ...e }));
}

/** Candidate JSON texts in a reply: the whole text, fenced blocks, then the first balanced {...} or [...]. */
export function jsonCandidates(text: string): unknown[] {
  const cleaned = text.replace(/<think>[\s\S]*?<\/think>/g, '').trim();
  const texts = [cleaned];
  for (const m of cleaned.matchAll(/```[a-zA-Z]*[ \t]*\n?([\s\S]*?)```/g)) texts.push(m[1].trim());
  const start = cleaned.search(/[{[]/);
  if (start >= 0) {
    const end = balancedEnd(cleaned, start);
    if (end > start) texts.push(cleaned.slice(start, end));
  }
  const out: unknown[] = [];
  for (const t of texts) {
    try {
      out.push(JSON.parse(t));
    } catch {} // not JSON; try the next candidate
  }
  return out;
}

function balancedEnd(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const ch = s[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if ((ch === '}' || ch === ']') && --depth === 0) return i + 1;
  }
  return -1;
}

/** The schema one request's reply must satisfy: the op's per-request `replySchema`, else its output schema. */
export function replySchemaOf<I, O>(op: OpDef<I, O>, input: I): z.ZodType<O> {
  return op.replySchema?.(input) ?? op.output;
}

/**
 * Read a reply: the first JSON candidate valid for `schema`, else the op's text parser; then
 * the op's own `check`. The error says what was wrong, in words a model can act on. A reply cut
 * off at the output limit is refused when only the text parser could read it: complete JSON
 * proves the answer ended, free text does not.
 */
export function interpret<I, O>(op: OpDef<I, O>, input: I, text: string, schema: z.ZodType<O> = op.output, truncated = false): { ok: true; value: O } | { ok: false; error: string } {
  let error = 'the reply contains no JSON value';
  let value: { v: O } | undefined;
  for (const candidate of jsonCandidates(text)) {
    const r = schema.safeParse(candidate);
    if (r.success) {
      value = { v: r.data };
      break;
    }
    error = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  }
  if (!value && op.parse) {
    if (truncated) return { ok: false, error: `${error}; the reply was cut off at the output limit before it ended` };
    try {
      const r = schema.safeParse(op.parse(text, input));
      if (r.success) value = { v: r.data };
      else error = `${error}; the text parser's result is invalid too`;
    } catch (e) {
      error = `${error}; the text parser failed: ${(e as Error).message}`;
    }
  }
  if (!value) return { ok: false, error };
  const problems = op.check?.(value.v, input) ?? [];
  if (problems.length) return { ok: false, error: problems.join(' ') };
  return { ok: true, value: value.v };
}

/** JSON Schemas by zod schema, then by op name (two ops may share one output schema). */
const schemaCache = new WeakMap<object, Map<string, Record<string, unknown> | null>>();
/** A zod schema as the JSON Schema sent to servers, titled with the op's name (cached). */
export function jsonSchemaOf(op: OpDef, schema: z.ZodType = op.output): Record<string, unknown> | null {
  let byOp = schemaCache.get(schema);
  if (!byOp) schemaCache.set(schema, (byOp = new Map()));
  let s = byOp.get(op.name);
  if (s === undefined) {
    try {
      const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
      s = { title: op.name, ...rest };
    } catch {
      s = null; // a schema JSON Schema cannot express: rely on the prompt and the parser
    }
    byOp.set(op.name, s);
  }
  return s;
}

/** Put an instruction into the first system message (some chat templates allow only one, first). */
export function withSystemNote(messages: ChatMessage[], note: string): ChatMessage[] {
  if (messages[0]?.role === 'system') return [{ role: 'system', content: `${messages[0].content}\n\n${note}` }, ...messages.slice(1)];
  return [{ role: 'system', content: note }, ...messages];
}

export function schemaNote(schema: Record<string, unknown> | null): string {
  return `Answer with one JSON value and nothing else (no prose, no code fences). It must satisfy this JSON Schema:\n${JSON.stringify(schema)}`;
}

export function repairNote(error: string, truncated: boolean, schema: Record<string, unknown> | null): string {
  const cut = truncated ? ' It was also cut off at the output limit, so keep the answer shorter.' : '';
  const shape = schema ? ` It must satisfy this JSON Schema:\n${JSON.stringify(schema)}` : '';
  return `Your previous reply could not be used: ${error.slice(0, 800)}.${cut} Reply again with only the corrected JSON value, no prose and no code fences.${shape}`;
}

/**
 * The `openai` engine: runs an op on any OpenAI-compatible server (vLLM, OpenAI, Ollama,
 * llama.cpp, gateways) through the official client with its own retries turned off. We own the
 * policy: only transient failures (429, 5xx, timeouts, dropped connections, garbled bodies) are
 * retried, with exponential backoff, jitter and a capped Retry-After, inside a per-call timeout
 * and a total time budget; any other 4xx is a PermanentError carrying the server's message.
 * The op's zod output schema is sent as a json_schema response_format; servers that refuse it
 * are remembered and get the schema in the prompt instead, a tolerant parse, and one repair round.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { z } from 'zod';
import type { Logger } from 'pino';
import { PermanentError, TransientError, type Engine, type EngineResult, type TaskMeta } from './engine.ts';
import type { ChatMessage, OpDef, OpEnv } from '../ops/op.ts';
import type { Usage } from '../protocol/schemas.ts';

export interface OpenAIEngineOptions {
  baseURL: string;
  apiKey?: string;
  model: string;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Retries after the first attempt, for transient failures only. */
  maxRetries: number;
  log?: Logger;
  /** Total time one execute() may spend on attempts and waits (default timeoutMs × (maxRetries + 1)). */
  budgetMs?: number;
  /** First backoff step (default 500 ms), doubled per retry up to retryMaxMs (default 8 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Longest Retry-After we honour (default 30 s); longer hints are cut to this. */
  retryAfterCapMs?: number;
  temperature?: number;
}

export interface OpenAIEngine extends Engine {
  readonly model: string;
  readonly baseURL: string;
  /** False once the server has refused a json_schema response_format. */
  structuredOutput(): boolean;
}

/** A 400 saying the prompt plus reserved output do not fit the model's context window. */
export class ContextLengthError extends PermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'ContextLengthError';
  }
}

export interface OutputFailureCount {
  op: string;
  model: string;
  /** Replies (first or repair) that did not validate against the op's output schema. */
  invalidOutput: number;
  /** Responses whose body was not a usable chat completion (garbled JSON, wrong shape). */
  malformedResponse: number;
  /** Invalid first replies that the repair round fixed. */
  repaired: number;
}

const failures = new Map<string, OutputFailureCount>();
function failureEntry(op: string, model: string): OutputFailureCount {
  const key = `${op}\u0000${model}`;
  if (!failures.has(key)) failures.set(key, { op, model, invalidOutput: 0, malformedResponse: 0, repaired: 0 });
  return failures.get(key)!;
}
/** Output validation failures per op and model, over every openai engine of this process. */
export function outputFailureCounts(): OutputFailureCount[] {
  return [...failures.values()].map((e) => ({ ...e }));
}

const UNSUPPORTED_FORMAT = /response_format|json_schema|guided|structured output|unsupported|not supported/i;
const CONTEXT_LENGTH = /context length|context window|maximum context|too many tokens|prompt is too long|reduce the length/i;

type Failure =
  | { kind: 'transient'; message: string; retryAfterMs?: number; malformed?: boolean }
  | { kind: 'permanent'; message: string; status?: number }
  | { kind: 'aborted'; message: string };

/** Retry-After as milliseconds: `retry-after-ms`, then `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const ra = headers?.get('retry-after');
  if (!ra) return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function classify(err: unknown, timedOut: boolean, cancelled: boolean): Failure {
  if (err instanceof APIUserAbortError || (err as Error)?.name === 'AbortError') {
    if (timedOut) return { kind: 'transient', message: 'the model server did not answer in time' };
    return { kind: 'aborted', message: cancelled ? 'the task was cancelled' : 'the request was aborted' };
  }
  if (err instanceof APIConnectionTimeoutError) return { kind: 'transient', message: 'the model server did not answer in time' };
  if (err instanceof APIConnectionError) return { kind: 'transient', message: `connection to the model server failed: ${err.message}` };
  if (err instanceof APIError && typeof err.status === 'number') {
    const s = err.status;
    const message = `model server answered ${s}: ${err.message}`;
    if (s === 408 || s === 409 || s === 429 || s >= 500) return { kind: 'transient', message, retryAfterMs: retryAfterMs(err.headers) };
    return { kind: 'permanent', message, status: s };
  }
  if (err instanceof SyntaxError) return { kind: 'transient', message: `the model server sent a garbled body: ${err.message}`, malformed: true };
  return { kind: 'permanent', message: `unexpected error calling the model server: ${(err as Error)?.message ?? String(err)}` };
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

function interpret<I, O>(op: OpDef<I, O>, input: I, text: string): { ok: true; value: O } | { ok: false; error: string } {
  let error = 'the reply contains no JSON value';
  for (const candidate of jsonCandidates(text)) {
    const r = op.output.safeParse(candidate);
    if (r.success) return { ok: true, value: r.data };
    error = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  }
  if (op.parse) {
    try {
      const r = op.output.safeParse(op.parse(text, input));
      if (r.success) return { ok: true, value: r.data };
      error = `${error}; the text parser's result is invalid too`;
    } catch (e) {
      error = `${error}; the text parser failed: ${(e as Error).message}`;
    }
  }
  return { ok: false, error };
}

const schemaCache = new WeakMap<object, Record<string, unknown> | null>();
function jsonSchemaOf(op: OpDef): Record<string, unknown> | null {
  let s = schemaCache.get(op);
  if (s === undefined) {
    try {
      const { $schema: _drop, ...rest } = z.toJSONSchema(op.output, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
      s = rest;
    } catch {
      s = null; // a schema JSON Schema cannot express: rely on the prompt and the parser
    }
    schemaCache.set(op, s);
  }
  return s;
}

/** Put an instruction into the first system message (some chat templates allow only one, first). */
function withSystemNote(messages: ChatMessage[], note: string): ChatMessage[] {
  if (messages[0]?.role === 'system') return [{ role: 'system', content: `${messages[0].content}\n\n${note}` }, ...messages.slice(1)];
  return [{ role: 'system', content: note }, ...messages];
}

const estimate = (text: string) => Math.ceil(text.length / 4);
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => (clearTimeout(t), signal?.removeEventListener('abort', done), resolve());
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export function createOpenAIEngine(opts: OpenAIEngineOptions): OpenAIEngine {
  const client = new OpenAI({ baseURL: opts.baseURL, apiKey: opts.apiKey || 'not-needed', maxRetries: 0, timeout: opts.timeoutMs });
  const baseMs = opts.retryBaseMs ?? 500;
  const maxMs = opts.retryMaxMs ?? 8_000;
  const capMs = opts.retryAfterCapMs ?? 30_000;
  const budgetMs = opts.budgetMs ?? opts.timeoutMs * (opts.maxRetries + 1);
  let structured = true;

  /** One chat completion with the retry policy; returns the reply text. */
  async function complete(op: OpDef, messages: ChatMessage[], schema: Record<string, unknown> | null, deadline: number, env: OpEnv, meta: TaskMeta, usage: Usage, maxTokens?: number) {
    const log = opts.log?.child({ op: op.name, jobId: meta.jobId, taskId: meta.taskId, model: opts.model });
    for (let retry = 0; ; ) {
      const useSchema = structured && schema !== null;
      const sent = useSchema || schema === null || op.parse ? messages : withSystemNote(messages, schemaNote(schema));
      if (deadline - Date.now() < 250) throw new TransientError(`${op.name}: the time budget of ${budgetMs} ms is spent`);
      const controller = new AbortController();
      const attemptMs = Math.min(opts.timeoutMs, deadline - Date.now());
      let timedOut = false;
      const timer = setTimeout(() => ((timedOut = true), controller.abort()), attemptMs);
      const onCancel = () => controller.abort();
      env.signal?.addEventListener('abort', onCancel, { once: true });
      let failure: Failure;
      try {
        const res: unknown = await client.chat.completions.create(
          {
            model: opts.model,
            messages: sent,
            ...(maxTokens ? { max_tokens: maxTokens } : {}),
            ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
            ...(useSchema
              ? { response_format: { type: 'json_schema', json_schema: { name: op.name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64), schema, strict: false } } }
              : {}),
          } as OpenAI.ChatCompletionCreateParamsNonStreaming,
          { signal: controller.signal, timeout: attemptMs, maxRetries: 0 },
        );
        const choice = (res as OpenAI.ChatCompletion | undefined)?.choices?.[0];
        const text = choice?.message?.content;
        if (typeof text !== 'string') {
          failure = { kind: 'transient', message: 'the model server sent something other than a chat completion', malformed: true };
        } else {
          const u = (res as OpenAI.ChatCompletion).usage;
          usage.calls++;
          usage.promptTokens += u?.prompt_tokens ?? sent.reduce((n, m) => n + 4 + estimate(m.content), 0);
          usage.completionTokens += u?.completion_tokens ?? estimate(text);
          return { text, truncated: choice?.finish_reason === 'length' };
        }
      } catch (err) {
        failure = classify(err, timedOut, env.signal?.aborted ?? false);
      } finally {
        clearTimeout(timer);
        env.signal?.removeEventListener('abort', onCancel);
      }
      if (failure.kind === 'aborted') throw new TransientError(`${op.name}: ${failure.message}`);
      if (failure.kind === 'permanent') {
        if (useSchema && failure.status !== undefined && [400, 422].includes(failure.status) && UNSUPPORTED_FORMAT.test(failure.message) && !CONTEXT_LENGTH.test(failure.message)) {
          structured = false; // remembered for this engine; this retry does not count
          log?.warn({ status: failure.status }, 'server refused json_schema response_format; using prompt instructions and a tolerant parse');
          continue;
        }
        const msg = `${op.name}: ${failure.message}`;
        throw CONTEXT_LENGTH.test(failure.message) ? new ContextLengthError(msg) : new PermanentError(msg);
      }
      if (failure.malformed) failureEntry(op.name, opts.model).malformedResponse++;
      const hint = failure.retryAfterMs;
      const backoff = Math.min(maxMs, baseMs * 2 ** retry);
      let delay = backoff / 2 + (Math.random() * backoff) / 2;
      if (hint !== undefined) delay = Math.min(capMs, Math.max(hint, 0) * (1 + Math.random() * 0.1));
      if (retry >= opts.maxRetries) throw new TransientError(`${op.name}: ${failure.message} (after ${retry + 1} attempts)`, hint ?? delay);
      if (Date.now() + delay >= deadline) throw new TransientError(`${op.name}: ${failure.message} (retry budget of ${budgetMs} ms spent)`, hint ?? delay);
      retry++;
      log?.warn({ attempt: retry, delayMs: Math.round(delay), reason: failure.message }, 'model call failed; retrying');
      await sleep(delay, env.signal);
      if (env.signal?.aborted) throw new TransientError(`${op.name}: the task was cancelled`);
    }
  }

  return {
    name: 'openai',
    model: opts.model,
    baseURL: opts.baseURL,
    structuredOutput: () => structured,
    async execute<I, O>(op: OpDef<I, O>, input: I, env: OpEnv, meta: TaskMeta): Promise<EngineResult<O>> {
      const deadline = Date.now() + budgetMs;
      const usage: Usage = { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0 };
      const schema = jsonSchemaOf(op);
      const messages = await op.prompt(input, env);
      // An op input may ask for a longer reply than the op's default (e.g. summaries).
      const asked = (input as { maxOutputTokens?: unknown } | null)?.maxOutputTokens;
      const maxTokens = typeof asked === 'number' ? asked : op.maxOutputTokens;
      const done = (value: O) => ({ output: op.finalize ? op.finalize(value, input) : value, usage });
      const first = await complete(op, messages, schema, deadline, env, meta, usage, maxTokens);
      const got = interpret(op, input, first.text);
      if (got.ok) return done(got.value);
      const stats = failureEntry(op.name, opts.model);
      stats.invalidOutput++;
      opts.log?.warn({ op: op.name, jobId: meta.jobId, taskId: meta.taskId, error: got.error }, 'reply failed validation; asking once for a repair');
      const repair: ChatMessage[] = [
        ...messages,
        { role: 'assistant', content: first.text.slice(0, 8000) },
        { role: 'user', content: repairNote(got.error, first.truncated, schema) },
      ];
      const second = await complete(op, repair, schema, deadline, env, meta, usage, maxTokens);
      const again = interpret(op, input, second.text);
      if (again.ok) return stats.repaired++, done(again.value);
      stats.invalidOutput++;
      throw new TransientError(`${op.name}: the model's reply did not match the output schema, even after a repair round: ${again.error}`);
    },
  };
}

function schemaNote(schema: Record<string, unknown> | null): string {
  return `Answer with one JSON value and nothing else (no prose, no code fences). It must satisfy this JSON Schema:\n${JSON.stringify(schema)}`;
}

function repairNote(error: string, truncated: boolean, schema: Record<string, unknown> | null): string {
  const cut = truncated ? ' It was also cut off at the output limit, so keep the answer shorter.' : '';
  const shape = schema ? ` It must satisfy this JSON Schema:\n${JSON.stringify(schema)}` : '';
  return `Your previous reply could not be used: ${error.slice(0, 800)}.${cut} Reply again with only the corrected JSON value, no prose and no code fences.${shape}`;
}

/**
 * The `openai` engine: runs an op on any OpenAI-compatible server (vLLM, OpenAI, Ollama,
 * llama.cpp, gateways) through the official client with its own retries turned off.
 *
 * * Routing (routing.ts): each op gets a model, temperature, reply length, timeout and price;
 *   each model has an endpoint pool (pool.ts) with adaptive per-endpoint caps and health.
 * * Retries: only transient failures (429, 5xx, timeouts, dropped connections, garbled bodies),
 *   exponential backoff with jitter, a capped Retry-After, a per-call timeout and a total time
 *   budget; any other 4xx is a PermanentError carrying the server's message.
 * * Structured output: the op's zod output schema is sent as a json_schema response_format;
 *   models that refuse it are remembered and get the schema in the prompt instead, a tolerant
 *   parse, and one repair round.
 * * Cache (cache.ts): replies are looked up and stored by a hash of the request; repeated
 *   samples (`sample` in the op input) send `seed` and are cached apart.
 * * Accounting: calls, tokens, cached calls and dollars per task, metrics per endpoint.
 */
import type OpenAI from 'openai';
import { openaiModule } from './openai-module.ts';
import type { Logger } from 'pino';
import { PermanentError, TransientError, type Engine, type EngineResult, type TaskMeta } from './engine.ts';
import { classify, type Failure } from './failures.ts';
import { PoolRegistry, type EndpointPool, type PoolTuning } from './pool.ts';
import { cacheKey, reads, REPLAY_MISS, sampleSeed, writes, type CachedReply, type CacheMode, type ResponseCache } from './cache.ts';
import { singleModelRouting, type ModelRoute, type OpRoute } from './routing.ts';
import type { Routing } from './routing.ts';
import { failureEntry, interpret, jsonSchemaOf, repairNote, replySchemaOf, schemaNote, withSystemNote } from './structured.ts';
import type { ChatMessage, OpDef, OpEnv } from '../ops/op.ts';
import type { Usage } from '../protocol/schemas.ts';
import type { Metrics } from '../obs/metrics.ts';

export { retryAfterMs } from './failures.ts';
export { PoolRegistry } from './pool.ts';
export { jsonCandidates, outputFailureCounts, type OutputFailureCount } from './structured.ts';

export interface OpenAIEngineOptions {
  /** One endpoint and model for every op (the shorthand); or give `routing`. */
  baseURL?: string;
  apiKey?: string;
  model?: string;
  /** Per-request timeout (shorthand; a routing sets it per op). */
  timeoutMs?: number;
  /** Retries after the first attempt, for transient failures only (shorthand). */
  maxRetries?: number;
  temperature?: number;
  /** Per-op models, endpoints and settings. */
  routing?: Routing;
  log?: Logger;
  /** Total time one execute() may spend on attempts and waits (default timeoutMs × (maxRetries + 1)). */
  budgetMs?: number;
  /** First backoff step (default 500 ms), doubled per retry up to retryMaxMs (default 8 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Longest Retry-After we honour (default 30 s); longer hints are cut to this. */
  retryAfterCapMs?: number;
  cache?: ResponseCache;
  metrics?: Metrics;
  /** Share endpoint pools between engines of one process (default: the engine's own). */
  pools?: PoolRegistry;
  pool?: PoolTuning;
}

export interface OpenAIEngine extends Engine {
  /** The default model and its first endpoint. */
  readonly model: string;
  readonly baseURL: string;
  /** False once the (default) model has refused a json_schema response_format. */
  structuredOutput(model?: string): boolean;
  /** The endpoint pool of a model (the default model when not named). */
  pool(model?: string): EndpointPool;
}

/** A 400 saying the prompt plus reserved output do not fit the model's context window. */
export class ContextLengthError extends PermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'ContextLengthError';
  }
}

const UNSUPPORTED_FORMAT = /response_format|json_schema|guided|structured output|unsupported|not supported/i;
const CONTEXT_LENGTH = /context length|context window|maximum context|too many tokens|prompt is too long|reduce the length/i;

const estimate = (text: string) => Math.ceil(text.length / 4);
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => (clearTimeout(t), signal?.removeEventListener('abort', done), resolve());
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** Everything one execute() carries through its calls. */
interface Call {
  op: OpDef;
  route: OpRoute;
  pool: EndpointPool;
  deadline: number;
  budgetMs: number;
  env: OpEnv;
  usage: Usage;
  maxTokens?: number;
  seed?: number;
  mode: CacheMode;
  pending: [string, CachedReply][];
  log?: Logger;
}

export function createOpenAIEngine(opts: OpenAIEngineOptions): OpenAIEngine {
  if (!opts.routing && !(opts.baseURL && opts.model)) throw new PermanentError('the openai engine needs a baseURL and a model, or a routing');
  const routing = opts.routing ?? singleModelRouting({ url: opts.baseURL!, model: opts.model!, apiKey: opts.apiKey, temperature: opts.temperature, timeoutMs: opts.timeoutMs ?? 120_000, maxRetries: opts.maxRetries ?? 3 });
  const pools = opts.pools ?? new PoolRegistry();
  opts.metrics?.readWaitingCalls(pools);
  const baseMs = opts.retryBaseMs ?? 500;
  const maxMs = opts.retryMaxMs ?? 8_000;
  const capMs = opts.retryAfterCapMs ?? 30_000;
  const structured = new Map<string, boolean>();
  const clients = new Map<string, OpenAI>();
  const isStructured = (m: ModelRoute) => structured.get(m.name) ?? m.structuredOutput;
  const poolOf = (m: ModelRoute) => pools.get(m, opts.pool, opts.log?.child({ model: m.name }));
  const clientFor = (url: string, m: ModelRoute) => {
    const key = `${url}\u0000${m.name}`;
    let c = clients.get(key);
    if (!c) clients.set(key, (c = new (openaiModule().OpenAI)({ baseURL: url, apiKey: m.apiKey || 'not-needed', maxRetries: 0 })));
    return c;
  };
  const defaultModel = () => {
    const m = routing.defaultModel ? routing.models.get(routing.defaultModel) : undefined;
    if (!m) throw new PermanentError('no default model is configured');
    return m;
  };

  /** One chat completion (from the cache, or the pool with the retry policy); returns the reply text. */
  async function complete(c: Call, messages: ChatMessage[], schema: Record<string, unknown> | null) {
    const { op, route, usage } = c;
    const m = route.model;
    // Do not start an attempt with less than a quarter of a normal one's time left (at most 250 ms).
    const minAttemptMs = Math.min(250, route.timeoutMs / 4);
    for (let retry = 0; ; ) {
      const useSchema = isStructured(m) && schema !== null;
      const sent = useSchema || schema === null ? messages : withSystemNote(messages, schemaNote(schema));
      if (c.deadline - Date.now() < minAttemptMs) throw new TransientError(`${op.name}: the time budget of ${c.budgetMs} ms is spent`);
      const body = {
        model: m.name,
        messages: sent,
        ...(c.maxTokens ? { max_tokens: c.maxTokens } : {}),
        ...(route.temperature !== undefined ? { temperature: route.temperature } : {}),
        ...(route.topP !== undefined ? { top_p: route.topP } : {}),
        ...(c.seed !== undefined ? { seed: c.seed } : {}),
        ...(useSchema ? { response_format: { type: 'json_schema', json_schema: { name: op.name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64), schema, strict: false } } } : {}),
      };
      const key = c.mode !== 'off' ? cacheKey(op, body) : undefined;
      if (key && reads(c.mode)) {
        let hit: CachedReply | null = null;
        try {
          hit = opts.cache ? await opts.cache.get(key) : null;
        } catch (e) {
          if (c.mode === 'replay') throw new TransientError(`${op.name}: the response cache cannot be read: ${(e as Error).message}`);
          c.log?.warn({ err: (e as Error).message }, 'response cache unreadable; calling the model');
        }
        if (hit) {
          usage.cachedCalls++;
          opts.metrics?.modelCacheHit(m.name);
          return { text: hit.text, truncated: hit.finishReason === 'length' };
        }
        if (c.mode === 'replay') {
          throw new PermanentError(`${op.name}: ${REPLAY_MISS}: no stored reply for this call to ${m.name}${opts.cache ? '' : ' (this worker has no response cache)'}; the recorded run never made it, or its entry expired`);
        }
      }
      const lease = await c.pool.acquire(c.env.signal, c.deadline - minAttemptMs);
      c.env.callStarted?.();
      const controller = new AbortController();
      const attemptMs = Math.max(1, Math.min(route.timeoutMs, c.deadline - Date.now()));
      let timedOut = false;
      const timer = setTimeout(() => ((timedOut = true), controller.abort()), attemptMs);
      const onCancel = () => controller.abort();
      c.env.signal?.addEventListener('abort', onCancel, { once: true });
      const t0 = performance.now();
      let failure: Failure;
      try {
        const res: unknown = await clientFor(lease.url, m).chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming, {
          signal: controller.signal,
          timeout: attemptMs,
          maxRetries: 0,
        });
        const choice = (res as OpenAI.ChatCompletion | undefined)?.choices?.[0];
        const text = choice?.message?.content;
        if (typeof text !== 'string') {
          failure = { kind: 'transient', message: 'the model server sent something other than a chat completion', malformed: true, outcome: 'neutral', reason: 'parse' };
        } else {
          const latencyMs = performance.now() - t0;
          lease.release({ kind: 'ok', latencyMs, key: op.name });
          const u = (res as OpenAI.ChatCompletion).usage;
          const promptTokens = u?.prompt_tokens ?? sent.reduce((n, x) => n + 4 + estimate(x.content), 0);
          const completionTokens = u?.completion_tokens ?? estimate(text);
          const costDollars = promptTokens * m.price.prompt + completionTokens * m.price.completion;
          usage.calls++;
          usage.promptTokens += promptTokens;
          usage.completionTokens += completionTokens;
          usage.costDollars = (usage.costDollars ?? 0) + costDollars;
          opts.metrics?.modelCall({ endpoint: lease.url, model: m.name, seconds: latencyMs / 1000, promptTokens, completionTokens, costDollars });
          const finishReason = choice?.finish_reason ?? 'stop';
          if (key && writes(c.mode)) c.pending.push([key, { text, finishReason, promptTokens, completionTokens, model: m.name, storedAt: new Date().toISOString() }]);
          return { text, truncated: finishReason === 'length' };
        }
      } catch (err) {
        failure = classify(err, timedOut, c.env.signal?.aborted ?? false);
      } finally {
        clearTimeout(timer);
        c.env.signal?.removeEventListener('abort', onCancel);
      }
      lease.release({ kind: failure.outcome } as { kind: 'neutral' });
      if (failure.kind !== 'aborted') opts.metrics?.modelError({ endpoint: lease.url, model: m.name, reason: failure.reason });
      if (failure.kind === 'aborted') throw new TransientError(`${op.name}: ${failure.message}`);
      if (failure.kind === 'permanent') {
        if (useSchema && failure.status !== undefined && [400, 422].includes(failure.status) && UNSUPPORTED_FORMAT.test(failure.message) && !CONTEXT_LENGTH.test(failure.message)) {
          structured.set(m.name, false); // remembered for this engine; this retry does not count
          c.log?.warn({ status: failure.status }, 'server refused json_schema response_format; using prompt instructions and a tolerant parse');
          continue;
        }
        const msg = `${op.name}: ${failure.message}`;
        throw CONTEXT_LENGTH.test(failure.message) ? new ContextLengthError(msg) : new PermanentError(msg);
      }
      if (failure.malformed) failureEntry(op.name, m.name).malformedResponse++;
      const hint = failure.retryAfterMs;
      const backoff = Math.min(maxMs, baseMs * 2 ** retry);
      let delay = backoff / 2 + (Math.random() * backoff) / 2;
      if (hint !== undefined) delay = Math.min(capMs, Math.max(hint, 0) * (1 + Math.random() * 0.1));
      if (retry >= route.maxRetries) throw new TransientError(`${op.name}: ${failure.message} (after ${retry + 1} attempts)`, hint ?? delay);
      if (Date.now() + delay >= c.deadline) throw new TransientError(`${op.name}: ${failure.message} (retry budget of ${c.budgetMs} ms spent)`, hint ?? delay);
      retry++;
      c.log?.warn({ attempt: retry, delayMs: Math.round(delay), reason: failure.message, endpoint: lease.url }, 'model call failed; retrying');
      await sleep(delay, c.env.signal);
      if (c.env.signal?.aborted) throw new TransientError(`${op.name}: the task was cancelled`);
    }
  }

  /** Reply length: the input's own ask, a stage's setting, the op's default, the file's default; cut to fit the context window. */
  function replyTokens(op: OpDef, input: unknown, route: OpRoute, messages: ChatMessage[]): number | undefined {
    const asked = (input as { maxOutputTokens?: unknown } | null)?.maxOutputTokens;
    let n = typeof asked === 'number' ? asked : (route.maxTokens ?? op.maxOutputTokens ?? route.defaultMaxTokens);
    const window = route.model.contextWindow;
    if (n && window) {
      const prompt = messages.reduce((s, x) => s + 4 + estimate(x.content), 0);
      if (prompt + n > window) n = Math.max(16, window - prompt);
    }
    return n;
  }

  const first = routing.defaultModel ? routing.models.get(routing.defaultModel) : undefined;
  return {
    name: 'openai',
    model: routing.defaultModel ?? '',
    baseURL: first?.endpoints[0]?.url ?? '',
    structuredOutput: (model) => isStructured(model ? routing.models.get(model) ?? defaultModel() : defaultModel()),
    pool: (model) => poolOf(model ? routing.models.get(model) ?? defaultModel() : defaultModel()),
    async execute<I, O>(op: OpDef<I, O>, input: I, env: OpEnv, meta: TaskMeta): Promise<EngineResult<O>> {
      let route: OpRoute;
      try {
        route = routing.route(op);
      } catch (e) {
        throw new PermanentError((e as Error).message);
      }
      const budgetMs = opts.budgetMs ?? route.timeoutMs * (route.maxRetries + 1);
      const usage: Usage = { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0, costDollars: 0 };
      const reply = replySchemaOf(op, input);
      const schema = jsonSchemaOf(op, reply);
      const messages = await op.prompt(input, env);
      const log = opts.log?.child({ op: op.name, jobId: meta.jobId, taskId: meta.taskId, model: route.model.name });
      const mode: CacheMode = meta.cache ?? (opts.cache ? 'use' : 'off');
      const c: Call = {
        op, route, pool: poolOf(route.model), deadline: Date.now() + budgetMs, budgetMs, env, usage, log, mode, pending: [],
        maxTokens: replyTokens(op, input, route, messages), seed: sampleSeed(input),
      };
      const store = async () => {
        if (opts.cache && c.pending.length) {
          await Promise.all(c.pending.map(([k, v]) => opts.cache!.put(k, v))).catch((e) => log?.warn({ err: (e as Error).message }, 'could not store replies in the response cache'));
        }
      };
      const done = async (value: O) => (await store(), { output: op.finalize ? op.finalize(value, input) : value, usage });
      const firstReply = await complete(c, messages, schema);
      const got = interpret(op, input, firstReply.text, reply, firstReply.truncated);
      if (got.ok) return done(got.value);
      const stats = failureEntry(op.name, route.model.name);
      stats.invalidOutput++;
      usage.repairs = 1;
      log?.warn({ error: got.error }, 'reply unusable; asking once for a repair');
      const repair: ChatMessage[] = [
        ...messages,
        { role: 'assistant', content: firstReply.text.slice(0, 8000) },
        { role: 'user', content: repairNote(got.error, firstReply.truncated, schema) },
      ];
      const second = await complete(c, repair, schema);
      const again = interpret(op, input, second.text, reply, second.truncated);
      if (again.ok) return stats.repaired++, done(again.value);
      stats.invalidOutput++;
      // Two unusable replies: the op's deterministic offline implementation answers, and the
      // result says so. The replies stay cached, so a rerun takes the same path without calls.
      const fallback = `the model's reply could not be used even after a repair round (${again.error.slice(0, 300)}); the offline implementation answered`;
      const offline = op.output.safeParse(await op.extractive(input, env));
      if (!offline.success) throw new PermanentError(`${op.name}: ${fallback}, but its output is invalid: ${offline.error.message}`);
      await store();
      stats.fallbacks++;
      usage.fallbacks = 1;
      log?.warn({ error: again.error }, 'reply still unusable after repair; used the offline implementation');
      return { output: offline.data, usage, fallback };
    },
  };
}

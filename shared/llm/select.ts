/**
 * Pick the engine a task asks for: the offline `extractive` engine, or an `openai` engine built
 * from the routing file (LLM_ROUTING_FILE) and the environment. Engines are reused across tasks
 * (what they learn about a server, e.g. missing structured output, sticks), and every engine of
 * the process shares one endpoint pool per model, so the adaptive caps see all of its load.
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { Env } from '../config/env.ts';
import type { EngineName } from '../protocol/schemas.ts';
import type { Metrics } from '../obs/metrics.ts';
import { PermanentError, type Engine } from './engine.ts';
import { extractiveEngine } from './extractive.ts';
import { createOpenAIEngine, PoolRegistry } from './openai.ts';
import { kvCache, type ResponseCache } from './cache.ts';
import { loadRouting, routingConfigured } from './routing.ts';

export interface EngineExtras {
  /** The response cache: the bus's `llmcache` KV bucket, or any ResponseCache. */
  cache?: KV | ResponseCache;
  metrics?: Metrics;
}

const engines = new Map<string, Engine>();
const processPools = new PoolRegistry();
const ids = new WeakMap<object, number>();
let nextId = 1;
const idOf = (o: object | undefined) => {
  if (!o) return 0;
  if (!ids.has(o)) ids.set(o, nextId++);
  return ids.get(o)!;
};
const isKv = (c: KV | ResponseCache): c is KV => typeof (c as KV).watch === 'function' && typeof (c as KV).create === 'function';

export function engineFor(name: EngineName, env: Env, log?: Logger, extras: EngineExtras = {}): Engine {
  if (name === 'extractive') return extractiveEngine;
  if (name !== 'openai') throw new PermanentError(`unknown engine "${String(name)}" (use "extractive" or "openai")`);
  // The key is part of the identity but never appears in logs or messages.
  const key = JSON.stringify([
    env.LLM_ROUTING_FILE ?? '', env.OPENAI_BASE_URL ?? '', env.LLM_MODEL ?? '', env.OPENAI_API_KEY ?? '', env.LLM_TIMEOUT_MS, env.LLM_MAX_RETRIES,
    idOf(extras.cache), idOf(extras.metrics),
  ]);
  let engine = engines.get(key);
  if (engine) return engine;
  if (!env.LLM_ROUTING_FILE) {
    const missing = [!env.OPENAI_BASE_URL && 'OPENAI_BASE_URL', !env.LLM_MODEL && 'LLM_MODEL'].filter(Boolean);
    if (missing.length > 0) {
      throw new PermanentError(
        `the openai engine needs ${missing.join(' and ')}: set ${missing.join(' and ')} in the environment ` +
          `(e.g. OPENAI_BASE_URL=http://127.0.0.1:8000/v1 LLM_MODEL=<served model name>) or a routing file in LLM_ROUTING_FILE, ` +
          'or run the job with the extractive engine',
      );
    }
  }
  const { routing, problems } = loadRouting(env);
  const errors = problems.filter((p) => p.level === 'error');
  if (!routing || errors.length > 0) {
    throw new PermanentError(`the model routing is not usable (run \`llmxmr config check\`): ${errors.map((p) => p.message).join('; ')}`);
  }
  for (const p of problems) log?.warn({ source: routing.source }, `model routing: ${p.message}`);
  const cache = extras.cache ? (isKv(extras.cache) ? kvCache(extras.cache) : extras.cache) : undefined;
  engine = createOpenAIEngine({ routing, cache, metrics: extras.metrics, pools: processPools, log: log?.child({ engine: 'openai' }) });
  engines.set(key, engine);
  return engine;
}

/** 'openai' when a model server is configured (OPENAI_BASE_URL or a routing file with endpoints), otherwise the offline engine. */
export function defaultEngineName(env: Pick<Env, 'OPENAI_BASE_URL'> & Partial<Env>): EngineName {
  return routingConfigured({ LLM_TIMEOUT_MS: 120_000, LLM_MAX_RETRIES: 3, ...env }) ? 'openai' : 'extractive';
}

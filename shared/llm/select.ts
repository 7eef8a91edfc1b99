/**
 * Pick the engine a task asks for: the offline `extractive` engine, or an `openai` engine built
 * from the environment (one per configuration, reused across tasks so that what it learns about
 * the server, e.g. missing structured output, sticks).
 */
import type { Logger } from 'pino';
import type { Env } from '../config/env.ts';
import type { EngineName } from '../protocol/schemas.ts';
import { PermanentError, type Engine } from './engine.ts';
import { extractiveEngine } from './extractive.ts';
import { createOpenAIEngine } from './openai.ts';

const cache = new Map<string, Engine>();

export function engineFor(name: EngineName, env: Env, log?: Logger): Engine {
  if (name === 'extractive') return extractiveEngine;
  if (name !== 'openai') throw new PermanentError(`unknown engine "${String(name)}" (use "extractive" or "openai")`);
  const missing = [!env.OPENAI_BASE_URL && 'OPENAI_BASE_URL', !env.LLM_MODEL && 'LLM_MODEL'].filter(Boolean);
  if (missing.length > 0) {
    throw new PermanentError(
      `the openai engine needs ${missing.join(' and ')}: set ${missing.join(' and ')} in the environment ` +
        `(e.g. OPENAI_BASE_URL=http://127.0.0.1:8000/v1 LLM_MODEL=<served model name>), or run the job with the extractive engine`,
    );
  }
  // The key is part of the identity but never appears in logs or messages.
  const key = JSON.stringify([env.OPENAI_BASE_URL, env.LLM_MODEL, env.OPENAI_API_KEY ?? '', env.LLM_TIMEOUT_MS, env.LLM_MAX_RETRIES]);
  let engine = cache.get(key);
  if (!engine) {
    engine = createOpenAIEngine({
      baseURL: env.OPENAI_BASE_URL!,
      apiKey: env.OPENAI_API_KEY,
      model: env.LLM_MODEL!,
      timeoutMs: env.LLM_TIMEOUT_MS,
      maxRetries: env.LLM_MAX_RETRIES,
      log: log?.child({ engine: 'openai' }),
    });
    cache.set(key, engine);
  }
  return engine;
}

/** 'openai' when a server is configured (OPENAI_BASE_URL), otherwise the offline engine. */
export function defaultEngineName(env: Pick<Env, 'OPENAI_BASE_URL'>): EngineName {
  return env.OPENAI_BASE_URL ? 'openai' : 'extractive';
}

/**
 * The model response cache, in the `llmcache` KV bucket (30-day TTL). The key is a hash of
 * everything that decides a reply: model, messages as sent, sampling parameters (temperature,
 * top_p, max_tokens, seed), the response format and the op's name and version. A rerun or a
 * resumed job therefore pays nothing for calls already made.
 *
 * Modes (the job spec's `cache` field, carried by every task):
 *   use     read, and store new replies (default)
 *   record  always call the model and store every reply the cache lacks: a fresh recording
 *           (entries are write-once, so a key recorded before keeps its first reply)
 *   replay  serve only stored replies; a call that was never recorded fails the job clearly
 *   off     neither read nor write
 * Replies are stored only once the op's output validated, so a retry never gets a reply
 * that failed.
 */
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { canonicalJson } from '../protocol/ids.ts';
import type { CacheMode } from '../protocol/schemas.ts';

export type { CacheMode };

/** Marks the error of a call that replay mode could not serve (the coordinator stops the job on it). */
export const REPLAY_MISS = 'replay miss';

export interface CachedReply {
  text: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  model: string;
  storedAt: string;
}

export interface ResponseCache {
  get(key: string): Promise<CachedReply | null>;
  put(key: string, reply: CachedReply): Promise<void>;
}

/** `<op name>.<sha256>`: valid KV key tokens, and `kv.keys('v2.digest.>')` lists one op's entries. */
export function cacheKey(op: { name: string; version: number }, request: Record<string, unknown>): string {
  const hash = createHash('sha256').update(canonicalJson({ op: op.name, version: op.version, request })).digest('hex');
  const prefix = op.name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+|\.+$/g, '') || 'op';
  return `${prefix}.${hash}`;
}

export function kvCache(kv: KV): ResponseCache {
  return {
    async get(key) {
      const e = await kv.get(key);
      if (!e || e.operation !== 'PUT' || e.value.length === 0) return null;
      try {
        const v = JSON.parse(new TextDecoder().decode(e.value)) as CachedReply;
        return typeof v?.text === 'string' ? v : null;
      } catch {
        return null; // a damaged entry is a miss
      }
    },
    async put(key, reply) {
      // Entries are write-once on the server (see shared/bus/provision.ts): the first reply
      // stored for a key stays until it expires, and a later one is not an error.
      await kv.create(key, new TextEncoder().encode(JSON.stringify(reply))).catch((e: Error) => {
        if (!/wrong last sequence|exists|10071|maximum messages per subject/i.test(String(e.message))) throw e;
      });
    },
  };
}

/** An in-process cache (tests, and callers without a bus). */
export function memoryCache(): ResponseCache & { size(): number } {
  const m = new Map<string, CachedReply>();
  return {
    get: async (k) => m.get(k) ?? null,
    put: async (k, v) => void m.set(k, v),
    size: () => m.size,
  };
}

/** The seed for a repeated sample: the op input's `sample` index, when it has one. */
export function sampleSeed(input: unknown): number | undefined {
  const s = (input as { sample?: unknown } | null)?.sample;
  return typeof s === 'number' && Number.isInteger(s) && s >= 0 ? s : undefined;
}

export const reads = (mode: CacheMode) => mode === 'use' || mode === 'replay';
export const writes = (mode: CacheMode) => mode === 'use' || mode === 'record';

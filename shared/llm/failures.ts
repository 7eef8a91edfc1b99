/**
 * How the openai engine reads a failed model call: retry or not, what it says about the
 * endpoint (for the pool's cap and health), and a bounded reason for the metrics.
 */
import { openaiModule } from './openai-module.ts';
import type { ModelErrorReason } from '../obs/metrics.ts';
import type { Outcome } from './pool.ts';

export type Failure = (
  | { kind: 'transient'; message: string; retryAfterMs?: number; malformed?: boolean }
  | { kind: 'permanent'; message: string; status?: number }
  | { kind: 'aborted'; message: string }
) & { outcome: Outcome['kind']; reason: ModelErrorReason };

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

export function classify(err: unknown, timedOut: boolean, cancelled: boolean): Failure {
  const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = openaiModule();
  const late = 'the model server did not answer in time';
  if (err instanceof APIUserAbortError || (err as Error)?.name === 'AbortError') {
    if (timedOut) return { kind: 'transient', message: late, outcome: 'error', reason: 'timeout' };
    return { kind: 'aborted', message: cancelled ? 'the task was cancelled' : 'the request was aborted', outcome: 'neutral', reason: 'other' };
  }
  if (err instanceof APIConnectionTimeoutError) return { kind: 'transient', message: late, outcome: 'error', reason: 'timeout' };
  if (err instanceof APIConnectionError) {
    return { kind: 'transient', message: `connection to the model server failed: ${err.message}`, outcome: 'down', reason: 'connection' };
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const s = err.status;
    const message = `model server answered ${s}: ${err.message}`;
    if (s === 429 || s === 503) return { kind: 'transient', message, retryAfterMs: retryAfterMs(err.headers), outcome: 'overload', reason: s === 429 ? 'rate_limited' : 'server' };
    if (s === 408 || s === 409 || s >= 500) return { kind: 'transient', message, retryAfterMs: retryAfterMs(err.headers), outcome: s >= 500 ? 'error' : 'neutral', reason: s >= 500 ? 'server' : 'client' };
    return { kind: 'permanent', message, status: s, outcome: 'neutral', reason: 'client' };
  }
  if (err instanceof SyntaxError) {
    return { kind: 'transient', message: `the model server sent a garbled body: ${err.message}`, malformed: true, outcome: 'neutral', reason: 'parse' };
  }
  return { kind: 'permanent', message: `unexpected error calling the model server: ${(err as Error)?.message ?? String(err)}`, outcome: 'neutral', reason: 'other' };
}

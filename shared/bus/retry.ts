/**
 * NATS being briefly unavailable (a server restart, a network blip, JetStream still recovering
 * its store) is an expected event, not a reason to fail a job or crash a service: callers wait
 * and try again. Everything else (permissions, missing streams, bad input) fails at once.
 */

const TRANSIENT_NAMES = new Set(['TimeoutError', 'NoRespondersError', 'ConnectionError', 'RequestError', 'JetStreamNotEnabled']);
// "no suitable peers": a JetStream cluster whose servers have not all joined yet cannot place replicas.
const TRANSIENT_TEXT =
  /timeout|timed out|no responders|disconnect|connection (?:refused|reset|closed|lost)|cannot connect to NATS|temporarily unavailable|jetstream not enabled|server shutdown|heartbeats missed|no suitable peers|ECONNREFUSED|ECONNRESET/i;
const NEVER = /permissions violation|authorization|authentication|refused these credentials/i;

/** True when the error says NATS (or JetStream) is unreachable for now. */
export function isNatsUnavailable(e: unknown): boolean {
  const err = e as Error | undefined;
  const text = `${err?.name ?? ''} ${err?.message ?? String(e)} ${String((err as { cause?: Error })?.cause?.message ?? '')}`;
  if (NEVER.test(text)) return false;
  return TRANSIENT_NAMES.has(err?.name ?? '') || TRANSIENT_TEXT.test(text);
}

export interface RetryOptions {
  /** Give up after this long (default 2 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log. */
  onRetry?(err: Error, attempt: number): void;
}

/** Run `f`, retrying with backoff (250 ms doubling to 4 s) while NATS is unavailable. */
export async function whileNatsUnavailable<T>(f: () => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (!isNatsUnavailable(e) || o.signal?.aborted || Date.now() >= deadline) throw e;
      o.onRetry?.(e as Error, attempt);
      await new Promise((r) => setTimeout(r, Math.min(4_000, 250 * 2 ** (attempt - 1))));
    }
  }
}

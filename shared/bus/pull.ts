/**
 * A pull loop with bounded concurrency over one durable consumer: it only fetches as many
 * messages as it has free slots, so nothing waits in a local buffer while its ack timer runs.
 * Used by the workers (tasks) and the coordinator (jobs).
 */
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';

/** How long fetches wait for messages. */
const FETCH_EXPIRES_MS = 1_000;
/**
 * Delay of a message handed back by a stopping process: longer than a fetch stays open, so the
 * message cannot land in this process's last pull request again (each return costs a delivery).
 */
export const HAND_BACK_DELAY_MS = FETCH_EXPIRES_MS + 500;

export interface PullLoopOptions {
  js: JetStreamClient;
  stream: string;
  consumer: string;
  concurrency: number;
  handle(msg: JsMsg): Promise<void>;
  log: Logger;
}

export interface PullLoop {
  /** Messages being handled right now. */
  inFlight(): number;
  /** Stop fetching; resolves when every in-flight handler has finished. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended. */
  done: Promise<void>;
}

export function startPullLoop(o: PullLoopOptions): PullLoop {
  let stopping = false;
  const running = new Set<Promise<void>>();
  let wake: (() => void) | null = null;
  // The open fetch: a stopping loop closes it instead of waiting out its expiry (the server
  // drops a pull request whose inbox nobody listens to any more).
  let open: ConsumerMessages | undefined;
  const slotFreed = () => new Promise<void>((r) => (wake = r));

  const loop = async () => {
    const consumer = await o.js.consumers.get(o.stream, o.consumer);
    while (!stopping) {
      const free = o.concurrency - running.size;
      if (free <= 0) {
        await slotFreed();
        continue;
      }
      let batch;
      try {
        batch = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
        open = batch;
        if (stopping) void batch.close().catch(() => undefined);
      } catch (e) {
        if (stopping) break;
        o.log.warn({ err: (e as Error).message }, 'fetch failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      try {
        for await (const m of batch) {
          if (stopping) {
            m.nak(HAND_BACK_DELAY_MS); // arrived while draining: hand it back to the other consumers
            continue;
          }
          const p = o
            .handle(m)
            .catch((e) => o.log.error({ err: (e as Error).message }, 'handler crashed'))
            .finally(() => {
              running.delete(p);
              wake?.();
              wake = null;
            });
          running.add(p);
        }
      } catch (e) {
        if (stopping) break;
        o.log.warn({ err: (e as Error).message }, 'fetch interrupted; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await Promise.allSettled([...running]);
  };

  const done = loop();
  return {
    inFlight: () => running.size,
    async stop() {
      stopping = true;
      wake?.();
      void open?.close().catch(() => undefined);
      await done.catch(() => undefined);
    },
    done,
  };
}

/** Call `msg.working()` periodically while `work` runs, so the ack timer never expires. */
export async function withHeartbeat<T>(msg: JsMsg, everyMs: number, work: () => Promise<T>): Promise<T> {
  const t = setInterval(() => {
    try {
      msg.working();
    } catch {
      // connection closing: the redelivery will take over
    }
  }, everyMs);
  try {
    return await work();
  } finally {
    clearInterval(t);
  }
}

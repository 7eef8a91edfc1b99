/**
 * Perf part (a), third column: the bus operations a cluster task needs, done by hand with none of
 * the cluster's code: publish the task with a message id (awaiting the stream's ack), a pull
 * consumer fetching as many as it has free slots, the result written create-if-absent into the
 * results bucket, the task acked, the result seen through a KV watch. The same streams and
 * settings as the cluster (provisioned under a fresh prefix), the same number of slots.
 * Cluster / floor is what our own code adds; floor / raw is the price of the protocol itself
 * (a second stored message per task, the result, and its delivery to the watcher).
 */
import { connectNats } from '../shared/bus/connect.ts';
import { Bus } from '../shared/bus/bus.ts';
import { provision } from '../shared/bus/provision.ts';
import { names } from '../shared/protocol/names.ts';

export interface FloorResult {
  /** Mean ms per task, one after another. */
  stepMs: number;
  /** ms per task over a fan-out of `batch`. */
  batchPerTaskMs: number;
}

export async function measureFloor(natsUrl: string, o: { n: number; batch: number; slots: number }): Promise<FloorResult> {
  const prefix = `pfloor${Date.now().toString(36)}`;
  const auth = { NATS_URL: natsUrl } as never;
  const [ncC, ncW] = await Promise.all([connectNats(auth, { name: 'floor-client', reconnect: false }), connectNats(auth, { name: 'floor-worker', reconnect: false })]);
  try {
    await provision(ncC, names(prefix), { maxDeliver: 4, ackWaitMs: 60_000, replicas: 1 });
    const [client, worker] = await Promise.all([Bus.open(ncC, prefix), Bus.open(ncW, prefix)]);
    const job = `floor-${Date.now().toString(36)}`;
    const waiters = new Map<string, () => void>();
    const watch = await client.results.watch({ key: `${job}.>` });
    void (async () => {
      for await (const e of watch) waiters.get(e.key)?.();
    })();
    // The worker: fetch as many as there are free slots, write the result, ack.
    const consumer = await worker.js.consumers.get(worker.names.streams.tasks, worker.names.consumers.map);
    let running = 0;
    let stopped = false;
    let wake: (() => void) | null = null;
    const handle = async (id: string, ack: () => void) => {
      await worker.results.create(`${job}.${id}`, new TextEncoder().encode(`{"id":"${id}"}`));
      ack();
      running--;
      wake?.();
    };
    const loop = (async () => {
      while (!stopped) {
        const free = o.slots - running;
        if (free <= 0) {
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        const it = await consumer.fetch({ max_messages: free, expires: 1_000 });
        for await (const m of it) {
          running++;
          void handle(new TextDecoder().decode(m.data), () => m.ack());
        }
      }
    })();
    const subject = client.names.subjects.task('map', 'floor.noop');
    const task = async (i: number) => {
      const id = `t${i}`;
      const seen = new Promise<void>((r) => waiters.set(`${job}.${id}`, r));
      await client.js.publish(subject, new TextEncoder().encode(id), { msgID: `${job}.${id}` });
      await seen;
    };
    for (let i = 0; i < 20; i++) await task(i); // warm-up
    let t = performance.now();
    for (let i = 20; i < 20 + o.n; i++) await task(i);
    const stepMs = (performance.now() - t) / o.n;
    t = performance.now();
    await Promise.all(Array.from({ length: o.batch }, (_, k) => task(100_000 + k)));
    const batchPerTaskMs = (performance.now() - t) / o.batch;
    stopped = true;
    watch.stop();
    await loop.catch(() => undefined);
    return { stepMs, batchPerTaskMs };
  } finally {
    await Promise.all([ncC.close(), ncW.close()]).catch(() => undefined);
  }
}

/**
 * Perf part (a): what the orchestration costs per task. A no-op op runs through a job script on
 * the cluster, one `ctx.run` after another (latency per task) and as one `ctx.map` fan-out
 * (amortised cost per task); in the same run, on the same server, a raw JetStream round trip
 * (publish with ack → pull → ack confirmed) one at a time, and a batch published then consumed.
 */
import { z } from 'zod';
import { AckPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../shared/bus/connect.ts';
import { defineOp } from '../shared/ops/op.ts';
import type { JobScript } from '../shared/jobs/types.ts';
import { startRole, type RoleHandle } from '../services/role.ts';
import { avg, openBus, perfEnv, quantile, runJob, say } from './perf-common.ts';

export const noopOp = defineOp({
  name: 'perf.noop',
  kind: 'map',
  version: 1,
  input: z.object({ i: z.number().int() }),
  output: z.object({ i: z.number().int() }),
  prompt: () => [{ role: 'user', content: 'nothing' }],
  extractive: (x: { i: number }) => ({ i: x.i }),
});

/** Registered as the "v1" pipeline of the bench's coordinator; params.question is JSON {mode, n}. */
const noopScript: JobScript = async (ctx) => {
  const { mode, n } = JSON.parse((ctx.spec.params as { question: string }).question) as { mode: 'run' | 'map'; n: number };
  let sum = 0;
  if (mode === 'run') for (let i = 0; i < n; i++) sum += (await ctx.run(noopOp, { i })).i;
  else sum = (await ctx.map(noopOp, Array.from({ length: n }, (_, i) => ({ i })))).reduce((a, o) => a + o.i, 0);
  return { sum };
};

export interface OverheadResult {
  raw: { rttMeanMs: number; rttP50Ms: number; rttP95Ms: number; batchPerMsgMs: number; n: number; batch: number };
  cluster: { runPerTaskMs: number; mapPerTaskMs: number; n: number; batch: number };
  /** ctx.run latency per task / raw round trip; ctx.map cost per task / raw batch cost per message. */
  ratios: { latency: number; amortised: number };
}

async function rawRoundTrips(natsUrl: string, n: number, batch: number): Promise<OverheadResult['raw']> {
  const nc = await connectNats({ NATS_URL: natsUrl } as never, { name: 'perf-raw', reconnect: false });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = 'PERFRAW';
  await jsm.streams.delete(stream).catch(() => undefined);
  await jsm.streams.add({ name: stream, subjects: ['perfraw.>'], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
  await jsm.consumers.add(stream, { durable_name: 'raw', ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000 });
  const consumer = await js.consumers.get(stream, 'raw');
  // About the size of a task envelope.
  const payload = new TextEncoder().encode(JSON.stringify({ v: 1, jobId: 'perf-raw', taskId: '0'.repeat(32), kind: 'map', op: 'perf.noop', engine: 'extractive', input: { i: 0 } }));
  const times: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t = performance.now();
    await js.publish('perfraw.x', payload);
    const m = await consumer.next({ expires: 5_000 });
    if (!m) throw new Error('raw round trip: the message did not arrive');
    await m.ackAck();
    if (i >= 20) times.push(performance.now() - t); // the first 20 warm up
  }
  const t = performance.now();
  await Promise.all(Array.from({ length: batch }, () => js.publish('perfraw.x', payload)));
  let got = 0;
  const iter = await consumer.consume({ max_messages: 1000 });
  for await (const m of iter) {
    m.ack();
    if (++got >= batch) break;
  }
  await nc.flush();
  const batchMs = performance.now() - t;
  await jsm.streams.delete(stream).catch(() => undefined);
  await nc.drain();
  return { rttMeanMs: avg(times), rttP50Ms: quantile(times, 0.5), rttP95Ms: quantile(times, 0.95), batchPerMsgMs: batchMs / batch, n, batch };
}

export async function measureOverhead(natsUrl: string, o: { n: number; batch: number }): Promise<OverheadResult> {
  say(`(a) raw JetStream: ${o.n} round trips one at a time, then ${o.batch} published and consumed`);
  const raw = await rawRoundTrips(natsUrl, o.n, o.batch);
  const env = perfEnv(natsUrl, 'perfovh', { MR_CONCURRENCY: '64' });
  const { nc, bus } = await openBus(env);
  const roles: RoleHandle[] = [];
  try {
    roles.push(await startRole('coordinator', { env, extraScripts: { v1: noopScript } }));
    roles.push(await startRole('mapper', { env, extraOps: [noopOp] }));
    const job = async (mode: 'run' | 'map', n: number, tag: string) => {
      const r = await runJob(bus, { jobId: `perf-${tag}-${Date.now().toString(36)}`, pipeline: 'v1', engine: 'extractive', params: { docKey: 'none', question: JSON.stringify({ mode, n }) } });
      return r.wallMs as number;
    };
    await job('run', 20, 'warm');
    say(`(a) cluster: ${o.n} no-op tasks by ctx.run one after another, then ${o.batch} by one ctx.map`);
    const runMs = await job('run', o.n, 'run');
    const mapMs = await job('map', o.batch, 'map');
    const cluster = { runPerTaskMs: runMs / o.n, mapPerTaskMs: mapMs / o.batch, n: o.n, batch: o.batch };
    return { raw, cluster, ratios: { latency: cluster.runPerTaskMs / raw.rttMeanMs, amortised: cluster.mapPerTaskMs / raw.batchPerMsgMs } };
  } finally {
    for (const r of roles.reverse()) await r.stop();
    await nc.drain().catch(() => undefined);
  }
}

/**
 * Perf part (a): what the orchestration costs per task. A no-op op runs through a job script on
 * the cluster, one `ctx.run` after another (latency per task) and as one `ctx.map` fan-out
 * (amortised cost per task); in the same run, on the same server, a raw JetStream round trip
 * (publish with ack → pull → ack confirmed) one at a time, and a batch published then consumed.
 */
import { z } from 'zod';
import { AckPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../shared/bus/connect.ts';
import { startNatsServer } from '../shared/bus/nats-server.ts';
import { defineOp } from '../shared/ops/op.ts';
import type { JobScript } from '../shared/jobs/types.ts';
import { startRole, type RoleHandle } from '../services/role.ts';
import type { Bus } from '../shared/bus/bus.ts';
import { taskId as makeTaskId } from '../shared/protocol/ids.ts';
import { measureFloor, type FloorResult } from './perf-floor.ts';
import { avg, openBus, perfEnv, quantile, runJob, say } from './perf-common.ts';

export const noopOp = defineOp({
  name: 'perf.noop',
  kind: 'map',
  version: 1,
  input: z.object({ i: z.number().int() }),
  // `at`: when the worker began the task (epoch ms), for the dispatch latency.
  output: z.object({ i: z.number().int(), at: z.number() }),
  prompt: () => [{ role: 'user', content: 'nothing' }],
  extractive: (x: { i: number }) => ({ i: x.i, at: now() }),
});

/** Registered as the "v1" pipeline of the bench's coordinator; params.question is JSON {mode, n}. */
const noopScript: JobScript = async (ctx) => {
  const { mode, n } = JSON.parse((ctx.spec.params as { question: string }).question) as { mode: 'run' | 'map'; n: number };
  let sum = 0;
  // For the chain: when the script asked for each step and when it had the step's output.
  const asked: number[] = [];
  const got: number[] = [];
  if (mode === 'run') {
    for (let i = 0; i < n; i++) {
      asked.push(now());
      sum += (await ctx.run(noopOp, { i })).i;
      got.push(now());
    }
  } else sum = (await ctx.map(noopOp, Array.from({ length: n }, (_, i) => ({ i })))).reduce((a, o) => a + o.i, 0);
  return { sum, asked, got };
};
/** Epoch milliseconds with a fraction. */
const now = () => performance.timeOrigin + performance.now();

/** Tasks a worker holds at once, in the cluster and in the hand-made protocol. */
const SLOTS = 64;

export interface OverheadResult {
  raw: { rttMeanMs: number; rttP50Ms: number; rttP95Ms: number; batchPerMsgMs: number; n: number; batch: number };
  cluster: { runPerTaskMs: number; mapPerTaskMs: number; n: number; batch: number };
  /**
   * Dependent-step dispatch over the ctx.run chain: from the moment task i's result was stored
   * (the KV entry's time, set by the server) to the moment a worker began task i + 1, which the
   * job script issued when it saw result i.
   */
  dispatch: { p50Ms: number; p99Ms: number; maxMs: number; n: number };
  /**
   * Where a step of the chain spends its time (medians, ms): from the script's ctx.run to the
   * worker beginning the op (lookup, publish, delivery, the worker's checks), from there to the
   * result being stored (the op, the result write), and from there to the script having the
   * output (the KV watch, delivery to the script). The KV entry times have millisecond precision.
   */
  steps: { toWorkerMs: number; toStoredMs: number; toScriptMs: number };
  /** The same bus operations as a cluster task, by hand (bench/perf-floor.ts). */
  floor: FloorResult;
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

/** Result stored → next task begun, over a chain of ctx.run calls (see OverheadResult.dispatch). */
async function dispatchLatency(bus: Bus, run: { jobId: string; asked: number[]; got: number[] }, n: number): Promise<Pick<OverheadResult, 'dispatch' | 'steps'>> {
  const { jobId } = run;
  const entries = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const e = await bus.results.get(bus.names.resultKey(jobId, makeTaskId(jobId, noopOp.name, { i })));
      const r = e ? await bus.decodeResult(e.value) : null;
      if (!e || !r || r.status !== 'ok') throw new Error(`dispatch latency: the result of step ${i} is missing`);
      return { storedAt: e.created.getTime(), begunAt: (r.output as { at: number }).at };
    }),
  );
  const gaps = entries.slice(1).map((e, i) => e.begunAt - entries[i].storedAt);
  const med = (f: (e: (typeof entries)[number], i: number) => number) => quantile(entries.map(f), 0.5);
  return {
    dispatch: { p50Ms: quantile(gaps, 0.5), p99Ms: quantile(gaps, 0.99), maxMs: Math.max(...gaps), n: gaps.length },
    steps: { toWorkerMs: med((e, i) => e.begunAt - run.asked[i]), toStoredMs: med((e) => e.storedAt - e.begunAt), toScriptMs: med((e, i) => run.got[i] - e.storedAt) },
  };
}

export async function measureOverhead(natsUrl: string, o: { n: number; batch: number }): Promise<OverheadResult> {
  say(`(a) raw JetStream: ${o.n} round trips one at a time, then ${o.batch} published and consumed`);
  const raw = await rawRoundTrips(natsUrl, o.n, o.batch);
  say(`(a) the protocol by hand: ${o.n} tasks one at a time, then ${o.batch} at once`);
  const floor = await measureFloor(natsUrl, { n: o.n, batch: o.batch, slots: SLOTS });
  const env = perfEnv(natsUrl, `perfovh${Date.now().toString(36)}`, { MR_CONCURRENCY: String(SLOTS) });
  const { nc, bus } = await openBus(env);
  const roles: RoleHandle[] = [];
  try {
    roles.push(await startRole('coordinator', { env, extraScripts: { v1: noopScript } }));
    roles.push(await startRole('mapper', { env, extraOps: [noopOp] }));
    const job = async (mode: 'run' | 'map', n: number, tag: string) => {
      const jobId = `perf-${tag}-${Date.now().toString(36)}`;
      const r = await runJob(bus, { jobId, pipeline: 'v1', engine: 'extractive', params: { docKey: 'none', question: JSON.stringify({ mode, n }) } });
      return { wallMs: r.wallMs as number, jobId, asked: (r.asked ?? []) as number[], got: (r.got ?? []) as number[] };
    };
    await job('run', 20, 'warm');
    say(`(a) cluster: ${o.n} no-op tasks by ctx.run one after another, then ${o.batch} by one ctx.map`);
    const run = await job('run', o.n, 'run');
    const map = await job('map', o.batch, 'map');
    const cluster = { runPerTaskMs: run.wallMs / o.n, mapPerTaskMs: map.wallMs / o.batch, n: o.n, batch: o.batch };
    const { dispatch, steps } = await dispatchLatency(bus, run, o.n);
    return { raw, floor, cluster, dispatch, steps, ratios: { latency: cluster.runPerTaskMs / raw.rttMeanMs, amortised: cluster.mapPerTaskMs / raw.batchPerMsgMs } };
  } finally {
    for (const r of roles.reverse()) await r.stop();
    await nc.drain().catch(() => undefined);
  }
}

if (process.argv[1] === import.meta.filename) {
  // A fresh private server unless NATS_URL names one: a server holding much earlier data answers
  // KV writes slower, which would blur the comparison.
  const own = process.env.NATS_URL ? null : await startNatsServer();
  const r = await measureOverhead(process.env.NATS_URL ?? own!.url, { n: Number(process.env.PERF_N ?? 300), batch: Number(process.env.PERF_BATCH ?? 2000) }).finally(() => own?.stop());
  const f = (x: number) => x.toFixed(2);
  process.stdout.write(
    `one at a time ${f(r.cluster.runPerTaskMs)} / raw ${f(r.raw.rttMeanMs)} ms = ${f(r.ratios.latency)}x; fanned out ${f(r.cluster.mapPerTaskMs)} / raw ${f(r.raw.batchPerMsgMs)} ms = ${f(r.ratios.amortised)}x; floor ${f(r.floor.stepMs)} / ${f(r.floor.batchPerTaskMs)} ms (cluster / floor ${f(r.cluster.runPerTaskMs / r.floor.stepMs)}x / ${f(r.cluster.mapPerTaskMs / r.floor.batchPerTaskMs)}x); dispatch p50 ${f(r.dispatch.p50Ms)} ms, p99 ${f(r.dispatch.p99Ms)} ms, max ${f(r.dispatch.maxMs)} ms; a step: to the worker ${f(r.steps.toWorkerMs)}, to stored ${f(r.steps.toStoredMs)}, to the script ${f(r.steps.toScriptMs)} ms\n`,
  );
  process.exit(0);
}

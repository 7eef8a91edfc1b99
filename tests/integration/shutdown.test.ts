/**
 * Graceful shutdown of the real service processes (`services/<role>/main.ts`): SIGTERM to a
 * mapper with model calls in flight lets those tasks finish (their results are written by the
 * stopping process, no call is cut off), takes no new task, and exits 0; SIGTERM to the
 * coordinator hands its job back, and another coordinator finishes it without redoing tasks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Env } from '../../shared/config/env.ts';
import { submitJob, waitForJob } from '../../shared/client/client.ts';
import { startFleetSim, type FleetSim } from '../../shared/sim/fleet.ts';
import { decode } from '../../shared/protocol/codec.ts';
import { TaskResultSchema, type TaskResult } from '../../shared/protocol/schemas.ts';
import type { Bus } from '../../shared/bus/bus.ts';
import { ROOT, testCluster, testEnv, until, type TestCluster } from '../helpers/cluster.ts';

let cluster: TestCluster | undefined;
let sim: FleetSim | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await cluster?.close();
  await sim?.close();
  cluster = undefined;
  sim = undefined;
});

interface LogLine {
  time: number;
  msg: string;
  op?: string;
  taskId?: string;
  worker?: string;
}

/** A production service process; its JSON log lines are collected. */
function service(role: 'mapper' | 'coordinator', env: Env): { child: ChildProcess; lines: LogLine[]; exited: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services', role, 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])), LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const lines: LogLine[] = [];
  let buf = '';
  child.stderr!.on('data', (b: Buffer) => {
    buf += b.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        // a plain line such as "mapper: SIGTERM received, draining in-flight work…"
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, lines, exited };
}

/** Eight short abstracts, written for this test. */
function input() {
  const texts = [
    'Grouped query attention shares key and value heads across query heads to shrink the cache.',
    'Sliding window attention keeps only recent tokens in the cache and bounds memory for long inputs.',
    'Four-bit cache quantization with per-channel scales keeps accuracy on long-context benchmarks.',
    'Token eviction guided by attention scores drops cache entries that later steps rarely read.',
    'Paged cache memory avoids fragmentation and lets a server batch many requests of different length.',
    'Offloading cold cache blocks to host memory frees accelerator memory for larger batches.',
    'Prefix sharing reuses the cache of a common prompt across requests in a serving system.',
    'Low-rank projection of keys compresses the cache while keeping attention outputs close.',
  ];
  return { title: 'Memory of the Attention Cache', papers: texts.map((t, i) => ({ title: `Cache study ${i + 1}`, abstract: t, txt: t })) };
}

async function results(bus: Bus, jobId: string): Promise<TaskResult[]> {
  const out: TaskResult[] = [];
  for await (const k of await bus.results.keys(`${jobId}.>`)) {
    const e = await bus.results.get(k);
    const d = e ? decode(TaskResultSchema, e.value) : null;
    if (d?.ok) out.push(d.value);
  }
  return out;
}

async function setUp(jobId: string) {
  sim = await startFleetSim({ model: 'shutdown-sim', slots: 16, baseLatencyMs: 1500, prefillTokensPerSec: 0, decodeTokensPerSec: 0, seed: 2 });
  const env = testEnv({ OPENAI_BASE_URL: sim.url, LLM_MODEL: 'shutdown-sim', MR_CONCURRENCY: '4', MR_ACK_WAIT_MS: '4000' });
  cluster = await testCluster(env);
  await cluster.bus.putBlob(`inputs/${jobId}.json`, JSON.stringify(input()));
  return env;
}

const submit = (bus: Bus, jobId: string) =>
  submitJob(bus, { jobId, pipeline: 'v2', engine: 'openai', seed: 3, params: { inputKey: `inputs/${jobId}.json`, blocks: 0, groupSize: 3 } });

describe('graceful shutdown (SIGTERM)', () => {
  it('a mapper finishes its in-flight tasks, takes no new one, and exits 0; the job completes with no task lost', async () => {
    const env = await setUp('sd-worker');
    const c = cluster!;
    for (const r of ['coordinator', 'convolver', 'reducer'] as const) await c.start(r);
    const mapper = service('mapper', env);
    await until('the mapper to announce itself', async () => (await c.bus.liveRoles()).get('mapper'), 30_000);
    await submit(c.bus, 'sd-worker');
    const started = (l: LogLine) => l.msg === 'task started' && l.op === 'v2.digest';
    await until('two digest tasks in flight in the mapper', () => mapper.lines.filter(started).length >= 2, 60_000);
    const termAt = Date.now();
    mapper.child.kill('SIGTERM');
    const exit = await mapper.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const inFlight = mapper.lines.filter((l) => l.msg === 'task started' && l.time < termAt);
    expect(mapper.lines.filter((l) => l.msg === 'task started' && l.time > termAt + 50)).toEqual([]); // took nothing new
    await c.start('mapper'); // someone has to do the rest
    const st = await waitForJob(c.bus, 'sd-worker');
    expect(st.error ?? '').toBe('');
    expect(st.state).toBe('succeeded');
    const rs = await results(c.bus, 'sd-worker');
    const byId = new Map(rs.map((r) => [r.taskId, r]));
    const workerId = inFlight[0].worker;
    for (const t of inFlight) {
      // finished by the stopping process itself, on its first delivery
      expect(byId.get(t.taskId!)?.worker).toBe(workerId);
      expect(byId.get(t.taskId!)?.attempts).toBe(1);
    }
    expect(rs.every((r) => r.status === 'ok' && r.attempts === 1)).toBe(true);
    expect(sim!.stats().clientAborts).toBe(0); // no model call was cut off
  }, 120_000);

  it('a coordinator hands its running job back and exits 0; another one finishes it without redoing tasks', async () => {
    const env = await setUp('sd-coord');
    const c = cluster!;
    for (const r of ['mapper', 'convolver', 'reducer'] as const) await c.start(r);
    const coord = service('coordinator', env);
    await until('the coordinator to announce itself', async () => (await c.bus.liveRoles()).get('coordinator'), 30_000);
    await submit(c.bus, 'sd-coord');
    await until('some digests to be stored', async () => (await results(c.bus, 'sd-coord')).filter((r) => r.op === 'v2.digest').length >= 2, 60_000);
    coord.child.kill('SIGTERM');
    expect(await coord.exited).toEqual({ code: 0, signal: null });
    expect(coord.lines.some((l) => /handing the job back/.test(l.msg))).toBe(true);
    await c.start('coordinator');
    const st = await waitForJob(c.bus, 'sd-coord');
    expect(st.error ?? '').toBe('');
    expect(st.state).toBe('succeeded');
    expect(st.attempts).toBe(2);
    const rs = await results(c.bus, 'sd-coord');
    expect(rs.every((r) => r.status === 'ok' && r.attempts === 1)).toBe(true);
  }, 120_000);
});

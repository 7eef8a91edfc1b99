/**
 * Perf part (b): V2 makespan on the fleet simulator against its lower bound, a compact form of
 * bench/fleet.ts (which is a script with no reusable export). Every simulated call takes the
 * same time L (no token-rate terms, no jitter). The same job runs twice (same seed and
 * simulator seed, so the same calls; fresh prefixes, so no shared response cache):
 *   1. calibration with unlimited slots and an endpoint cap that starts wide open: the longest
 *      chain of calls that must follow one another (the critical path, in calls) is read off the
 *      stored task results, from their finish times and durations;
 *   2. the measured run on R replicas × S slots.
 * Lower bound = max(critical path × L, calls × L / slots); the ratio is makespan / bound. V2's
 * stages are barriers, so a tighter bound (bench/fleet.ts's) is also given:
 * Σ over stages of max(the stage's time with unlimited slots, ⌈stage calls / slots⌉ × L).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRole, type RoleHandle } from '../services/role.ts';
import { startFleetSim, type FleetSim } from '../shared/sim/fleet.ts';
import { decode } from '../shared/protocol/codec.ts';
import { TaskResultSchema } from '../shared/protocol/schemas.ts';
import type { Bus } from '../shared/bus/bus.ts';
import type { JobEvent } from '../shared/protocol/schemas.ts';
import { openBus, perfEnv, runJob, say } from './perf-common.ts';

export interface MakespanResult {
  papers: number;
  replicas: number;
  slots: number;
  latencyMs: number;
  calls: number;
  criticalPathCalls: number;
  calibrationMs: number;
  makespanMs: number;
  lowerBoundMs: number;
  ratio: number;
  stageBoundMs: number;
  stageRatio: number;
  slotUtilisation: number;
}

/** Longest chain of intervals that follow one another (end ≤ next start), weighted by calls. */
export function criticalPath(tasks: readonly { start: number; end: number; calls: number }[]): number {
  const byStart = [...tasks].sort((a, b) => a.start - b.start);
  const best: number[] = [];
  let top = 0;
  byStart.forEach((t, j) => {
    let before = 0;
    for (let i = 0; i < j; i++) if (byStart[i].end <= t.start && best[i] > before) before = best[i];
    best[j] = before + t.calls;
    top = Math.max(top, best[j]);
  });
  return top;
}

async function taskIntervals(bus: Bus, jobId: string): Promise<{ start: number; end: number; calls: number }[]> {
  const out: { start: number; end: number; calls: number }[] = [];
  const keys: string[] = [];
  for await (const k of await bus.results.keys(`${jobId}.>`)) keys.push(k);
  for (const k of keys) {
    const e = await bus.results.get(k);
    if (!e || e.operation !== 'PUT') continue;
    const d = decode(TaskResultSchema, e.value);
    if (!d.ok) continue;
    const end = e.created.getTime();
    out.push({ start: end - d.value.durationMs, end, calls: d.value.usage.calls });
  }
  return out;
}

interface Stage {
  ms: number;
  calls: number;
}

async function runOn(natsUrl: string, sims: FleetSim[], input: unknown, label: string, cap: { max: number; initial: number }): Promise<{ wallMs: number; calls: number; jobId: string; bus: Bus; stages: Map<string, Stage>; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'llmxmr-perf-'));
  const routing = join(dir, 'models.json');
  writeFileSync(routing, JSON.stringify({ defaults: { model: 'perf-sim', timeoutMs: 120_000 }, models: { 'perf-sim': { endpoints: sims.map((s) => ({ url: s.url, maxInFlight: cap.max, initialInFlight: cap.initial })) } } }));
  const env = perfEnv(natsUrl, `perfms${label}${Date.now().toString(36)}`, { LLM_ROUTING_FILE: routing, MR_CONCURRENCY: '128' });
  const { nc, bus } = await openBus(env);
  const roles: RoleHandle[] = [];
  const close = async () => {
    for (const r of roles.reverse()) await r.stop().catch(() => undefined);
    await nc.drain().catch(() => undefined);
  };
  try {
    for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(r, { env }));
    const jobId = `perf-ms-${label}`;
    await bus.putBlob(`inputs/${jobId}.json`, JSON.stringify(input));
    for (const s of sims) s.resetStats();
    // Calls per stage: the simulators' success count when the stage starts and when it ends.
    const served = () => sims.reduce((n, s) => n + s.stats().successes, 0);
    const open = new Map<string, { t: number; calls: number }>();
    const stages = new Map<string, Stage>();
    const onEvent = (e: JobEvent) => {
      if (!e.stage) return;
      if (e.type === 'stage.started') open.set(e.stage, { t: Date.parse(e.ts), calls: served() });
      const o = open.get(e.stage);
      if (e.type === 'stage.finished' && o) stages.set(e.stage, { ms: Date.parse(e.ts) - o.t, calls: served() - o.calls });
    };
    const r = await runJob(bus, { jobId, pipeline: 'v2', engine: 'openai', seed: 1, params: { inputKey: `inputs/${jobId}.json`, blocks: 0, groupSize: 3 } }, 600_000, onEvent);
    return { wallMs: r.wallMs, calls: r.usage?.calls ?? 0, jobId, bus, stages, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function measureMakespan(natsUrl: string, input: { title: string; papers: unknown[] }, o: { replicas: number; slots: number; latencyMs: number }): Promise<MakespanResult> {
  const L = o.latencyMs;
  const simOpts = { model: 'perf-sim', baseLatencyMs: L, prefillTokensPerSec: 0, decodeTokensPerSec: 0, jitter: 0, seed: 7, queueLimit: 100_000 };
  const sims: FleetSim[] = [];
  try {
    const unlimited = await startFleetSim({ ...simOpts, replicas: 1, slots: 100_000 });
    sims.push(unlimited);
    say(`(b) calibration: V2 on ${input.papers.length} papers with unlimited slots, every call ${L} ms`);
    const cal = await runOn(natsUrl, [unlimited], input, 'cal', { max: 100_000, initial: 100_000 });
    const depth = criticalPath(await taskIntervals(cal.bus, cal.jobId));
    await cal.close();
    const fleet: FleetSim[] = [];
    for (let r = 0; r < o.replicas; r++) fleet.push(await startFleetSim({ ...simOpts, replicas: 1, slots: o.slots }));
    sims.push(...fleet);
    say(`(b) measured run on ${o.replicas} × ${o.slots} slots (critical path ${depth} calls)`);
    const run = await runOn(natsUrl, fleet, input, 'run', { max: 2 * o.slots, initial: o.slots });
    await run.close();
    const slots = o.replicas * o.slots;
    const stats = fleet.map((s) => s.stats());
    const busy = stats.reduce((a, s) => a + s.busySlotMs, 0);
    const elapsed = Math.max(...stats.map((s) => s.elapsedMs));
    const lowerBoundMs = Math.max(depth * L, (run.calls * L) / slots);
    let stageBoundMs = 0;
    for (const [name, st] of run.stages) stageBoundMs += Math.max(cal.stages.get(name)?.ms ?? 0, Math.ceil(st.calls / slots) * L);
    if (cal.calls !== run.calls) say(`(b) note: calibration made ${cal.calls} calls, the measured run ${run.calls}`);
    return {
      papers: input.papers.length, replicas: o.replicas, slots: o.slots, latencyMs: L, calls: run.calls, criticalPathCalls: depth,
      calibrationMs: cal.wallMs, makespanMs: run.wallMs, lowerBoundMs, ratio: run.wallMs / lowerBoundMs,
      stageBoundMs, stageRatio: run.wallMs / stageBoundMs, slotUtilisation: busy / (slots * elapsed),
    };
  } finally {
    for (const s of sims) await s.close();
  }
}

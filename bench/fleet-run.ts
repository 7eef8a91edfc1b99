/**
 * The measurement behind `npm run bench:fleet` and part (b) of `npm run bench:perf`: a V2 survey
 * job on simulated vLLM replicas, through the whole cluster (coordinator, mapper, convolver and
 * reducer, each its own process as in a deployment, over NATS) and the openai engine with its
 * endpoint pool. The simulated fleet runs in this process, so its slots can be sampled every
 * 5 ms.
 *
 * Every call takes the same simulated time L (no token-rate terms, no jitter), so the bounds are
 * exact multiples of L. The same job (same seed, cache off, hence the same calls) runs on fresh
 * service processes that first run a small warm-up job at 20 ms per call:
 *   1. calibration, one endpoint with unlimited slots: the job's critical path in rounds of
 *      calls, and the widest stage;
 *   2. a wide fleet, R replicas with enough slots together for the widest stage: the job is
 *      bound by its critical path, and the issue's bound max(critical path × L, calls × L /
 *      slots) is attainable;
 *   3. a narrow fleet, R × S slots (fewer than the widest stage): the map phases saturate the
 *      fleet. V2's stages are barriers (every digest needs the merged outline, every section
 *      needs all digests), so no schedule beats Σ over stages of max(stage's own critical path,
 *      ⌈stage calls / slots⌉) × L here; the issue's bound (which counts a 127-call stage as one
 *      round) is reported beside it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startFleetSim, type FleetSim } from '../shared/sim/fleet.ts';
import type { Role } from '../services/role.ts';
import type { JobEvent } from '../shared/protocol/schemas.ts';
import { envStrings, openBus, perfEnv, runJob, spawnService, stopChild, waitLive } from './perf-common.ts';
import { stageReport, type Sample, type StageRow, type StageTimes } from './fleet-stats.ts';

const ROLES: Role[] = ['coordinator', 'mapper', 'convolver', 'reducer'];
const WARMUP_LATENCY_MS = 20;
const WARMUP_PAPERS = 12;

export type FleetShape = 'wide' | 'narrow';

export interface FleetOptions {
  natsUrl: string;
  /** A V2 input: title and papers. */
  input: { title: string; papers: unknown[] };
  replicas: number;
  /** Slots per replica of the narrow fleet. */
  slots: number;
  latencyMs: number;
  seed: number;
  /** Mapper processes; each has its own endpoint pool, as pods of a deployment do. */
  mappers: number;
  /** Tasks the mappers together hold per slot of the fleet. */
  prefetch: number;
  fleets: FleetShape[];
  say?(line: string): void;
}

export interface FleetReport {
  papers: number;
  replicas: number;
  latencyMs: number;
  criticalPathRounds: number;
  widestStage: number;
  calibrationMs: number;
  calibrationCalls: number;
  runs: Summary[];
}

/** One measured fleet. */
export interface Summary {
  fleet: string;
  slots: number;
  makespanMs: number;
  criticalPathMs: number;
  workMs: number;
  boundMs: number;
  ratio: number;
  stageBoundMs: number;
  stageRatio: number;
  mapPhases: string[];
  mapUtilisation: number | null;
  slotUtilisation: number;
  calls: number;
  tasks: number;
  promptTokens: number;
  completionTokens: number;
  rejected429: number;
  stages: StageRow[];
}

interface Run {
  label: string;
  slots: number;
  wallMs: number;
  usage: { calls: number; promptTokens: number; completionTokens: number; tasks: number };
  stages: Map<string, StageTimes>;
  samples: Sample[];
  busySlotMs: number;
  elapsedMs: number;
  rejected429: number;
}

/** One job on `sims` (one endpoint each; `initial` calls in flight at first, at most twice that) through fresh service processes. */
async function runOn(o: FleetOptions, label: string, sims: FleetSim[], initial: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'llmxmr-bench-fleet-'));
  const routing = join(dir, 'models.yaml');
  const endpoints = sims.map((s) => `      - url: ${s.url}\n        maxInFlight: ${2 * initial}\n        initialInFlight: ${initial}\n`).join('');
  writeFileSync(routing, `defaults:\n  model: sim-bench\n  timeoutMs: ${Math.max(60_000, 20 * o.latencyMs)}\nmodels:\n  sim-bench:\n    metrics: true\n    endpoints:\n${endpoints}`);
  const slots = sims.reduce((t, s) => t + s.stats().totalSlots, 0);
  // The tasks each mapper holds (MR_CONCURRENCY): its share of the slots, times --prefetch.
  const concurrency = Math.min(1024, Math.ceil((o.prefetch * slots) / o.mappers));
  const env = perfEnv(o.natsUrl, `bf${randomBytes(4).toString('hex')}`, { LLM_ROUTING_FILE: routing, OPENAI_BASE_URL: '', LLM_MODEL: '', MR_CONCURRENCY: String(concurrency) });
  const { nc, bus } = await openBus(env);
  const kids = [...ROLES, ...Array(o.mappers - 1).fill('mapper')].map((r) => spawnService(r, envStrings(env, { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })));
  const total = () => sims.reduce((t, x) => {
    const st = x.stats();
    return { running: t.running + st.running, started: t.started + st.requests, busy: t.busy + st.busySlotMs, elapsed: Math.max(t.elapsed, st.elapsedMs), rejected: t.rejected + st.rejected429 };
  }, { running: 0, started: 0, busy: 0, elapsed: 0, rejected: 0 });
  const samples: Sample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    for (const r of ROLES) await waitLive(bus, r, r === 'mapper' ? o.mappers : 1);
    const job = async (name: string, data: unknown, onEvent?: (e: JobEvent) => void) => {
      const jobId = `fleet-${name}-${randomBytes(3).toString('hex')}`;
      await bus.putBlob(`inputs/${jobId}.json`, JSON.stringify(data));
      return runJob(bus, { jobId, pipeline: 'v2', engine: 'openai', seed: o.seed, cache: 'off', params: { inputKey: `inputs/${jobId}.json`, blocks: 0, groupSize: 3 } }, 600_000, onEvent);
    };
    // The warm-up loads every code path and opens connections; its calls need not take L.
    for (const x of sims) x.setBaseLatency(WARMUP_LATENCY_MS);
    await job('warmup', { ...o.input, papers: o.input.papers.slice(0, WARMUP_PAPERS) });
    for (const x of sims) x.setBaseLatency(o.latencyMs), x.resetStats();
    sampler = setInterval(() => {
      const t = total();
      samples.push({ t: Date.now(), running: t.running, started: t.started, busy: t.busy });
    }, 5);
    const stages = new Map<string, StageTimes>();
    const rec = (await job(label, o.input, (e) => {
      if (e.type === 'stage.started' && e.stage) stages.set(e.stage, { started: Date.parse(e.ts) });
      if (e.type === 'stage.finished' && e.stage && stages.has(e.stage)) stages.get(e.stage)!.finished = Date.parse(e.ts);
    })) as { wallMs: number; usage: Run['usage'] };
    const t = total();
    return { label, slots, wallMs: rec.wallMs, usage: rec.usage, stages, samples, busySlotMs: t.busy, elapsedMs: t.elapsed, rejected429: t.rejected };
  } finally {
    clearInterval(sampler);
    await Promise.all(kids.map(stopChild));
    await nc.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const fleetOf = (latencyMs: number, replicas: number, slots: number) =>
  Promise.all(Array.from({ length: replicas }, () => startFleetSim({ model: 'sim-bench', baseLatencyMs: latencyMs, prefillTokensPerSec: 0, decodeTokensPerSec: 0, jitter: 0, seed: 7, queueLimit: 100_000, replicas: 1, slots })));

export async function measureFleet(o: FleetOptions): Promise<FleetReport> {
  const L = o.latencyMs;
  const say = o.say ?? (() => undefined);
  const sims: FleetSim[] = [];
  try {
    say(`1/${o.fleets.length + 1} calibration: unlimited slots…`);
    const unlimited = await fleetOf(L, 1, 100_000);
    sims.push(...unlimited);
    const cal = await runOn(o, 'calibration', unlimited, 50_000);
    const calRows = stageReport(cal.samples, cal.stages, cal.slots, L);
    const stageRounds = new Map(calRows.map((r) => [r.stage, r.rounds]));
    const rounds = calRows.reduce((t, r) => t + r.rounds, 0);
    const widest = Math.max(...calRows.map((r) => r.calls));
    say(`  critical path: ${rounds} rounds of calls; widest stage: ${widest} calls`);

    const runs: Run[] = [];
    for (const [i, f] of o.fleets.entries()) {
      const per = f === 'wide' ? Math.ceil(widest / o.replicas) : o.slots;
      say(`${i + 2}/${o.fleets.length + 1} ${f} fleet: ${o.replicas} × ${per} slots…`);
      const fs = await fleetOf(L, o.replicas, per);
      sims.push(...fs);
      runs.push(await runOn(o, f, fs, per));
    }
    if (runs.some((r) => r.usage.calls !== cal.usage.calls)) say(`note: the runs made ${[cal, ...runs].map((r) => r.usage.calls).join(', ')} calls`);
    return {
      papers: o.input.papers.length, replicas: o.replicas, latencyMs: L, criticalPathRounds: rounds, widestStage: widest,
      calibrationMs: cal.wallMs, calibrationCalls: cal.usage.calls, runs: runs.map((r) => summarise(r, rounds, stageRounds, L)),
    };
  } finally {
    for (const s of sims) await s.close();
  }
}

function summarise(run: Run, rounds: number, stageRounds: Map<string, number>, L: number): Summary {
  const calls = run.usage.calls;
  const cpMs = rounds * L;
  const workMs = (calls * L) / run.slots;
  const bound = Math.max(cpMs, workMs);
  const rows = stageReport(run.samples, run.stages, run.slots, L, stageRounds);
  const stageBound = rows.reduce((t, r) => t + r.boundMs, 0);
  // Map phases: stages with more calls than the fleet has slots (they can saturate it).
  const map = rows.filter((r) => r.calls > run.slots);
  const mapBusy = map.reduce((t, r) => t + r.activeBusyMs, 0);
  const mapSlotMs = map.reduce((t, r) => t + r.activeMs * run.slots, 0);
  return {
    fleet: run.label, slots: run.slots, makespanMs: run.wallMs, criticalPathMs: cpMs, workMs: Math.round(workMs),
    boundMs: Math.round(bound), ratio: Number((run.wallMs / bound).toFixed(3)),
    stageBoundMs: Math.round(stageBound), stageRatio: Number((run.wallMs / stageBound).toFixed(3)),
    mapPhases: map.map((r) => r.stage), mapUtilisation: mapSlotMs ? Number((mapBusy / mapSlotMs).toFixed(4)) : null,
    slotUtilisation: Number((run.busySlotMs / (run.slots * run.elapsedMs)).toFixed(4)),
    calls, tasks: run.usage.tasks, promptTokens: run.usage.promptTokens, completionTokens: run.usage.completionTokens, rejected429: run.rejected429,
    stages: rows,
  };
}

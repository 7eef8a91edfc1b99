/**
 * `npm run bench:fleet`: a V2 survey job on the simulated vLLM fleet, through the whole cluster
 * (coordinator, mapper, convolver and reducer, each its own process as in a deployment, over
 * NATS) and the openai engine with its endpoint pool. The simulated fleet runs in this process,
 * so its slots can be sampled every 5 ms. Prints makespan against lower bounds, slot use, calls
 * and tokens.
 *
 * Every call takes the same simulated time L (no token-rate terms, no jitter), so the bounds are
 * exact multiples of L. Three runs of the same job (same seed, cache off, hence the same calls),
 * each on fresh service processes that first run a small warm-up job:
 *   1. calibration, one endpoint with unlimited slots: the job's critical path in rounds of
 *      calls, and the widest stage;
 *   2. a wide fleet, R replicas with enough slots together for the widest stage: the job is
 *      bound by its critical path, and the issue's bound max(critical path × L, calls × L /
 *      slots) is attainable; the goal is a ratio ≤ 1.05;
 *   3. a narrow fleet, R × S slots (fewer than the widest stage): the map phases saturate the
 *      fleet; the goal is ≥ 95% slot use in them. V2's stages are barriers (every digest needs
 *      the merged outline, every section needs all digests), so no schedule beats
 *      Σ over stages of max(stage's own critical path, ⌈stage calls / slots⌉) × L here, and the
 *      issue's bound (which counts a 127-call stage as one round) is reported beside it.
 *
 *   npm run bench:fleet -- [--replicas 4] [--slots 8] [--latency-ms 5000] [--mappers 1] [--prefetch 2|1]
 *                          [--fleets wide,narrow] [--topic kv_cache.jsonl] [--seed 1] [--nats URL] [--json]
 *
 * BENCH_NODE_ARGS adds Node options to the service processes (e.g. "--cpu-prof").
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startNatsServer, type NatsServerHandle } from '../shared/bus/nats-server.ts';
import { startFleetSim, type FleetSim } from '../shared/sim/fleet.ts';
import type { Role } from '../services/role.ts';
import type { JobEvent } from '../shared/protocol/schemas.ts';
import { DATA, envStrings, openBus, perfEnv, runJob, spawnService, stopChild, waitLive } from './perf-common.ts';
import { stageReport, type Sample, type StageRow, type StageTimes } from './fleet-stats.ts';

const { values: a } = parseArgs({
  options: {
    replicas: { type: 'string', default: '4' },
    slots: { type: 'string', default: '8' },
    /** A digest call reads up to ≈12k tokens of paper and writes a few hundred: seconds on a shared GPU. */
    'latency-ms': { type: 'string', default: '5000' },
    topic: { type: 'string', default: 'kv_cache.jsonl' },
    seed: { type: 'string', default: '1' },
    /** Mapper processes; each has its own endpoint pool, as pods of a deployment do. */
    mappers: { type: 'string', default: '1' },
    /**
     * Tasks the mappers together hold per slot of the fleet. 2 with one mapper: a prompt is ready
     * whenever a slot frees. 1 with several: a task held by one mapper beyond what its pool can
     * start waits there while another mapper may have room (measured with two mappers, 4 × 8
     * slots, L = 5 s: digest slot use 90.6–98.0 % holding 2 per slot, 97.1–97.9 % holding 1).
     */
    prefetch: { type: 'string' },
    /** Which fleets to measure after the calibration: wide, narrow or both. */
    fleets: { type: 'string', default: 'wide,narrow' },
    nats: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const R = Number(a.replicas);
const S = Number(a.slots);
const L = Number(a['latency-ms']);
const MAPPERS = Number(a.mappers);
const PREFETCH = Number(a.prefetch ?? (MAPPERS > 1 ? 1 : 2));
const FLEETS = a.fleets!.split(',').map((x) => x.trim());
if (!FLEETS.length || FLEETS.some((f) => f !== 'wide' && f !== 'narrow')) throw new Error(`--fleets takes wide, narrow or wide,narrow; got "${a.fleets}"`);
if (![R, S, L, MAPPERS, PREFETCH].every((x) => Number.isInteger(x) && x > 0)) throw new Error('--replicas, --slots, --latency-ms, --mappers and --prefetch take positive whole numbers');
const say = (s: string) => (a.json ? undefined : process.stderr.write(`${s}\n`));
const input = JSON.parse(readFileSync(join(DATA, 'v2', a.topic!), 'utf8').split('\n')[0]);
/** The warm-up job: the same topic cut to a few papers, run before each measured job. */
const warmup = { ...input, papers: input.papers.slice(0, 12) };
const ROLES: Role[] = ['coordinator', 'mapper', 'convolver', 'reducer'];
const WARMUP_LATENCY_MS = 20;

/** What is printed of one measured fleet. */
interface Summary {
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
async function runOn(label: string, sims: FleetSim[], initial: number, natsUrl: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'llmxmr-bench-fleet-'));
  const routing = join(dir, 'models.yaml');
  const endpoints = sims.map((s) => `      - url: ${s.url}\n        maxInFlight: ${2 * initial}\n        initialInFlight: ${initial}\n`).join('');
  writeFileSync(routing, `defaults:\n  model: sim-bench\n  timeoutMs: ${Math.max(60_000, 20 * L)}\nmodels:\n  sim-bench:\n    metrics: true\n    endpoints:\n${endpoints}`);
  const slots = sims.reduce((t, s) => t + s.stats().totalSlots, 0);
  // The tasks each mapper holds (MR_CONCURRENCY): its share of the slots, times --prefetch.
  const concurrency = Math.min(1024, Math.ceil((PREFETCH * slots) / MAPPERS));
  const env = perfEnv(natsUrl, `bf${randomBytes(4).toString('hex')}`, { LLM_ROUTING_FILE: routing, OPENAI_BASE_URL: '', LLM_MODEL: '', MR_CONCURRENCY: String(concurrency) });
  const { nc, bus } = await openBus(env);
  const kids = [...ROLES, ...Array(MAPPERS - 1).fill('mapper')].map((r) => spawnService(r, envStrings(env, { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })));
  const total = () => sims.reduce((t, x) => {
    const st = x.stats();
    return { running: t.running + st.running, started: t.started + st.requests, busy: t.busy + st.busySlotMs, elapsed: Math.max(t.elapsed, st.elapsedMs), rejected: t.rejected + st.rejected429 };
  }, { running: 0, started: 0, busy: 0, elapsed: 0, rejected: 0 });
  const samples: Sample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    for (const r of ROLES) await waitLive(bus, r, r === 'mapper' ? MAPPERS : 1);
    const job = async (name: string, data: unknown, onEvent?: (e: JobEvent) => void) => {
      const jobId = `fleet-${name}-${randomBytes(3).toString('hex')}`;
      await bus.putBlob(`inputs/${jobId}.json`, JSON.stringify(data));
      return runJob(bus, { jobId, pipeline: 'v2', engine: 'openai', seed: Number(a.seed), cache: 'off', params: { inputKey: `inputs/${jobId}.json`, blocks: 0, groupSize: 3 } }, 600_000, onEvent);
    };
    // The warm-up loads every code path and opens connections; its calls need not take L.
    for (const x of sims) x.setBaseLatency(WARMUP_LATENCY_MS);
    await job('warmup', warmup);
    for (const x of sims) x.setBaseLatency(L), x.resetStats();
    sampler = setInterval(() => {
      const t = total();
      samples.push({ t: Date.now(), running: t.running, started: t.started, busy: t.busy });
    }, 5);
    const stages = new Map<string, StageTimes>();
    const rec = (await job(label, input, (e) => {
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

const simOpts = { model: 'sim-bench', baseLatencyMs: L, prefillTokensPerSec: 0, decodeTokensPerSec: 0, jitter: 0, seed: 7, queueLimit: 100_000 };
const fleet = async (replicas: number, slots: number) => Promise.all(Array.from({ length: replicas }, () => startFleetSim({ ...simOpts, replicas: 1, slots })));
let nats: NatsServerHandle | undefined;
const sims: FleetSim[] = [];
try {
  const natsUrl = a.nats ?? (nats = await startNatsServer()).url;
  say(`topic ${a.topic}: ${input.papers.length} papers; every call ${L} ms; services in their own processes (${MAPPERS} mapper${MAPPERS > 1 ? 's' : ''}, ${PREFETCH} task${PREFETCH > 1 ? 's' : ''} held per slot); NATS ${a.nats ? natsUrl : 'private server'}`);

  say(`1/${FLEETS.length + 1} calibration: unlimited slots…`);
  const unlimited = await fleet(1, 100_000);
  sims.push(...unlimited);
  const cal = await runOn('calibration', unlimited, 50_000, natsUrl);
  const calRows = stageReport(cal.samples, cal.stages, cal.slots, L);
  const stageRounds = new Map(calRows.map((r) => [r.stage, r.rounds]));
  const rounds = calRows.reduce((t, r) => t + r.rounds, 0);
  const widest = Math.max(...calRows.map((r) => r.calls));
  say(`  critical path: ${rounds} rounds of calls; widest stage: ${widest} calls`);

  const runs: Run[] = [];
  for (const [i, f] of FLEETS.entries()) {
    const per = f === 'wide' ? Math.ceil(widest / R) : S;
    say(`${i + 2}/${FLEETS.length + 1} ${f} fleet: ${R} × ${per} slots…`);
    const fs = await fleet(R, per);
    sims.push(...fs);
    runs.push(await runOn(f, fs, per, natsUrl));
  }

  const summarise = (run: Run): Summary => {
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
  };
  const out = { topic: a.topic, papers: input.papers.length, replicas: R, latencyMs: L, criticalPathRounds: rounds, widestStage: widest, calibrationMs: cal.wallMs, runs: runs.map(summarise) };
  if (runs.some((r) => r.usage.calls !== cal.usage.calls)) say(`note: the runs made ${[cal, ...runs].map((r) => r.usage.calls).join(', ')} calls`);
  if (a.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else process.stdout.write(`${render(out)}\n`);
} finally {
  for (const s of sims) await s.close();
  await nats?.stop();
}
process.exit(0);

function render(out: { criticalPathRounds: number; calibrationMs: number; runs: Summary[] }): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
  const lines = [`critical path: ${out.criticalPathRounds} rounds × ${L} ms (the calibration job took ${s(out.calibrationMs)} with unlimited slots)`];
  for (const r of out.runs) {
    const met = (ok: boolean) => (ok ? 'goal met' : 'goal missed');
    lines.push(
      '',
      `${r.fleet} fleet: ${R} × ${r.slots / R} = ${r.slots} slots`,
      `  makespan                        ${s(r.makespanMs)}`,
      `  bound max(CP × L, calls × L / slots) = max(${s(r.criticalPathMs)}, ${s(r.workMs)}) = ${s(r.boundMs)}   ratio ${r.ratio}${r.fleet === 'wide' ? ` (≤ 1.05: ${met(r.ratio <= 1.05)})` : ''}`,
      `  stage-aware bound               ${s(r.stageBoundMs)}   ratio ${r.stageRatio}`,
      ...(r.stageBoundMs > r.boundMs * 1.05
        ? [`  (no schedule that keeps V2's barriers beats the stage-aware bound, so ${(r.stageBoundMs / r.boundMs).toFixed(2)} is the least ratio any system reaches here)`]
        : []),
      `  slot use in map phases          ${pct(r.mapUtilisation)}${r.mapPhases.length ? ` (${r.mapPhases.join(', ')}; ≥ 95%: ${met((r.mapUtilisation ?? 0) >= 0.95)})` : ' (no stage has more calls than the fleet has slots)'}`,
      `  slot use over the whole run     ${pct(r.slotUtilisation)}`,
      `  calls, tokens                   ${r.calls} calls, ${r.tasks} tasks, ${r.promptTokens} prompt + ${r.completionTokens} completion tokens, ${r.rejected429} × 429`,
      '  stage        calls  time      bound     slot use  first call / starts spread / after last call',
      ...r.stages.map((x) => `  ${String(x.stage).padEnd(12)} ${String(x.calls).padStart(5)}  ${s(x.ms).padEnd(9)} ${s(x.boundMs).padEnd(9)} ${(x.calls ? pct(x.activeUtilisation) : '-').padEnd(9)} ${x.calls ? `${x.leadMs} / ${x.spreadMs} / ${x.tailMs} ms` : ''}`),
    );
  }
  return lines.join('\n');
}

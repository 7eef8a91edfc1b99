/**
 * `npm run bench:fleet`: a V2 survey job on the simulated vLLM fleet, through the whole
 * cluster (coordinator, mapper, convolver, reducer over NATS) and the openai engine with its
 * endpoint pool. Prints the makespan against lower bounds, slot utilisation, calls and tokens.
 *
 * Every call takes the same simulated time L (no token-rate terms, no jitter), so bounds are
 * exact multiples of L. Two runs of the same job (same seed, cache off, same simulator seed,
 * hence the same calls):
 *   1. calibration on a fleet with unlimited slots: its makespan is the critical path × L
 *      (plus the cluster's own overhead along that path), per stage as well;
 *   2. the measured run on R replicas × S slots, one endpoint per replica (like per-pod routing).
 * Bounds: the issue's max(critical path × L, calls × L / slots), and a tighter stage-aware one,
 * Σ over stages of max(stage time with unlimited slots, ⌈stage calls / slots⌉ × L), since
 * V2's stages are barriers.
 *
 *   npm run bench:fleet -- [--replicas 4] [--slots 8] [--latency-ms 1000] [--topic kv_cache.jsonl]
 *                          [--seed 1] [--worker-concurrency 2×slots] [--nats URL] [--json]
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { loadEnv } from '../shared/config/env.ts';
import { startNatsServer, type NatsServerHandle } from '../shared/bus/nats-server.ts';
import { startRole, type RoleHandle } from '../services/role.ts';
import { fetchResult, submitJob, waitForJob } from '../shared/client/client.ts';
import { startFleetSim, type FleetSim } from '../shared/sim/fleet.ts';
import type { JobEvent } from '../shared/protocol/schemas.ts';

const { values: a } = parseArgs({
  options: {
    replicas: { type: 'string', default: '4' },
    slots: { type: 'string', default: '8' },
    'latency-ms': { type: 'string', default: '1000' },
    topic: { type: 'string', default: 'kv_cache.jsonl' },
    seed: { type: 'string', default: '1' },
    /** Tasks each worker holds at once; above the slot count so prompts are ready when a slot frees. */
    'worker-concurrency': { type: 'string' },
    nats: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const R = Number(a.replicas);
const S = Number(a.slots);
const L = Number(a['latency-ms']);
const workerConcurrency = Number(a['worker-concurrency'] ?? 2 * R * S);
const say = (s: string) => (a.json ? undefined : process.stderr.write(`${s}\n`));

interface StageTimes {
  started: number;
  finished?: number;
}
/** The fleet, sampled every 20 ms: running calls, calls started so far, busy slot-time so far. */
interface Sample {
  t: number;
  running: number;
  started: number;
  busy: number;
}
interface Run {
  wallMs: number;
  usage: { calls: number; promptTokens: number; completionTokens: number; tasks: number };
  stages: Map<string, StageTimes>;
  samples: Sample[];
  busySlotMs: number;
  elapsedMs: number;
  rejected429: number;
}

/** Calls, busy slot-time and the window in which the fleet was working, within [from, to]. */
function windowOf(samples: Sample[], from: number, to: number) {
  const inside = samples.filter((x) => x.t >= from && x.t <= to);
  if (inside.length < 2) return { calls: 0, busyMs: 0, ms: to - from, activeMs: 0, activeBusyMs: 0 };
  const first = inside[0];
  const last = inside[inside.length - 1];
  const firstOn = inside.find((x) => x.running > 0);
  const lastOn = [...inside].reverse().find((x) => x.running > 0);
  const active = firstOn && lastOn ? { ms: lastOn.t - firstOn.t, busy: lastOn.busy - firstOn.busy } : { ms: 0, busy: 0 };
  return { calls: last.started - first.started, busyMs: last.busy - first.busy, ms: last.t - first.t, activeMs: active.ms, activeBusyMs: active.busy };
}

/**
 * Dependent rounds of model calls in a run with unlimited slots and constant latency L: the
 * fleet's busy periods (some call running), each worth round(duration / L) rounds.
 */
function roundsOf(samples: Sample[]): number {
  let rounds = 0;
  let from: number | undefined;
  for (const x of samples) {
    if (x.running > 0 && from === undefined) from = x.t;
    if (x.running === 0 && from !== undefined) (rounds += Math.max(1, Math.round((x.t - from) / L))), (from = undefined);
  }
  return rounds;
}

const root = resolve(import.meta.dirname, '..');
const topicFile = join(root, '..', 'shared', 'data', 'v2', a.topic!);
const input = JSON.parse(readFileSync(topicFile, 'utf8').split('\n')[0]);

/** One job on `sims` (one endpoint each) through a fresh cluster prefix. */
async function runOn(sims: FleetSim[], natsUrl: string, label: string, maxInFlight: number, concurrency: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'llmxmr-bench-fleet-'));
  const routing = join(dir, 'models.yaml');
  const endpoints = sims.map((s) => `      - url: ${s.url}\n        maxInFlight: ${maxInFlight}\n        initialInFlight: ${Math.min(maxInFlight, label === 'calibration' ? maxInFlight : S)}\n`).join('');
  writeFileSync(routing, `defaults:\n  model: sim-bench\n  timeoutMs: ${Math.max(60_000, 20 * L)}\nmodels:\n  sim-bench:\n    metrics: true\n    endpoints:\n${endpoints}`);
  const env = loadEnv({
    ...process.env,
    NATS_URL: natsUrl,
    MR_PREFIX: `bf${randomBytes(4).toString('hex')}`,
    LLM_ROUTING_FILE: routing,
    OPENAI_BASE_URL: '',
    LLM_MODEL: '',
    MR_CONCURRENCY: String(concurrency),
    MR_ACK_WAIT_MS: '60000',
    METRICS_PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const roles: RoleHandle[] = [];
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(r, { env }));
  const bus = roles[0].bus;
  const total = () => sims.reduce((t, x) => {
    const st = x.stats();
    return { running: t.running + st.running, started: t.started + st.requests, busy: t.busy + st.busySlotMs, elapsed: Math.max(t.elapsed, st.elapsedMs), rejected: t.rejected + st.rejected429 };
  }, { running: 0, started: 0, busy: 0, elapsed: 0, rejected: 0 });
  const samples: Sample[] = [];
  const sampler = setInterval(() => {
    const t = total();
    samples.push({ t: Date.now(), running: t.running, started: t.started, busy: t.busy });
  }, 20);
  try {
    const jobId = `fleet-${label}-${randomBytes(3).toString('hex')}`;
    await bus.putBlob(`inputs/${jobId}.json`, JSON.stringify(input));
    for (const x of sims) x.resetStats();
    const stages = new Map<string, StageTimes>();
    const onEvent = (e: JobEvent) => {
      if (e.type === 'stage.started' && e.stage) stages.set(e.stage, { started: Date.parse(e.ts) });
      if (e.type === 'stage.finished' && e.stage && stages.has(e.stage)) {
        stages.get(e.stage)!.finished = Date.parse(e.ts);
        say(`  [${label}] ${e.stage} done (${total().started} calls so far)`);
      }
    };
    await submitJob(bus, { jobId, pipeline: 'v2', engine: 'openai', seed: Number(a.seed), cache: 'off', params: { inputKey: `inputs/${jobId}.json`, blocks: 0, groupSize: 3 } });
    const st = await waitForJob(bus, jobId, { onEvent, noCoordinatorMs: 60_000 });
    if (st.state !== 'succeeded') throw new Error(`${label} run ${st.state}: ${st.error}`);
    const rec = (await fetchResult(bus, st)) as { wallMs: number; usage: Run['usage'] };
    const t = total();
    return { wallMs: rec.wallMs, usage: rec.usage, stages, samples, busySlotMs: t.busy, elapsedMs: t.elapsed, rejected429: t.rejected };
  } finally {
    clearInterval(sampler);
    for (const r of roles.reverse()) await r.stop().catch(() => undefined);
  }
}

const simOpts = { model: 'sim-bench', baseLatencyMs: L, prefillTokensPerSec: 0, decodeTokensPerSec: 0, jitter: 0, seed: 7, queueLimit: 100_000 };
let nats: NatsServerHandle | undefined;
const sims: FleetSim[] = [];
try {
  const natsUrl = a.nats ?? (nats = await startNatsServer()).url;
  say(`topic ${a.topic}: ${input.papers.length} papers; fleet ${R} replicas × ${S} slots; every call ${L} ms; ${workerConcurrency} tasks per worker; NATS ${a.nats ? natsUrl : 'private server'}`);

  const unlimited = await startFleetSim({ ...simOpts, replicas: 1, slots: 100_000 });
  sims.push(unlimited);
  say('calibration: the same job with unlimited slots…');
  const cal = await runOn([unlimited], natsUrl, 'calibration', 100_000, 1024);

  for (let r = 0; r < R; r++) sims.push(await startFleetSim({ ...simOpts, replicas: 1, slots: S }));
  say(`measured run on ${R} × ${S} slots…`);
  const run = await runOn(sims.slice(1), natsUrl, 'fleet', 2 * S, workerConcurrency);

  const slots = R * S;
  const calls = run.usage.calls;
  const cpMs = cal.wallMs;
  const rounds = roundsOf(cal.samples);
  const lbIssue = Math.max(cpMs, (calls * L) / slots);
  const lbStrict = Math.max(rounds * L, (calls * L) / slots);
  let lbStages = 0;
  const stageRows: Record<string, unknown>[] = [];
  for (const [name, m] of run.stages) {
    const c = cal.stages.get(name);
    const infMs = c?.finished !== undefined ? c.finished - c.started : 0;
    const w = windowOf(run.samples, m.started, m.finished ?? m.started);
    const bound = Math.max(infMs, Math.ceil(w.calls / slots) * L);
    lbStages += bound;
    stageRows.push({
      stage: name, calls: w.calls, ms: w.ms, unlimitedMs: infMs, boundMs: bound,
      slotUtilisation: Number((w.ms > 0 ? w.busyMs / (slots * w.ms) : 0).toFixed(4)),
      activeMs: w.activeMs, activeUtilisation: Number((w.activeMs > 0 ? w.activeBusyMs / (slots * w.activeMs) : 0).toFixed(4)),
    });
  }
  const out = {
    topic: a.topic, papers: input.papers.length, replicas: R, slotsPerReplica: S, latencyMs: L,
    makespanMs: run.wallMs, criticalPathMs: cpMs, criticalPathRounds: rounds,
    lowerBoundMs: Math.round(lbIssue), ratio: Number((run.wallMs / lbIssue).toFixed(3)),
    strictLowerBoundMs: Math.round(lbStrict), strictRatio: Number((run.wallMs / lbStrict).toFixed(3)),
    stageBoundMs: Math.round(lbStages), stageRatio: Number((run.wallMs / lbStages).toFixed(3)),
    slotUtilisation: Number((run.busySlotMs / (slots * run.elapsedMs)).toFixed(4)),
    calls, tasks: run.usage.tasks, promptTokens: run.usage.promptTokens, completionTokens: run.usage.completionTokens,
    rejected429: run.rejected429, calibrationCalls: cal.usage.calls, stages: stageRows,
  };
  if (cal.usage.calls !== calls) say(`note: the calibration run made ${cal.usage.calls} calls, the measured run ${calls}`);
  if (a.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const lines = [
      '',
      `makespan                      ${s(out.makespanMs)}`,
      `critical path × latency       ${s(cpMs)}  (the same job with unlimited slots, cluster overhead included; ${rounds} rounds of calls = ${s(rounds * L)})`,
      `calls × latency / slots       ${s((calls * L) / slots)}  (${calls} calls, ${slots} slots)`,
      `lower bound (issue)           ${s(lbIssue)}   ratio ${out.ratio}`,
      `  with the bare rounds        ${s(lbStrict)}   ratio ${out.strictRatio}`,
      `stage-aware lower bound       ${s(lbStages)}   ratio ${out.stageRatio}`,
      `slot utilisation (whole run)  ${(out.slotUtilisation * 100).toFixed(1)}%`,
      `tokens                        ${out.promptTokens} prompt + ${out.completionTokens} completion; ${out.tasks} tasks; ${out.rejected429} × 429`,
      '',
      'stage        calls  time      unlimited  bound     slot use (stage)  slot use (while calling)',
      ...stageRows.map((r: any) => `${String(r.stage).padEnd(12)} ${String(r.calls).padStart(5)}  ${s(r.ms).padEnd(9)} ${s(r.unlimitedMs).padEnd(10)} ${s(r.boundMs).padEnd(9)} ${(r.calls ? `${(r.slotUtilisation * 100).toFixed(1)}%` : '-').padEnd(17)} ${r.calls ? `${(r.activeUtilisation * 100).toFixed(1)}% over ${s(r.activeMs)}` : '-'}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
} finally {
  for (const s of sims) await s.close();
  await nats?.stop();
}
process.exit(0);

/**
 * Perf part (g): V2 against its chain of dependent calls on a flat-latency simulator
 * (`llmxmr sim --latency-ms 500 --prefill-tps 0 --decode-tps 0`), the first 67 papers of
 * long_context_llm.jsonl, `--blocks 1`, through an in-process cluster, the model cache off.
 *   - the chain: the job on unlimited slots at L and at 2L. Every dependent call adds L to the
 *     makespan, the orchestration does not change with L, so chain = (M(2L) - M(L)) / L calls;
 *   - the measured run: 32 slots at L. Ratio = makespan / (chain × L), and the orchestration per
 *     dependent step = (M∞(L) - chain × L) / chain;
 *   - the chain on 32 slots, the same way (32 slots at 2L): a stage wider than the slots needs
 *     several rounds of calls there, so this chain is the fair yardstick for the measured run.
 * The simulator answers with the same seed each time; the runs' call counts are printed, and
 * the chain is only meaningful when they agree.
 * Run alone: node --import tsx bench/perf-v2.ts (a private nats-server unless NATS_URL is set).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRole, type RoleHandle } from '../services/role.ts';
import { startFleetSim } from '../shared/sim/fleet.ts';
import { startNatsServer } from '../shared/bus/nats-server.ts';
import { DATA, dropPrefix, openBus, perfEnv, runJob, say } from './perf-common.ts';

export interface V2ChainRun {
  latencyMs: number;
  slots: number | 'unlimited';
  makespanMs: number;
  calls: number;
  slotUtilisation: number;
  /** Time with no call at the model (orchestration on the critical path), and where. */
  deadMs: number;
  deadByStage: Record<string, { gaps: number; ms: number }>;
}
export interface V2ChainResult {
  papers: number;
  blocks: number;
  latencyMs: number;
  slots: number;
  runs: V2ChainRun[];
  /** Dependent calls on the critical path (rounded). */
  chain: number;
  /** Makespan on `slots` / (chain × L). */
  ratio: number;
  /**
   * The chain on `slots` (the same difference at 2L and L on that many slots): a stage wider
   * than the slots takes several rounds of calls, which the unlimited chain does not count.
   */
  chainAtSlots: number;
  /** Makespan on `slots` / (chainAtSlots × L). */
  ratioAtSlots: number;
  /** (M∞(L) - chain × L) / chain: orchestration per dependent step, ms. */
  perStepMs: number;
  /** max(chain × L, calls × L / slots). */
  boundMs: number;
}

async function one(natsUrl: string, input: unknown, o: { latencyMs: number; slots: number | 'unlimited'; blocks: number }): Promise<V2ChainRun> {
  const slots = o.slots === 'unlimited' ? 100_000 : o.slots;
  const sim = await startFleetSim({ replicas: 1, slots, baseLatencyMs: o.latencyMs, prefillTokensPerSec: 0, decodeTokensPerSec: 0, jitter: 0, seed: 1, queueLimit: 100_000 });
  const env = perfEnv(natsUrl, `pv2${Date.now().toString(36)}`, { OPENAI_BASE_URL: sim.url, LLM_MODEL: 'sim-model', MR_CONCURRENCY: '256', LOG_LEVEL: 'error' });
  const { nc, bus } = await openBus(env);
  const roles: RoleHandle[] = [];
  try {
    for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(r, { env, nc }));
    const jobId = `pv2-${Date.now().toString(36)}`;
    await bus.putBlob(`inputs/${jobId}.json`, JSON.stringify(input));
    sim.resetStats();
    // Dead time: stretches with no call at the model, sampled every 2 ms, named by the stage
    // that was running (the job's stage events).
    let stage = 'start';
    let idleSince: number | null = null;
    const gaps: { stage: string; ms: number }[] = [];
    const sampler = setInterval(() => {
      const now = performance.now();
      if (sim.stats().running === 0) idleSince ??= now;
      else if (idleSince !== null) {
        gaps.push({ stage, ms: now - idleSince });
        idleSince = null;
      }
    }, 2);
    const t0 = Date.now();
    await runJob(bus, { jobId, pipeline: 'v2', engine: 'openai', seed: 1, cache: 'off', params: { inputKey: `inputs/${jobId}.json`, blocks: o.blocks } }, 900_000, (e) => {
      if (e.type === 'stage.started' && e.stage) stage = e.stage;
    }).finally(() => clearInterval(sampler));
    const makespanMs = Date.now() - t0;
    if (idleSince !== null) gaps.push({ stage: 'end', ms: performance.now() - idleSince });
    const s = sim.stats();
    const byStage = new Map<string, { n: number; ms: number }>();
    for (const g of gaps) {
      const x = byStage.get(g.stage) ?? { n: 0, ms: 0 };
      byStage.set(g.stage, { n: x.n + 1, ms: x.ms + g.ms });
    }
    const deadMs = gaps.reduce((t, g) => t + g.ms, 0);
    return { latencyMs: o.latencyMs, slots: o.slots, makespanMs, calls: s.requests, slotUtilisation: s.slotUtilisation, deadMs, deadByStage: Object.fromEntries([...byStage].map(([k, v]) => [k, { gaps: v.n, ms: Math.round(v.ms) }])) };
  } finally {
    await Promise.all(roles.map((r) => r.stop()));
    await dropPrefix(bus);
    await nc.drain().catch(() => undefined);
    await sim.close();
  }
}

export async function measureV2Chain(natsUrl: string, o: { papers: number; blocks: number; latencyMs: number; slots: number }): Promise<V2ChainResult> {
  const rec = JSON.parse(readFileSync(join(DATA, 'v2', 'long_context_llm.jsonl'), 'utf8').split('\n').find((l) => l.trim())!) as { papers: unknown[] };
  const input = { ...rec, papers: rec.papers.slice(0, o.papers) };
  const L = o.latencyMs;
  const runs: V2ChainRun[] = [];
  const show = (r: V2ChainRun) => say(`(g) V2 ${o.papers} papers, blocks ${o.blocks}, L ${r.latencyMs} ms, ${r.slots} slots: ${(r.makespanMs / 1000).toFixed(1)} s, ${r.calls} calls, no call at the model for ${(r.deadMs / 1000).toFixed(1)} s: ${JSON.stringify(r.deadByStage)}`);
  // A warm-up job first: the first job of a process loads code and opens connections.
  await one(natsUrl, { ...input, papers: input.papers.slice(0, 8) }, { latencyMs: 20, slots: 'unlimited', blocks: 0 });
  const plan = process.env.PERF_V2_ONLY_UNLIMITED
    ? ([[L, 'unlimited']] as const)
    : ([[L, 'unlimited'], [2 * L, 'unlimited'], [L, o.slots], [2 * L, o.slots]] as const);
  for (const [latencyMs, slots] of plan) {
    runs.push(await one(natsUrl, input, { latencyMs, slots, blocks: o.blocks }));
    show(runs.at(-1)!);
  }
  const [fast, slow = fast, measured = fast, measuredSlow = measured] = runs;
  const chain = Math.round((slow.makespanMs - fast.makespanMs) / L);
  const chainAtSlots = Math.round((measuredSlow.makespanMs - measured.makespanMs) / L);
  const boundMs = Math.max(chain * L, (measured.calls * L) / o.slots);
  return {
    papers: o.papers, blocks: o.blocks, latencyMs: L, slots: o.slots, runs, chain, chainAtSlots,
    ratio: measured.makespanMs / (chain * L), ratioAtSlots: measured.makespanMs / (chainAtSlots * L),
    perStepMs: (fast.makespanMs - chain * L) / chain, boundMs,
  };
}

if (process.argv[1] === import.meta.filename) {
  const own = process.env.NATS_URL ? null : await startNatsServer();
  const r = await measureV2Chain(process.env.NATS_URL ?? own!.url, { papers: 67, blocks: Number(process.env.PERF_BLOCKS ?? 1), latencyMs: Number(process.env.PERF_V2_L ?? 500), slots: 32 }).finally(() => own?.stop());
  process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
  process.exit(0);
}

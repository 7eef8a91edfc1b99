/**
 * Perf part (f): V1 on the fleet simulator (`llmxmr sim --latency-ms 500 --decode-tps 100`),
 * ~3000-token chunks of Austen's novels, `sum` profile, through an in-process cluster.
 *   - makespan / lower bound and slot use at 8 and 32 slots, with and without the pipelined
 *     collapse. Lower bound = max(chain, busy slot time / slots): the chain is the makespan of
 *     the same job on unlimited slots (it includes our orchestration, so the bound is a little
 *     generous to us), the busy slot time is what the simulator served in the measured run.
 *   - heavy-tailed latency (a share of calls 10× slower) with and without backup tasks:
 *     makespan cut and extra calls.
 * Every job runs with the model cache off, so every call reaches the simulator.
 * Run alone: node --import tsx bench/perf-v1.ts (NATS_URL, PERF_V1_NOVELS, PERF_V1_SLOTS).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRole, type RoleHandle } from '../services/role.ts';
import { startFleetSim, type FleetSim } from '../shared/sim/fleet.ts';
import { DATA, dropPrefix, openBus, perfEnv, runJob, say } from './perf-common.ts';

export interface V1Run {
  novel: string;
  slots: number;
  pipelined: boolean;
  tailRate: number;
  backups: boolean;
  makespanMs: number;
  calls: number;
  busySlotMs: number;
  slotUtilisation: number;
  clientAborts: number;
  backupsSent: number;
  backupsWon: number;
  chunks: number;
  collapseRounds: number;
  pipelinedGroups: number;
}
export interface V1PerfResult {
  runs: V1Run[];
  chains: Record<string, number>;
  rows: { novel: string; slots: number; pipelined: number; barrier: number; boundMs: number; ratioPipelined: number; ratioBarrier: number; usePipelined: number }[];
  tails: { novel: string; slots: number; tailRate: number; offMs: number; onMs: number; cut: number; extraCalls: number; sent: number; won: number }[];
}

const SIM = { baseLatencyMs: 500, decodeTokensPerSec: 100, seed: 11 };
/** A window that leaves ~3000 tokens of chunk beside the sum prompt and its reply. */
const WINDOW = 4900;

async function cluster(natsUrl: string, simUrl: string) {
  const env = perfEnv(natsUrl, `pv1${Date.now().toString(36)}`, { OPENAI_BASE_URL: simUrl, LLM_MODEL: 'sim-model', MR_CONCURRENCY: '256', LOG_LEVEL: 'error' });
  const { nc, bus } = await openBus(env);
  const roles: RoleHandle[] = [];
  for (const r of ['coordinator', 'mapper', 'reducer'] as const) roles.push(await startRole(r, { env, nc }));
  return {
    bus,
    async close() {
      await Promise.all(roles.map((r) => r.stop()));
      await dropPrefix(bus);
      await nc.drain().catch(() => undefined);
    },
  };
}

async function one(natsUrl: string, novel: string, doc: string, o: { slots: number; pipelined: boolean; tailRate: number; backups: boolean; seed?: number }): Promise<V1Run> {
  const sim: FleetSim = await startFleetSim({ ...SIM, seed: o.seed ?? SIM.seed, replicas: 1, slots: o.slots, tailRate: o.tailRate, tailFactor: 10 });
  const c = await cluster(natsUrl, sim.url);
  process.env.MR_BACKUP_TASKS = o.backups ? 'on' : 'off'; // read by the in-process coordinator as each job starts
  try {
    const jobId = `pv1-${Date.now().toString(36)}`;
    await c.bus.putBlob(`docs/${jobId}`, doc);
    sim.resetStats();
    const t0 = Date.now();
    const r = await runJob(c.bus, { jobId, pipeline: 'v1', engine: 'openai', cache: 'off', params: { docKey: `docs/${jobId}`, question: 'Summarise the novel.', profile: 'sum', window: WINDOW, pipelineCollapse: o.pipelined } });
    const makespanMs = Date.now() - t0;
    const s = sim.stats();
    return {
      novel, ...o, makespanMs, calls: s.requests, busySlotMs: s.busySlotMs, slotUtilisation: s.slotUtilisation, clientAborts: s.clientAborts,
      backupsSent: r.usage?.backups?.sent ?? 0, backupsWon: r.usage?.backups?.won ?? 0,
      chunks: r.stats.chunks, collapseRounds: r.stats.collapseRounds, pipelinedGroups: r.stats.pipelinedGroups ?? 0,
    };
  } finally {
    delete process.env.MR_BACKUP_TASKS;
    await c.close();
    await sim.close();
  }
}

export async function measureV1(natsUrl: string, o: { novels: string[]; slots: number[]; tailRate: number; tailSlots: number; tailSeeds: number[]; deadline: number }): Promise<V1PerfResult> {
  const runs: V1Run[] = [];
  const chains: Record<string, number> = {};
  const rows: V1PerfResult['rows'] = [];
  const tails: V1PerfResult['tails'] = [];
  for (const novel of o.novels) {
    const doc = readFileSync(join(DATA, 'text', novel), 'utf8');
    const chain = await one(natsUrl, novel, doc, { slots: 100_000, pipelined: true, tailRate: 0, backups: false });
    chains[novel] = chain.makespanMs;
    say(`(f) ${novel}: ${chain.chunks} chunks, chain on unlimited slots ${(chain.makespanMs / 1000).toFixed(1)} s, ${chain.calls} calls, ${chain.collapseRounds} collapse round(s)`);
    for (const slots of o.slots) {
      if (Date.now() > o.deadline) break;
      const piped = await one(natsUrl, novel, doc, { slots, pipelined: true, tailRate: 0, backups: false });
      const barrier = await one(natsUrl, novel, doc, { slots, pipelined: false, tailRate: 0, backups: false });
      runs.push(piped, barrier);
      const boundMs = Math.max(chain.makespanMs, piped.busySlotMs / slots);
      rows.push({ novel, slots, pipelined: piped.makespanMs, barrier: barrier.makespanMs, boundMs, ratioPipelined: piped.makespanMs / boundMs, ratioBarrier: barrier.makespanMs / boundMs, usePipelined: piped.slotUtilisation });
      say(`(f) ${novel} ${slots} slots: pipelined ${(piped.makespanMs / 1000).toFixed(1)} s (${piped.pipelinedGroups} groups early), barrier ${(barrier.makespanMs / 1000).toFixed(1)} s, bound ${(boundMs / 1000).toFixed(1)} s`);
    }
    // Which calls fall in the tail is drawn by the simulator's seed: several seeds, summed.
    if (o.tailRate > 0 && Date.now() < o.deadline) {
      const slots = o.tailSlots;
      let offMs = 0, onMs = 0, offCalls = 0, onCalls = 0, sent = 0, won = 0;
      for (const seed of o.tailSeeds) {
        if (Date.now() > o.deadline) break;
        const off = await one(natsUrl, novel, doc, { slots, pipelined: true, tailRate: o.tailRate, backups: false, seed });
        const on = await one(natsUrl, novel, doc, { slots, pipelined: true, tailRate: o.tailRate, backups: true, seed });
        runs.push(off, on);
        offMs += off.makespanMs, onMs += on.makespanMs, offCalls += off.calls, onCalls += on.calls, sent += on.backupsSent, won += on.backupsWon;
        say(`(f) ${novel} heavy tail (${o.tailRate * 100}% of calls 10× slower, seed ${seed}), ${slots} slots: ${(off.makespanMs / 1000).toFixed(1)} s without backups, ${(on.makespanMs / 1000).toFixed(1)} s with (${on.backupsSent} sent, ${on.backupsWon} won, ${on.calls} calls against ${off.calls})`);
      }
      if (offMs > 0) tails.push({ novel, slots, tailRate: o.tailRate, offMs, onMs, cut: 1 - onMs / offMs, extraCalls: onCalls / offCalls - 1, sent, won });
    }
  }
  return { runs, chains, rows, tails };
}

if (process.argv[1] === import.meta.filename) {
  const r = await measureV1(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', {
    novels: (process.env.PERF_V1_NOVELS ?? 'austen_persuasion.txt,austen_emma.txt').split(','),
    slots: (process.env.PERF_V1_SLOTS ?? '8,32').split(',').filter(Boolean).map(Number),
    tailRate: Number(process.env.PERF_V1_TAIL ?? 0.05),
    tailSlots: Number(process.env.PERF_V1_TAIL_SLOTS ?? 32),
    tailSeeds: (process.env.PERF_V1_TAIL_SEEDS ?? '11,12,13').split(',').map(Number),
    deadline: Date.now() + Number(process.env.PERF_V1_BUDGET_S ?? 900) * 1000,
  });
  process.stdout.write(`${JSON.stringify({ rows: r.rows, tails: r.tails, chains: r.chains }, null, 1)}\n`);
  process.exit(0);
}

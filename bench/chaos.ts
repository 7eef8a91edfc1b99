/**
 * `npm run chaos`: the same V2 survey twice on a private nats-server (file storage, loopback),
 * first fault-free, then while worker processes are SIGKILLed and restarted every few seconds,
 * the coordinator is killed mid-run and replaced, nats-server is restarted on the same store,
 * and the model simulator fails 20% of calls. Checks that the job completes, that its Markdown
 * equals the fault-free run's byte for byte, and that every task result was written exactly
 * once; prints kills survived, redeliveries, extra model calls and the time overhead.
 * Exit code 1 when a check fails. Knobs: CHAOS_PAPERS (90), CHAOS_BLOCKS (1), CHAOS_SEED (7),
 * CHAOS_BUDGET_S (360), CHAOS_LOG_LEVEL (warn). The simulator's replies are words drawn from the
 * prompt, so some paper counts yield an outline the V2 script refuses (80 does): the reference
 * run then fails with that reason. Injected model faults are 5xx, hangs and slow replies; garbled
 * replies are left out because the repair round changes the prompt, hence the simulated reply.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle } from '../shared/bus/nats-server.ts';
import { startFleetSim, type FleetSim, type FleetSimOptions } from '../shared/sim/fleet.ts';
import { submitJob, fetchResult } from '../shared/client/client.ts';
import { createRng } from '../shared/algo/rng.ts';
import { auditResults, followJob, Fleet, openBus, patiently, resetClock, resultCounts, ROOT, say, sleep, type Audit } from './chaos-cluster.ts';

const num = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const PAPERS = num('CHAOS_PAPERS', 90);
const BLOCKS = num('CHAOS_BLOCKS', 1);
const SEED = num('CHAOS_SEED', 7);
const BUDGET_MS = num('CHAOS_BUDGET_S', 360) * 1000;
const MAX_DELIVER = 10;
const ACK_WAIT_MS = 3_000;
const TOPOLOGY = { coordinator: 1, mapper: 2, convolver: 1, reducer: 1 } as const;
const SIM: FleetSimOptions = { model: 'chaos-sim', replicas: 2, slots: 8, baseLatencyMs: 250, prefillTokensPerSec: 100_000, decodeTokensPerSec: 2_000, seed: 5, hangMs: 30_000 };
const FAULTS: FleetSimOptions = { faultRate: 0.2, faults: { http5xx: 1, timeout: 1, slow: 1, malformed: 0 } };

interface RunOutcome {
  jobId: string;
  markdown: string;
  /** The JSON result without what legitimately differs between runs (job id, timings, usage). */
  record: string;
  ms: number;
  audit: Audit;
  jobAttempts: number;
  /** Redeliveries of the job that reached the coordinator still running it (held, not rerun). */
  jobHeld: number;
  sim: ReturnType<FleetSim['stats']>;
  unexpectedExits: string[];
}

interface Chaos {
  workerKills: number;
  coordinatorKills: number;
  natsRestarts: number;
}

const started = Date.now();
const logDir = mkdtempSync(join(tmpdir(), 'llmxmr-chaos-'));
const fleets: Fleet[] = [];
let nats: NatsServerHandle;

function loadInput(): Record<string, unknown> {
  const file = join(ROOT, '..', 'shared', 'data', 'v2', 'kv_cache.jsonl');
  const raw = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]) as { title: string; papers: unknown[] };
  return { ...raw, papers: raw.papers.slice(0, PAPERS) };
}

async function runOnce(kind: 'reference' | 'chaos', input: Record<string, unknown>, sim: FleetSim, refTasks: number, chaos?: Chaos): Promise<RunOutcome> {
  const prefix = kind === 'reference' ? 'chaosref' : 'chaosrun';
  const jobId = `${kind}-${Date.now().toString(36)}`;
  const env = {
    NATS_URL: nats.url, MR_PREFIX: prefix, OPENAI_BASE_URL: sim.url, LLM_MODEL: SIM.model!, LLM_TIMEOUT_MS: '2500', LLM_MAX_RETRIES: '2',
    MR_CONCURRENCY: '4', MR_MAX_DELIVER: String(MAX_DELIVER), MR_ACK_WAIT_MS: String(ACK_WAIT_MS), METRICS_PORT: '0', LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
  };
  const fleet = new Fleet(env, logDir, prefix, { coordinator: { LOG_LEVEL: 'info' } });
  fleets.push(fleet);
  const { nc, bus } = await openBus(nats.url, prefix, MAX_DELIVER, ACK_WAIT_MS);
  for (const [role, n] of Object.entries(TOPOLOGY)) for (let i = 0; i < n; i++) fleet.start(role as keyof typeof TOPOLOGY);
  await patiently('services to announce themselves', async () => {
    const live = await bus.liveRoles();
    for (const [role, n] of Object.entries(TOPOLOGY)) if ((live.get(role) ?? 0) < n) throw new Error(`${role} not up`);
  });
  await bus.putBlob(`inputs/${jobId}.json`, JSON.stringify(input));
  say(`${kind}: job ${jobId} submitted (${PAPERS} papers, blocks ${BLOCKS}, seed ${SEED})`);
  const t0 = Date.now();
  await submitJob(bus, { jobId, pipeline: 'v2', engine: 'openai', seed: SEED, params: { inputKey: `inputs/${jobId}.json`, blocks: BLOCKS, groupSize: 3 } });

  const rng = createRng(SEED);
  let nextWorkerKill = Date.now() + 2_000;
  let natsDown = false;
  let coordinatorKilledAt = 0;
  const tick = async () => {
    if (!chaos || natsDown) return;
    const done = (await resultCounts(bus).catch(() => null))?.stored ?? 0;
    if (Date.now() >= nextWorkerKill) {
      const workers = fleet.alive().filter((p) => p.role !== 'coordinator');
      const victim = workers[rng.int(workers.length)];
      await fleet.kill(victim);
      const fresh = fleet.start(victim.role);
      chaos.workerKills++;
      say(`chaos: SIGKILL ${victim.role} pid ${victim.child.pid} (worker kill #${chaos.workerKills}); restarted as pid ${fresh.pid}`);
      nextWorkerKill = Date.now() + 2_500 + rng.int(1_500);
    }
    if (chaos.coordinatorKills === 0 && done >= refTasks * 0.2) {
      const [coord] = fleet.alive('coordinator');
      await fleet.kill(coord);
      const fresh = fleet.start('coordinator');
      chaos.coordinatorKills++;
      coordinatorKilledAt = Date.now();
      say(`chaos: SIGKILL coordinator pid ${coord.child.pid} at ${done}/${refTasks} task results; started another (pid ${fresh.pid})`);
    }
    if (chaos.natsRestarts === 0 && coordinatorKilledAt && Date.now() - coordinatorKilledAt > 6_000 && done >= refTasks * 0.45) {
      natsDown = true;
      say(`chaos: stopping nats-server at ${done}/${refTasks} task results`);
      await nats.stop({ keepStore: true });
      await sleep(2_000);
      nats = await startNatsServer({ port: nats.port, storeDir: nats.storeDir });
      chaos.natsRestarts++;
      natsDown = false;
      say('chaos: nats-server restarted on the same port and store');
    }
  };
  const st = await followJob(bus, jobId, started + BUDGET_MS, tick);
  const ms = Date.now() - t0;
  if (st.state !== 'succeeded') throw new Error(`${kind} job ${jobId} ${st.state}: ${st.error ?? 'no reason given'}`);
  const r = (await patiently('the result', () => fetchResult(bus, st))) as { markdown: string; record: Record<string, any> };
  writeFileSync(join(logDir, `${kind}.md`), r.markdown);
  writeFileSync(join(logDir, `${kind}.json`), JSON.stringify(r, null, 1));
  say(`${kind}: job finished in ${(ms / 1000).toFixed(1)} s (coordinator deliveries: ${st.attempts})`);
  await fleet.stopAll();
  const jobHeld = readFileSync(join(logDir, `${prefix}.log`), 'utf8').split('holding the new delivery').length - 1;
  const audit = await auditResults(bus, jobId);
  await nc.drain().catch(() => undefined);
  const record = JSON.stringify({ ...r.record, params: { ...r.record.params, inputKey: undefined }, counts: { ...r.record.counts, ms: undefined } });
  return { jobId, markdown: r.markdown, record, ms, audit, jobAttempts: st.attempts, jobHeld, sim: sim.stats(), unexpectedExits: fleet.unexpectedExits };
}

async function main(): Promise<number> {
  resetClock(logDir);
  say(`chaos benchmark: logs in ${logDir}`);
  nats = await startNatsServer({ storeDir: join(logDir, 'jetstream') });
  say(`nats-server on ${nats.url} (file storage in ${nats.storeDir})`);
  const input = loadInput();

  const refSim = await startFleetSim({ ...SIM, faultRate: 0 });
  const ref = await runOnce('reference', input, refSim, 0);
  await refSim.close();
  say(`reference: ${ref.audit.tasks} tasks, ${ref.sim.requests} model calls`);

  const chaos: Chaos = { workerKills: 0, coordinatorKills: 0, natsRestarts: 0 };
  const chaosSim = await startFleetSim({ ...SIM, ...FAULTS });
  const run = await runOnce('chaos', input, chaosSim, ref.audit.tasks, chaos);
  await chaosSim.close();

  const checks: Array<[string, boolean, string]> = [
    ['the chaos job completed', true, `in ${(run.ms / 1000).toFixed(1)} s`],
    ['Markdown equals the fault-free run byte for byte', run.markdown === ref.markdown, `${run.markdown.length} vs ${ref.markdown.length} bytes${run.markdown === ref.markdown ? '' : `; see ${logDir}/{reference,chaos}.md`}`],
    ['the JSON record (outline, groups, digests, sections) equals the reference', run.record === ref.record, `${run.record.length} bytes compared, job id, timings and usage left out`],
    ['the Markdown names no job id', !run.markdown.includes(run.jobId) && !ref.markdown.includes(ref.jobId), ''],
    ['no task result lost (same task count)', run.audit.tasks === ref.audit.tasks, `${run.audit.tasks} vs ${ref.audit.tasks} tasks`],
    ['no task result written twice', run.audit.writes === run.audit.tasks && ref.audit.writes === ref.audit.tasks, `${run.audit.writes} writes for ${run.audit.tasks} results`],
    ['every task succeeded', run.audit.failed.length === 0 && ref.audit.failed.length === 0, run.audit.failed.slice(0, 3).join('; ')],
    ['every fault was injected', chaos.workerKills >= 3 && chaos.coordinatorKills === 1 && chaos.natsRestarts === 1 && sumFaults(run.sim) > 0, JSON.stringify(chaos)],
    ['no service crashed on its own', run.unexpectedExits.length === 0 && ref.unexpectedExits.length === 0, [...ref.unexpectedExits, ...run.unexpectedExits].join('; ')],
  ];
  const extraCalls = run.sim.requests - ref.sim.requests;
  const failedByFaults = run.sim.faults.http5xx + run.sim.faults.timeout + run.sim.faults.malformed;
  process.stdout.write('\nfigures\n');
  const fig = (k: string, v: string) => process.stdout.write(`  ${k.padEnd(34)} ${v}\n`);
  fig('kills survived', `${chaos.workerKills} worker SIGKILLs, ${chaos.coordinatorKills} coordinator SIGKILL, ${chaos.natsRestarts} nats-server restart`);
  fig('task redeliveries', `${run.audit.redeliveries} (Σ attempts − 1 over ${run.audit.tasks} results; reference ${ref.audit.redeliveries})`);
  fig('job deliveries', `${run.jobAttempts} runs + ${run.jobHeld} held by the coordinator already running it (reference ${ref.jobAttempts})`);
  fig('model calls', `${run.sim.requests} vs ${ref.sim.requests} fault-free: ${extraCalls} extra`);
  fig('  failed by injected faults', `${failedByFaults} (5xx ${run.sim.faults.http5xx}, hung until timeout ${run.sim.faults.timeout}; plus ${run.sim.faults.slow} slow replies that still succeeded)`);
  fig('  repeated after kills and restarts', `${extraCalls - failedByFaults} (calls cut off mid-way: ${run.sim.clientAborts}, incl. timeouts)`);
  fig('workers that wrote results', `${run.audit.workers.size} processes`);
  fig('time', `${(run.ms / 1000).toFixed(1)} s vs ${(ref.ms / 1000).toFixed(1)} s: overhead ×${(run.ms / ref.ms).toFixed(2)}`);
  process.stdout.write('\nchecks\n');
  for (const [name, ok, detail] of checks) process.stdout.write(`  ${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? ` (${detail})` : ''}\n`);
  const failed = checks.filter(([, ok]) => !ok).length;
  process.stdout.write(`\n${failed ? `${failed} check(s) failed` : 'all checks passed'}; total ${((Date.now() - started) / 1000).toFixed(0)} s; logs in ${logDir}\n`);
  return failed ? 1 : 0;
}

function sumFaults(s: RunOutcome['sim']): number {
  return Object.values(s.faults).reduce((a, b) => a + b, 0);
}

const cleanup = () => {
  for (const f of fleets) f.killAllNow();
  nats?.process.kill('SIGKILL');
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
main().then(
  async (code) => {
    await nats?.stop({ keepStore: true }).catch(() => undefined);
    process.exit(code);
  },
  (e) => {
    process.stdout.write(`FAIL  ${(e as Error).message}\nlogs in ${logDir}\n`);
    process.exit(1);
  },
);

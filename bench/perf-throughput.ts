/**
 * Perf part (c): task throughput with 1, 2 and 4 mapper processes (each `node --import tsx
 * services/mapper/main.ts`) and a growing number of calls in flight per process
 * (MR_CONCURRENCY), against the fleet simulator with a fixed, long service time, so the model
 * latency rather than the two CPU cores sets the pace. Tasks are v1.map calls on the openai
 * engine, published straight to the task stream; each input is distinct (no cache hits).
 */
import { readFileSync } from 'node:fs';
import { startFleetSim } from '../shared/sim/fleet.ts';
import { mapOp } from '../shared/ops/v1/map.ts';
import { TaskClient } from '../shared/eval/tasks.ts';
import { envStrings, openBus, perfEnv, say, spawnService, stopChild, waitLive } from './perf-common.ts';

export interface ThroughputPoint {
  processes: number;
  perProcess: number;
  inFlight: number;
  tasks: number;
  wallMs: number;
  tasksPerSec: number;
  /** inFlight / service time: what the calls in flight allow at most. */
  idealPerSec: number;
  efficiency: number;
  /** CPU time per task of the mapper processes, and of this process (client and simulator). */
  workerCpuMsPerTask: number;
  benchCpuMsPerTask: number;
}

export interface ThroughputResult {
  serviceMs: number;
  points: ThroughputPoint[];
}

/** User + system CPU time of a process so far, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

const TEXT = 'Caches of keys and values grow with the context; compressing them trades accuracy for memory.';

export async function measureThroughput(natsUrl: string, o: { processes: number[]; perProcess: number[]; serviceMs: number; waves: number; deadline: number }): Promise<ThroughputResult> {
  const maxInFlight = Math.max(...o.processes) * Math.max(...o.perProcess);
  const sim = await startFleetSim({ model: 'perf-sim', replicas: 4, slots: Math.ceil(maxInFlight / 4) + 8, baseLatencyMs: o.serviceMs, prefillTokensPerSec: 1e9, decodeTokensPerSec: 1e9, queueLimit: 100_000, seed: 3 });
  const points: ThroughputPoint[] = [];
  let round = 0;
  try {
    for (const p of o.processes) {
      for (const c of o.perProcess) {
        if (Date.now() > o.deadline) {
          say(`(c) time budget reached: skipping ${p} process(es) × ${c}`);
          continue;
        }
        round++;
        const env = perfEnv(natsUrl, `perftp${round}`, { MR_CONCURRENCY: String(c), OPENAI_BASE_URL: sim.url, LLM_MODEL: 'perf-sim', LOG_LEVEL: 'error' });
        const { nc, bus } = await openBus(env);
        const kids = Array.from({ length: p }, () => spawnService('mapper', envStrings(env)));
        try {
          await waitLive(bus, 'mapper', p);
          const client = await TaskClient.open(bus, { jobId: `perf-tp-${round}`, engine: 'openai' });
          const batch = (n: number, tag: string) =>
            Array.from({ length: n }, (_, i) => ({ chunk: { index: i, text: `${TEXT} (${tag} ${i})` }, question: `What is traded in ${tag} ${i}?`, profile: 'qa' as const, maxOutputTokens: 64 }));
          // Warm-up: every process compiles its code paths and its endpoint cap opens up.
          await client.mapSettled(mapOp, batch(p * c, 'warm'));
          const n = p * c * o.waves;
          const cpu0 = kids.reduce((a, k) => a + cpuMs(k.pid), 0);
          const self0 = process.cpuUsage();
          const t = performance.now();
          const res = await client.mapSettled(mapOp, batch(n, 'run'));
          const wallMs = performance.now() - t;
          const workerCpuMsPerTask = (kids.reduce((a, k) => a + cpuMs(k.pid), 0) - cpu0) / n;
          const self = process.cpuUsage(self0);
          const benchCpuMsPerTask = (self.user + self.system) / 1000 / n;
          client.close();
          const failed = res.filter((r) => !r.ok).length;
          if (failed) say(`(c) ${failed} of ${n} tasks failed`);
          const inFlight = p * c;
          const tasksPerSec = (n - failed) / (wallMs / 1000);
          const idealPerSec = inFlight / (o.serviceMs / 1000);
          points.push({ processes: p, perProcess: c, inFlight, tasks: n, wallMs, tasksPerSec, idealPerSec, efficiency: tasksPerSec / idealPerSec, workerCpuMsPerTask, benchCpuMsPerTask });
          say(`(c) ${p} process(es) × ${c} in flight: ${tasksPerSec.toFixed(1)} tasks/s (ideal ${idealPerSec.toFixed(1)}, ${((100 * tasksPerSec) / idealPerSec).toFixed(0)}%); CPU per task ${workerCpuMsPerTask.toFixed(1)} ms in the mappers, ${benchCpuMsPerTask.toFixed(1)} ms in client and simulator`);
        } finally {
          await Promise.all(kids.map(stopChild));
          for (const s of Object.values(bus.names.streams)) await bus.jsm.streams.delete(s).catch(() => undefined);
          await nc.drain().catch(() => undefined);
        }
      }
    }
  } finally {
    await sim.close();
  }
  return { serviceMs: o.serviceMs, points };
}

/**
 * Perf part (d): peak memory of the coordinator on a 1,000-paper V2 job. The papers are the
 * three topics of ../shared/data/v2 combined (698 papers) and repeated with distinct titles up
 * to 1,000. The coordinator runs as its own process (`node --import tsx
 * services/coordinator/main.ts`); its VmRSS is sampled from /proc/<pid>/status during the job
 * and its VmHWM (the kernel's high-water mark) read before and after. Workers run in this
 * process on the offline engine, so the coordinator's own bookkeeping is what is measured.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRole, type RoleHandle } from '../services/role.ts';
import type { Bus } from '../shared/bus/bus.ts';
import type { Env } from '../shared/config/env.ts';
import { DATA, envStrings, openBus, perfEnv, runJob, say, sleep, spawnService, stopChild, waitLive } from './perf-common.ts';

export const TOPIC_FILES = ['kv_cache.jsonl', 'vision_language_action.jsonl', 'long_context_llm.jsonl'];

/** n papers from the three topic files, repeated with distinct titles; null when the data is absent. */
export function synthesisePapers(n: number, dir = join(DATA, 'v2')): { title: string; papers: Record<string, unknown>[] } | null {
  const files = TOPIC_FILES.map((f) => join(dir, f));
  if (!files.every(existsSync)) return null;
  const all = files.flatMap((f) => (JSON.parse(readFileSync(f, 'utf8').split('\n')[0]) as { papers: Record<string, unknown>[] }).papers);
  const papers: Record<string, unknown>[] = [];
  for (let round = 1; papers.length < n; round++) {
    for (const p of all) {
      if (papers.length >= n) break;
      papers.push(round === 1 ? p : { ...p, title: `${String(p.title)} (replica ${round})` });
    }
  }
  return { title: 'Efficient Large Models: KV Caches, Long Contexts and Vision-Language-Action Policies', papers };
}

/** kB fields of /proc/<pid>/status (VmRSS, VmHWM), in MB. */
export function procMemory(pid: number): { rssMB: number; hwmMB: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Start mapper, convolver and reducer in this process, wait for the coordinator, and read its idle memory. */
export async function startWorkers(env: Env, bus: Bus, coordPid: number, roles: RoleHandle[]): Promise<{ rssMB: number; hwmMB: number }> {
  for (const r of ['mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(r, { env }));
  await waitLive(bus, 'coordinator', 1);
  await sleep(1_000);
  const idle = procMemory(coordPid);
  if (!idle) throw new Error('cannot read /proc/<pid>/status of the coordinator (Linux only)');
  return idle;
}

/** Sample a process's VmRSS every 100 ms; `max` is the highest seen (at least `from`). */
export function sampleRss(pid: number, from: number): { max(): number; stop(): void } {
  let max = from;
  const timer = setInterval(() => {
    const m = procMemory(pid);
    if (m) max = Math.max(max, m.rssMB);
  }, 100);
  return { max: () => max, stop: () => clearInterval(timer) };
}

export interface MemoryResult {
  papers: number;
  blocks: number;
  wallMs: number;
  tasks: number;
  idleRssMB: number;
  hwmBeforeMB: number;
  peakRssMB: number;
  maxSampledRssMB: number;
  inputMB: number;
}

export async function measureMemory(natsUrl: string, o: { papers: number; blocks: number }): Promise<MemoryResult | null> {
  const input = synthesisePapers(o.papers);
  if (!input) {
    say(`(d) skipped: ${join(DATA, 'v2')} is absent`);
    return null;
  }
  const env = perfEnv(natsUrl, 'perfmem', { MR_CONCURRENCY: '8' });
  const { nc, bus } = await openBus(env);
  const roles: RoleHandle[] = [];
  const coord = spawnService('coordinator', envStrings(env, { LOG_LEVEL: 'error' }));
  try {
    const idle = await startWorkers(env, bus, coord.pid!, roles);
    const text = JSON.stringify(input);
    const inputKey = 'inputs/perf-1000.json';
    await bus.putBlob(inputKey, text);
    say(`(d) ${input.papers.length}-paper V2 job (blocks ${o.blocks}, offline engine); coordinator pid ${coord.pid} idle at ${idle.rssMB.toFixed(0)} MB`);
    const sampler = sampleRss(coord.pid!, idle.rssMB);
    let r: Record<string, any>;
    try {
      r = await runJob(bus, { jobId: `perf-mem-${Date.now().toString(36)}`, pipeline: 'v2', engine: 'extractive', seed: 1, params: { inputKey, blocks: o.blocks } }, 480_000);
    } finally {
      sampler.stop();
    }
    const maxRss = sampler.max();
    const after = procMemory(coord.pid!);
    return {
      papers: input.papers.length,
      blocks: o.blocks,
      wallMs: r.wallMs,
      tasks: r.usage?.tasks ?? 0,
      idleRssMB: idle.rssMB,
      hwmBeforeMB: idle.hwmMB,
      peakRssMB: after?.hwmMB ?? maxRss,
      maxSampledRssMB: maxRss,
      inputMB: text.length / 1e6,
    };
  } finally {
    await stopChild(coord);
    for (const r of roles.reverse()) await r.stop();
    await nc.drain().catch(() => undefined);
  }
}

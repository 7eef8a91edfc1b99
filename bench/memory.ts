/**
 * `npm run bench:memory`: the coordinator's peak RSS on the largest inputs the documented
 * limits admit, with several jobs in flight (issue 18: ≤ 512 MiB at the limit with 8 jobs).
 *
 * The coordinator is its own process (`services/coordinator/main.ts`, from `--root` when given,
 * e.g. an older checkout for a before/after figure); its VmHWM (the kernel's high-water mark of
 * resident memory) is read from /proc when all jobs are done, and VmRSS is sampled meanwhile.
 * Mapper, convolver and reducer run in this process on the offline engine. One input is
 * uploaded and `--jobs` jobs read it at once. Printed next to the pod's memory limit
 * (deploy/k8s/base/coordinator.yaml) and the 512 MiB goal, as ratios.
 *
 * Options: --case v1|v2|both (both), --jobs N (8), --v1-mib N (the V1 document limit),
 * --v2-papers N (the paper limit), --v2-mib N (64), --window N (4096), --root DIR, --json FILE.
 * BENCH_COORD_NODE_ARGS adds Node options to the coordinator (e.g. --max-old-space-size=256).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { RoleHandle } from '../services/role.ts';
import { maxDocBytes } from '../shared/protocol/v1-input.ts';
import { V2_INPUT_LIMITS } from '../shared/protocol/v2-input.ts';
import { createRng } from '../shared/algo/rng.ts';
import type { JobSpecInput } from '../shared/protocol/schemas.ts';
import { streamNames } from '../shared/security/permissions.ts';
import { procMemory, sampleRss, startWorkers } from './perf-memory.ts';
import { envStrings, openBus, perfEnv, ROOT, runJob, say, stopChild } from './perf-common.ts';

const MiB = 1024 * 1024;
const GOAL_MIB = 512;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** The coordinator container's memory limit in MiB, from the base manifest. */
export function podLimitMiB(file = join(ROOT, 'deploy/k8s/base/coordinator.yaml')): number {
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const d = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { name: string; resources?: { limits?: { memory?: string } } }[] } } } };
    const c = d?.spec?.template?.spec?.containers?.find((x) => x.name === 'coordinator');
    const m = /^(\d+)(Mi|Gi)$/.exec(c?.resources?.limits?.memory ?? '');
    if (m) return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  }
  throw new Error(`no memory limit for the coordinator container in ${file}`);
}

const WORDS = 'the of model cache attention token memory layer context window query key value head batch latency throughput policy action vision language robot grasp plan retrieval index chunk answer evidence'.split(' ');

/** About `bytes` of ASCII prose in lines of sentences, deterministic. */
export function proseDocument(bytes: number, seed = 1): Buffer {
  const rng = createRng(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    let line = '';
    for (let s = 0, k = 3 + Math.floor(rng.next() * 5); s < k; s++) {
      const words = Array.from({ length: 6 + Math.floor(rng.next() * 14) }, () => WORDS[Math.floor(rng.next() * WORDS.length)]);
      line += `${words.join(' ')}. `;
    }
    line = `${line.trimEnd()}\n`;
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('').slice(0, bytes), 'latin1');
}

/** A survey record of `papers` papers whose texts fill `bytes` in all. */
export function surveyRecord(papers: number, bytes: number): Buffer {
  const per = Math.max(200, Math.floor(bytes / papers) - 200);
  const text = proseDocument(per, 7).toString('latin1');
  const list = Array.from({ length: papers }, (_, i) => ({ title: `Paper ${i + 1} on caches and contexts`, abstract: text.slice(0, 600), txt: `${i} ${text}`, year: 2024 }));
  return Buffer.from(JSON.stringify({ title: 'Memory use of long-context serving', papers: list }), 'utf8');
}

function spawnCoordinator(root: string, env: Record<string, string>): ChildProcess {
  const nodeArgs = (process.env.BENCH_COORD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(root, 'services', 'coordinator', 'main.ts')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  const log = process.env.BENCH_COORD_LOG ? createWriteStream(process.env.BENCH_COORD_LOG) : undefined;
  child.stderr?.on('data', (b: Buffer) => {
    tail = (tail + b.toString()).slice(-2000);
    log?.write(b);
  });
  child.on('exit', (code, sig) => code && sig === null && process.stderr.write(`coordinator exited with code ${code}: ${tail}\n`));
  return child;
}

export interface CaseResult {
  case: string;
  inputMiB: number;
  jobs: number;
  succeeded: number;
  failed: string[];
  wallMs: number;
  idleMiB: number;
  peakMiB: number;
  maxSampledMiB: number;
}

async function measure(name: string, input: Buffer, jobs: number, spec: (jobId: string, key: string) => JobSpecInput, root: string): Promise<CaseResult> {
  const prefix = `benchmem${Date.now().toString(36)}`;
  const env = perfEnv(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', prefix, { MR_CONCURRENCY: '8', MR_MAX_JOBS: String(jobs), MR_STORAGE_BYTES: process.env.MR_STORAGE_BYTES ?? '4GiB' });
  const { nc, bus } = await openBus(env);
  const roles: RoleHandle[] = [];
  const coord = spawnCoordinator(root, envStrings(env, { LOG_LEVEL: process.env.BENCH_COORD_LOG ? 'info' : 'error' }));
  try {
    const idle = await startWorkers(env, bus, coord.pid!, roles);
    const key = `inputs/${name}.txt`;
    await bus.putBlob(key, input);
    say(`${name}: ${(input.length / MiB).toFixed(0)} MiB stored; ${jobs} job(s); coordinator pid ${coord.pid} idle at ${idle.rssMB.toFixed(0)} MB`);
    const sampler = sampleRss(coord.pid!, idle.rssMB);
    const t0 = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: jobs }, (_, i) => runJob(bus, spec(`${name}-${i}`, key), 3_600_000))).finally(() => sampler.stop());
    const maxRss = sampler.max();
    const after = procMemory(coord.pid!);
    const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message.slice(0, 300)] : []));
    return { case: name, inputMiB: input.length / MiB, jobs, succeeded: jobs - failed.length, failed, wallMs: Date.now() - t0, idleMiB: idle.rssMB, peakMiB: after?.hwmMB ?? maxRss, maxSampledMiB: maxRss };
  } finally {
    await stopChild(coord);
    for (const r of roles.reverse()) await r.stop();
    for (const s of streamNames(bus.names)) await bus.jsm.streams.delete(s).catch(() => undefined);
    await nc.drain().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const which = arg('case', 'both');
  const jobs = Number(arg('jobs', '8'));
  const root = resolve(arg('root', ROOT));
  const window = Number(arg('window', '4096'));
  const pod = podLimitMiB();
  const results: CaseResult[] = [];
  if (which !== 'v2') {
    const mib = Number(arg('v1-mib', String(maxDocBytes() / MiB)));
    const doc = proseDocument(mib * MiB);
    results.push(await measure('v1', doc, jobs, (jobId, docKey) => ({ jobId, pipeline: 'v1', engine: 'extractive', seed: 1, params: { docKey, question: 'which policy plans the grasp?', window } }), root));
  }
  if (which !== 'v1') {
    const papers = Number(arg('v2-papers', String(V2_INPUT_LIMITS.maxPapers)));
    const record = surveyRecord(papers, Number(arg('v2-mib', '64')) * MiB);
    results.push(await measure('v2', record, jobs, (jobId, inputKey) => ({ jobId, pipeline: 'v2', engine: 'extractive', seed: 1, params: { inputKey, blocks: 0, keepPartial: true } }), root));
  }
  const lines = results.map((r) => {
    const s = `${r.case}: ${r.inputMiB.toFixed(0)} MiB input × ${r.jobs} jobs (${r.succeeded} succeeded) in ${(r.wallMs / 1000).toFixed(0)} s: coordinator peak RSS ${r.peakMiB.toFixed(0)} MiB (idle ${r.idleMiB.toFixed(0)}), ${(r.peakMiB / pod).toFixed(2)} of the pod limit ${pod} MiB, ${(r.peakMiB / GOAL_MIB).toFixed(2)} of the ${GOAL_MIB} MiB goal`;
    return r.failed.length ? `${s}\n  failed: ${r.failed[0]}` : s;
  });
  process.stdout.write(`${lines.join('\n')}\n`);
  const out = arg('json', '');
  if (out) writeFileSync(out, JSON.stringify({ podLimitMiB: pod, goalMiB: GOAL_MIB, root, window, results }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`bench:memory: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}

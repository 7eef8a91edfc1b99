/**
 * (e) of `npm run bench:perf`: the command line's own cost. Start-up is `llmxmr --help` run
 * several times (the compiled bundle with its code cache, and the sources through tsx for
 * comparison); shutdown is the time from the moment `llmxmr ask --json` prints its answer to the
 * moment the process has exited (in-process services stopped, connection drained). CPU time
 * comes from /usr/bin/time when the machine has it: on a loaded machine it is the steadier
 * figure of the two.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, avg, quantile } from './perf-common.ts';

export interface CliResult {
  help: { bundle: RunStats; source: RunStats };
  shutdown: { n: number; p50Ms: number; maxMs: number; afterAnswerMs: number[] };
}
export interface RunStats {
  n: number;
  wallP50Ms: number;
  cpuMeanMs: number | null;
}

const TIME = '/usr/bin/time';

interface Run {
  wallMs: number;
  cpuMs: number | null;
  stdout: string;
  /** ms from the first byte on stdout to the exit. */
  afterOutputMs: number | null;
  code: number | null;
}

function run(args: string[], env: Record<string, string | undefined>, timeIt = true): Promise<Run> {
  const timed = timeIt && existsSync(TIME);
  const cmd = timed ? TIME : process.execPath;
  const argv = timed ? ['-f', '@@cpu %U %S', process.execPath, join(ROOT, 'bin', 'llmxmr.js'), ...args] : [join(ROOT, 'bin', 'llmxmr.js'), ...args];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let firstOut: number | null = null;
    let stdout = '';
    let stderr = '';
    const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => {
      firstOut ??= performance.now();
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const end = performance.now();
      const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(stderr);
      resolve({ wallMs: end - t0, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : null, stdout, afterOutputMs: firstOut === null ? null : end - firstOut, code });
    });
  });
}

async function helpStats(n: number, env: Record<string, string | undefined>): Promise<RunStats> {
  await run(['--help'], env); // builds or writes the code cache when needed
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) runs.push(await run(['--help'], env));
  const cpu = runs.map((r) => r.cpuMs).filter((x): x is number => x !== null);
  return { n, wallP50Ms: quantile(runs.map((r) => r.wallMs), 0.5), cpuMeanMs: cpu.length ? avg(cpu) : null };
}

export async function measureCli(natsUrl: string, o: { n: number; asks: number }): Promise<CliResult> {
  const bundle = await helpStats(o.n, { LLMXMR_FROM_SOURCE: undefined });
  const source = await helpStats(Math.max(2, Math.floor(o.n / 2)), { LLMXMR_FROM_SOURCE: '1' });
  const dir = mkdtempSync(join(tmpdir(), 'perf-cli-'));
  const doc = join(dir, 'doc.txt');
  const filler = 'The archive keeps letters, ledgers and maps from the old harbour office. ';
  writeFileSync(doc, `${filler.repeat(400)}The code to the archive room is 4821. ${filler.repeat(400)}`);
  const afterAnswerMs: number[] = [];
  try {
    for (let i = 0; i < o.asks; i++) {
      // A fresh prefix: no services run on it, so ask starts them in its own process.
      const r = await run(['ask', '--doc', doc, '--question', 'What is the code to the archive room?', '--profile', 'retrieval', '--engine', 'extractive', '--json', '--quiet', '--nats', natsUrl, '--prefix', `pcli${Date.now().toString(36)}${i}`], {}, false);
      if (r.code !== 0 || r.afterOutputMs === null) throw new Error(`ask exited with ${r.code}: ${r.stdout.slice(0, 200)}`);
      afterAnswerMs.push(r.afterOutputMs);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { help: { bundle, source }, shutdown: { n: o.asks, p50Ms: quantile(afterAnswerMs, 0.5), maxMs: Math.max(...afterAnswerMs), afterAnswerMs } };
}

if (process.argv[1] === import.meta.filename) {
  const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const r = await measureCli(url, { n: Number(process.env.PERF_CLI_N ?? 5), asks: Number(process.env.PERF_CLI_ASKS ?? 3) });
  process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
  process.exit(0);
}

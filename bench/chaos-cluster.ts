/**
 * Pieces of the chaos benchmark (bench/chaos.ts): a cluster of service child processes that can
 * be killed and restarted, a job follower that survives NATS restarts, and an audit of the
 * results bucket (one write per task id, attempts and workers per task).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Bus } from '../shared/bus/bus.ts';
import { connectNats } from '../shared/bus/connect.ts';
import { provision } from '../shared/bus/provision.ts';
import { decode } from '../shared/protocol/codec.ts';
import { names } from '../shared/protocol/names.ts';
import { TaskResultSchema, type JobStatus } from '../shared/protocol/schemas.ts';
import type { Role } from '../services/role.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let t0 = Date.now();
let progressLog: WriteStream | undefined;
/** Start the clock of the progress lines, which also go to `<logDir>/progress.log`. */
export function resetClock(logDir: string): void {
  t0 = Date.now();
  progressLog = createWriteStream(join(logDir, 'progress.log'));
}
export function say(msg: string): void {
  const line = `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${new Date().toISOString().slice(11, 23)} ${msg}\n`;
  process.stdout.write(line);
  progressLog?.write(line);
}

interface Proc {
  role: Role;
  child: ChildProcess;
}

/** Service processes of one prefix, each `node --import tsx services/<role>/main.ts`. */
export class Fleet {
  private readonly procs: Proc[] = [];
  private readonly log: WriteStream;
  /** Children that exited without being killed by us (a crash is a failed check). */
  readonly unexpectedExits: string[] = [];
  private readonly killed = new Set<ChildProcess>();

  constructor(
    private readonly env: Record<string, string>,
    logDir: string,
    name: string,
    private readonly roleEnv: Partial<Record<Role, Record<string, string>>> = {},
  ) {
    this.log = createWriteStream(join(logDir, `${name}.log`));
  }

  start(role: Role): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services', role, 'main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, ...this.roleEnv[role] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tag = `${role}#${child.pid} `;
    const pipe = (b: Buffer) => this.log.write(b.toString().replace(/^(?=.)/gm, tag));
    child.stdout?.on('data', pipe);
    child.stderr?.on('data', pipe);
    child.on('exit', (code, signal) => {
      if (!this.killed.has(child) && code !== 0) this.unexpectedExits.push(`${role} pid ${child.pid} exited (code ${code}, signal ${signal})`);
    });
    this.procs.push({ role, child });
    return child;
  }

  alive(role?: Role): Proc[] {
    return this.procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null && (!role || p.role === role));
  }

  /** SIGKILL one process and wait until it is gone. */
  async kill(p: Proc): Promise<void> {
    this.killed.add(p.child);
    const gone = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGKILL');
    await gone;
  }

  /** SIGTERM everything and wait (graceful drain); SIGKILL what is still there after 15 s. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.alive().map(async (p) => {
        this.killed.add(p.child);
        const gone = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
        await gone;
        clearTimeout(t);
      }),
    );
    await new Promise((r) => this.log.end(r));
  }

  killAllNow(): void {
    for (const p of this.alive()) p.child.kill('SIGKILL');
  }
}

/** A client connection that keeps reconnecting (it must outlive a NATS restart). */
export async function openBus(url: string, prefix: string, maxDeliver: number, ackWaitMs: number): Promise<{ nc: NatsConnection; bus: Bus }> {
  const nc = await connectNats({ NATS_URL: url } as never, { name: `chaos-${prefix}`, reconnect: true });
  await provision(nc, names(prefix), { maxDeliver, ackWaitMs });
  return { nc, bus: await Bus.open(nc, prefix) };
}

/** Retry a bus call through a NATS outage. */
export async function patiently<T>(what: string, f: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > end) throw new Error(`${what}: ${(e as Error).message}`);
      await sleep(500);
    }
  }
}

/** Messages in the results bucket's stream: stored now, and written in total (last sequence). */
export async function resultCounts(bus: Bus): Promise<{ stored: number; written: number }> {
  const info = await bus.jsm.streams.info(`KV_${bus.names.buckets.results}`);
  return { stored: info.state.messages, written: info.state.last_seq };
}

/** Follow a job to its end through outages; `tick` runs about every second while it runs. */
export async function followJob(bus: Bus, jobId: string, deadline: number, tick: () => Promise<void>): Promise<JobStatus> {
  let lastPrint = 0;
  for (;;) {
    const st = await bus.getStatus(jobId).catch(() => null);
    if (st && ['succeeded', 'failed', 'cancelled'].includes(st.state)) return st;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish in the time budget (last state: ${st?.state ?? 'unknown'})`);
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      const c = await resultCounts(bus).catch(() => null);
      say(`  ${jobId}: ${st?.state ?? '(status unavailable)'}, ${c ? `${c.stored} task results` : 'NATS unavailable'}`);
    }
    await tick();
    await sleep(1_000);
  }
}

export interface Audit {
  tasks: number;
  /** Messages ever written to the results bucket (≥ tasks; more means a result was overwritten). */
  writes: number;
  failed: string[];
  /** Σ (attempts − 1): deliveries beyond the first that the stored results report. */
  redeliveries: number;
  workers: Set<string>;
  wrongJob: number;
}

/** Read every stored result of a prefix (the prefix holds one job). */
export async function auditResults(bus: Bus, jobId: string): Promise<Audit> {
  const counts = await resultCounts(bus);
  const a: Audit = { tasks: 0, writes: counts.written, failed: [], redeliveries: 0, workers: new Set(), wrongJob: 0 };
  const keys: string[] = [];
  for await (const k of await bus.results.keys()) keys.push(k);
  for (const k of keys) {
    const e = await bus.results.get(k);
    if (!e || e.operation !== 'PUT') continue;
    const d = decode(TaskResultSchema, e.value);
    if (!d.ok) {
      a.failed.push(`${k}: undecodable result`);
      continue;
    }
    a.tasks++;
    if (d.value.jobId !== jobId) a.wrongJob++;
    if (d.value.status !== 'ok') a.failed.push(`${d.value.op} ${d.value.taskId}: ${d.value.error}`);
    a.redeliveries += d.value.attempts - 1;
    a.workers.add(d.value.worker);
  }
  return a;
}

/**
 * Pieces shared by the parts of `npm run bench:perf`: environments per name prefix, a bus
 * handle, service child processes (`node --import tsx services/<role>/main.ts`), jobs run to
 * the end, and small statistics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadEnv, type Env } from '../shared/config/env.ts';
import { Bus } from '../shared/bus/bus.ts';
import { connectNats } from '../shared/bus/connect.ts';
import { provision } from '../shared/bus/provision.ts';
import { names } from '../shared/protocol/names.ts';
import { streamNames } from '../shared/security/permissions.ts';
import { submitJob, waitForJob, fetchResult } from '../shared/client/client.ts';
import type { JobEvent, JobSpecInput } from '../shared/protocol/schemas.ts';
import type { Role } from '../services/role.ts';

// Every prefix a part provisions reserves its streams' byte limits on the server; the default
// budget (10 GiB a prefix) would exhaust a private server's disk after a few runs.
process.env.MR_STORAGE_BYTES ??= '1GiB';

export const ROOT = resolve(import.meta.dirname, '..');
export const DATA = resolve(ROOT, '..', 'shared', 'data');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const t0 = Date.now();
export function say(msg: string): void {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}

export function perfEnv(natsUrl: string, prefix: string, over: Record<string, string> = {}): Env {
  return loadEnv({ NATS_URL: natsUrl, MR_PREFIX: prefix, LOG_LEVEL: 'warn', METRICS_PORT: '0', MR_ACK_WAIT_MS: '60000', MR_MAX_DELIVER: '4', MR_STORAGE_BYTES: process.env.MR_STORAGE_BYTES!, ...over });
}

/** The env as strings, for a child process. */
export function envStrings(env: Env, over: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = String(v);
  return { ...out, ...over };
}

export async function openBus(env: Env): Promise<{ nc: NatsConnection; bus: Bus }> {
  const nc = await connectNats(env, { name: `perf-${env.MR_PREFIX}`, reconnect: false });
  await provision(nc, names(env.MR_PREFIX), { maxDeliver: env.MR_MAX_DELIVER, ackWaitMs: env.MR_ACK_WAIT_MS, replicas: env.MR_REPLICAS });
  return { nc, bus: await Bus.open(nc, env.MR_PREFIX) };
}

/**
 * One service role as its own process, with the given environment. BENCH_NODE_ARGS adds Node
 * options to every service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them.
 */
export function spawnService(role: Role, env: Record<string, string>): ChildProcess {
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'services', role, 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (b: Buffer) => (tail = (tail + b.toString()).slice(-2000)));
  child.on('exit', (code, sig) => {
    if (code && code !== 0 && sig === null) process.stderr.write(`${role} pid ${child.pid} exited with code ${code}: ${tail}\n`);
  });
  return child;
}

/** Remove a prefix's streams, buckets and stores from the server (its reservations go with them). */
export async function dropPrefix(bus: Bus): Promise<void> {
  for (const s of streamNames(bus.names)) await bus.jsm.streams.delete(s).catch(() => undefined);
}

/** Wait until `n` processes of a role announce themselves on the bus. */
export async function waitLive(bus: Bus, role: Role, n: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const live = await bus.liveRoles();
    if ((live.get(role) ?? 0) >= n) return;
    if (Date.now() > end) throw new Error(`only ${live.get(role) ?? 0} of ${n} ${role} process(es) came up in ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** SIGTERM (graceful drain), SIGKILL after 10 s; resolves when the process is gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
}

/** Submit a job and wait for it; throws unless it succeeds. */
export async function runJob(bus: Bus, spec: JobSpecInput, timeoutMs = 600_000, onEvent?: (e: JobEvent) => void): Promise<Record<string, any>> {
  await submitJob(bus, spec);
  const st = await waitForJob(bus, spec.jobId, { signal: AbortSignal.timeout(timeoutMs), onEvent });
  if (st.state !== 'succeeded') throw new Error(`job ${spec.jobId} ${st.state}: ${st.error ?? 'no reason given'}`);
  return fetchResult(bus, st);
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const avg = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * Test clusters on the real NATS server: each test gets its own name prefix, so tests share
 * the server on 127.0.0.1:4222 (or NATS_URL) without seeing each other. Roles run in-process
 * (startRole) or as child processes (for kill tests).
 */
import { streamNames } from '../../shared/security/permissions.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadEnv, type Env } from '../../shared/config/env.ts';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { retentionFrom } from '../../shared/bus/limits.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { names } from '../../shared/protocol/names.ts';
import { startRole, type Role, type RoleHandle } from '../../services/role.ts';
import { TEST_OPS, fanoutScript } from './test-ops.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

export function testEnv(over: Record<string, string> = {}): Env {
  return loadEnv({
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    MR_PREFIX: `t${randomBytes(5).toString('hex')}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    METRICS_PORT: '0',
    MR_ACK_WAIT_MS: '5000',
    MR_MAX_DELIVER: '3',
    // a small storage budget: max_bytes is reserved on the shared server for every test prefix
    MR_STORAGE_BYTES: '1GiB',
    ...over,
  });
}

export interface TestCluster {
  env: Env;
  bus: Bus;
  roles: RoleHandle[];
  start(role: Role, opts?: { testScripts?: boolean }): Promise<RoleHandle>;
  close(): Promise<void>;
}

export async function testCluster(env: Env = testEnv()): Promise<TestCluster> {
  const nc = await connectNats(env, { reconnect: false });
  await provision(nc, names(env.MR_PREFIX), { maxDeliver: env.MR_MAX_DELIVER, ackWaitMs: env.MR_ACK_WAIT_MS, replicas: env.MR_REPLICAS, retention: retentionFrom(env) });
  const bus = await Bus.open(nc, env.MR_PREFIX);
  const roles: RoleHandle[] = [];
  return {
    env,
    bus,
    roles,
    async start(role, opts = {}) {
      const h = await startRole(role, {
        env,
        extraOps: TEST_OPS,
        extraScripts: opts.testScripts ? { v1: fanoutScript } : undefined,
      });
      roles.push(h);
      return h;
    },
    async close() {
      for (const r of roles.splice(0).reverse()) await r.stop().catch(() => undefined);
      await deleteStreams(bus).catch(() => undefined);
      await nc.drain().catch(() => undefined);
    },
  };
}

/** Remove a test prefix's streams, buckets and object store from the shared server. */
async function deleteStreams(bus: Bus) {
  const n = bus.names;
  const all = streamNames(n); // every stream, bucket and store of the prefix
  for (const s of all) await bus.jsm.streams.delete(s).catch(() => undefined);
}

/** A service role in a child process (test ops and scripts registered), for kill tests. */
export function spawnRole(role: Role, env: Env): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tests/helpers/role-proc.ts'), role], {
    cwd: ROOT,
    env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (b) => process.env.TEST_VERBOSE && process.stderr.write(b));
  return child;
}

export function tmpLog(): string {
  return join(mkdtempSync(join(tmpdir(), 'llmxmr-test-')), 'exec.log');
}

export function logLines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

export async function until<T>(what: string, f: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Remove everything a prefix created (for tests that ran the CLI in a child process). */
export async function dropPrefix(env: Env): Promise<void> {
  const nc = await connectNats(env, { reconnect: false });
  try {
    const bus = await Bus.open(nc, env.MR_PREFIX);
    await deleteStreams(bus);
  } catch {
    // nothing was provisioned
  } finally {
    await nc.drain().catch(() => undefined);
  }
}

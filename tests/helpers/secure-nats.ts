/**
 * A private nats-server started with the generated per-role configuration (one user per role,
 * each with a random password), for the security tests. Readiness is checked by logging in as
 * the administrator: an unauthenticated probe would be refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { findNatsServer, freePort, NATS_INSTALL_HINT } from '../../shared/bus/nats-server.ts';
import { natsServerConfig, type ConfigUser, type SecurityRole } from '../../shared/security/permissions.ts';
import { loadEnv, type Env } from '../../shared/config/env.ts';
import { authInit } from '../../cli/commands/auth.ts';

export interface SecureNats {
  url: string;
  dir: string;
  config: string;
  /** Password of each role's user (the user name is the role). */
  passwords: Record<SecurityRole, string>;
  /** Server log (permission violations are logged here). */
  log(): string;
  /** Environment for a process of `role` on this server. */
  env(role: SecurityRole, over?: Record<string, string>): Env;
  stop(): Promise<void>;
}

/** What every test process on these servers runs with, unless the test says otherwise. */
const TEST_DEFAULTS = { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', METRICS_PORT: '0', MR_ACK_WAIT_MS: '5000', MR_MAX_DELIVER: '3' };

const ROLES: SecurityRole[] = ['admin', 'coordinator', 'mapper', 'convolver', 'reducer', 'client'];

export async function startSecureNats(prefix: string, extraUsers: ConfigUser[] = [], passwordOf?: (r: SecurityRole) => string): Promise<SecureNats> {
  const bin = findNatsServer();
  if (!bin) throw new Error(NATS_INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'llmxmr-secure-'));
  const passwords = Object.fromEntries(ROLES.map((r) => [r, passwordOf?.(r) ?? randomBytes(12).toString('hex')])) as Record<SecurityRole, string>;
  const users: ConfigUser[] = [...ROLES.map((role) => ({ user: role, password: passwords[role], role })), ...extraUsers];
  const config = natsServerConfig({ prefix, users });
  const confPath = join(dir, 'nats.conf');
  writeFileSync(confPath, config);
  const port = await freePort();
  const logPath = join(dir, 'server.log');
  const child: ChildProcess = spawn(bin, ['-c', confPath, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), '-l', logPath], {
    stdio: 'ignore',
  });
  const url = `nats://127.0.0.1:${port}`;
  await adminLogin(child, url, 'admin', passwords.admin, logPath);
  return {
    url,
    dir,
    config,
    passwords,
    log: () => readLog(logPath),
    env: (role, over = {}) =>
      loadEnv({
        NATS_URL: url,
        NATS_USER: role,
        NATS_PASS: passwords[role],
        MR_PREFIX: prefix,
        ...TEST_DEFAULTS,
        ...over,
      }),
    stop: () => stopServer(child, dir),
  };
}

export interface AuthInitNats {
  url: string;
  dir: string;
  /** Server log (permission violations are logged here). */
  log(): string;
  /** Environment of a user (a role's user or a publisher), read from the `<name>.env` that `auth init` wrote. */
  env(name: string, over?: Record<string, string>): Env;
  stop(): Promise<void>;
}

/** A private nats-server run with the files `llmxmr auth init --users …` writes, as an operator would. */
export async function startAuthInitNats(prefix: string, publishers: string[]): Promise<AuthInitNats> {
  const bin = findNatsServer();
  if (!bin) throw new Error(NATS_INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'llmxmr-authinit-'));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  authInit({ dir, users: publishers.join(','), prefix, url });
  const readEnv = (name: string): Record<string, string> =>
    Object.fromEntries(
      readFileSync(join(dir, `${name}.env`), 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  const logPath = join(dir, 'server.log');
  const child: ChildProcess = spawn(bin, ['-c', join(dir, 'nats.conf'), '-a', '127.0.0.1', '-p', String(port), '-l', logPath], { stdio: 'ignore' });
  const admin = readEnv('admin');
  await adminLogin(child, url, admin.NATS_USER, admin.NATS_PASS, logPath);
  return {
    url,
    dir,
    log: () => readLog(logPath),
    env: (name, over = {}) =>
      loadEnv({
        ...readEnv(name),
        ...TEST_DEFAULTS,
        ...over,
      }),
    stop: () => stopServer(child, dir),
  };
}

/** Wait until the server started as `child` accepts the admin login (10 s at most). */
async function adminLogin(child: ChildProcess, url: string, user: string | undefined, pass: string | undefined, logPath: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited at start (code ${child.exitCode}); see ${logPath}`);
    try {
      const nc = await connect({ servers: url, user, pass, timeout: 500, reconnect: false });
      await nc.close();
      return;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server did not accept the admin login on ${url} in time`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Stop a server started here (SIGTERM, SIGKILL after 5 s) and remove its folder. */
async function stopServer(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Start a private nats-server child (JetStream on, loopback only, a free port, a temporary
 * store): for `llmxmr up`, embedded client commands and tests that stop or reconfigure NATS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect } from '@nats-io/transport-node';

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  process: ChildProcess;
  stop(opts?: { keepStore?: boolean; signal?: NodeJS.Signals }): Promise<void>;
}

export const NATS_INSTALL_HINT =
  'nats-server was not found: install it (Debian/Ubuntu: `apt-get install nats-server`; macOS: `brew install nats-server`), ' +
  'set NATS_SERVER_BIN to its path, or point --nats at a running server';

export function findNatsServer(): string | null {
  const explicit = process.env.NATS_SERVER_BIN;
  if (explicit) return existsSync(explicit) ? explicit : null;
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/local/sbin', '/usr/local/bin']);
  for (const d of dirs) {
    const p = join(d, 'nats-server');
    if (d && existsSync(p)) return p;
  }
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface StartNatsOptions {
  port?: number;
  storeDir?: string;
  /** Extra command-line arguments (e.g. `-c config`). */
  args?: string[];
  timeoutMs?: number;
}

export async function startNatsServer(o: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const bin = findNatsServer();
  if (!bin) throw new Error(NATS_INSTALL_HINT);
  const port = o.port ?? (await freePort());
  const storeDir = o.storeDir ?? mkdtempSync(join(tmpdir(), 'llmxmr-nats-'));
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...(o.args ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b) => (stderr = (stderr + b.toString()).slice(-4000)));
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited at start (code ${child.exitCode}): ${stderr.trim()}`);
    try {
      const nc = await connect({ servers: url, timeout: 500, reconnect: false });
      await nc.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server did not accept connections on ${url} in time: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    storeDir,
    process: child,
    async stop(so = {}) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill(so.signal ?? 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (!so.keepStore && !o.storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

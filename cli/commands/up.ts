/** `llmxmr up` (a whole local cluster in the foreground) and `llmxmr service <role>` (one role). */
import type { Command } from 'commander';
import { loadEnv } from '../../shared/config/env.ts';
import { createLogger } from '../../shared/log/logger.ts';
import { ROLES, SERVICE_ROLES, runRoleMain, type ServiceRole } from '../../services/role.ts';
import { checkBind } from '../../services/gateway/auth.ts';
import { openCluster } from '../cluster.ts';
import { UsageError, withConnOptions, type ConnOpts } from '../common.ts';

interface UpOpts extends ConnOpts {
  /** A port given with --http, false with --no-http, undefined: the default (HTTP_PORT or the next free one). */
  http?: string | false;
  httpHost?: string;
}

function portOf(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--http must be a TCP port (0-65535; 0 picks a free one), not "${v}"`);
  return n;
}

export function registerUp(program: Command): void {
  withConnOptions(
    program
      .command('up')
      .description('run a local cluster in the foreground: NATS (when none answers) plus every service; Ctrl-C stops it')
      .option('--http <port>', 'serve the HTTP API and web console on this port (default: HTTP_PORT, 8080, or the next free one; docs/http-api.md)')
      .option('--no-http', 'serve no HTTP API or console')
      .option('--http-host <host>', 'interface of the HTTP API; anything but loopback needs LLMXMR_HTTP_TOKEN', '127.0.0.1'),
  ).action(async (o: UpOpts) => {
    const say = (s: string) => process.stderr.write(`${s}\n`);
    const env = loadEnv();
    const port = o.http === false ? undefined : o.http === undefined ? env.HTTP_PORT : portOf(o.http);
    if (port !== undefined) {
      // before anything starts: no cluster is brought up for an API that may not listen
      try {
        checkBind(o.httpHost ?? '127.0.0.1', process.env.LLMXMR_HTTP_TOKEN || undefined);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const cluster = await openCluster({ ...o, needs: [...ROLES], say });
    let gateway: { url: string; close(): Promise<void> } | undefined;
    if (port !== undefined) {
      try {
        const { startGatewayServer } = await import('../../services/gateway/run.ts');
        gateway = await startGatewayServer(cluster.bus, cluster.env, createLogger('gateway', cluster.env.LOG_LEVEL), { port, host: o.httpHost, nextFree: o.http === undefined });
      } catch (e) {
        await cluster.close();
        throw new UsageError(`cannot serve the HTTP API: ${(e as Error).message}`);
      }
    }
    // Services started here must not be mistaken for ones already running elsewhere.
    say(`cluster up on ${cluster.env.NATS_URL} (prefix ${cluster.env.MR_PREFIX}): ${cluster.roles.map((r) => r.role).join(', ') || 'all roles already running elsewhere'}`);
    if (gateway) say(`console: ${gateway.url}${cluster.env.LLMXMR_HTTP_TOKEN ? ' (API token: $LLMXMR_HTTP_TOKEN)' : ''}`);
    say('submit with e.g. `llmxmr ask --nats ' + cluster.env.NATS_URL + ' --doc FILE --question Q`; Ctrl-C to stop');
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    say('stopping: draining in-flight work…');
    await gateway?.close();
    await cluster.close();
    say('stopped');
  });

  program
    .command('service')
    .description('run one service role in the foreground, configured by environment variables (for containers)')
    .argument('<role>', SERVICE_ROLES.join(' | '))
    .action(async (role: string) => {
      if (!(SERVICE_ROLES as readonly string[]).includes(role)) throw new UsageError(`unknown role "${role}": use ${SERVICE_ROLES.join(', ')}`);
      await runRoleMain(role as ServiceRole, loadEnv());
      await new Promise(() => undefined); // runs until a signal ends the process
    });
}

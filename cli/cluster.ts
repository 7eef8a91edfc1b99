/**
 * Getting a working cluster for a client command: connect to --nats / NATS_URL; only when no
 * address was given and nothing listens at the default one (or with --embedded) start a private
 * nats-server. A refused login, a TLS failure or a given address that does not answer is an
 * error naming the cause. When roles a job needs have no live process on the bus, start them in
 * this process for the command, if these credentials may run them (a publisher's may not).
 */
import { connect as tcpConnect } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadEnv, type Env } from '../shared/config/env.ts';
import { Bus } from '../shared/bus/bus.ts';
import { connectNats, type NatsConnectError } from '../shared/bus/connect.ts';
import { publisherOf } from '../shared/client/client.ts';
import { provision } from '../shared/bus/provision.ts';
import { retentionFrom } from '../shared/bus/limits.ts';
import { startNatsServer, type NatsServerHandle } from '../shared/bus/nats-server.ts';
import { createLogger } from '../shared/log/logger.ts';
import { names } from '../shared/protocol/names.ts';
import { startRole, ROLES, type Role, type RoleHandle } from '../services/role.ts';

export interface ClusterOptions {
  nats?: string;
  embedded?: boolean;
  prefix?: string;
  /** Roles the command needs; missing ones are started in-process. */
  needs?: Role[];
  /** Print what is being started (to stderr). */
  say?(line: string): void;
  envOverrides?: Partial<Record<keyof Env, string>>;
}

export interface Cluster {
  env: Env;
  nc: NatsConnection;
  bus: Bus;
  server?: NatsServerHandle;
  roles: RoleHandle[];
  close(): Promise<void>;
}

export function clientEnv(o: ClusterOptions): Env {
  return loadEnv({
    ...process.env,
    ...(o.nats ? { NATS_URL: o.nats } : {}),
    ...(o.prefix ? { MR_PREFIX: o.prefix } : {}),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    METRICS_PORT: process.env.METRICS_PORT ?? '0',
    ...o.envOverrides,
  });
}

const DEFAULT_URL = 'nats://127.0.0.1:4222';

/** Whether anything accepts TCP connections at host:port (a refusal answers at once). */
export function somethingListens(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host, port });
    const done = (v: boolean) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(true)); // silent, not refused: someone is there
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function openCluster(o: ClusterOptions): Promise<Cluster> {
  const say = o.say ?? (() => undefined);
  let env = clientEnv(o);
  let server: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  const given = Boolean(o.nats || o.envOverrides?.NATS_URL || process.env.NATS_URL);
  if (!o.embedded) {
    if (!given && env.NATS_URL === DEFAULT_URL && !(await somethingListens('127.0.0.1', 4222))) {
      say(`nothing listens at ${DEFAULT_URL}; starting a private NATS server for this command`);
    } else {
      // An address that was given, or a server at the default one: use it or say why not.
      try {
        nc = await connectNats(env, { name: 'llmxmr-client', timeoutMs: 5_000 });
      } catch (e) {
        const err = e as NatsConnectError;
        if (err.kind === 'unreachable' && given) throw new Error(`${err.message.replace(/ Start a server.*$/, '')} (the address was given by ${o.nats ? '--nats' : 'NATS_URL'}; no private server is started in its place)`);
        throw err;
      }
    }
  }
  if (!nc) {
    server = await startNatsServer();
    env = { ...env, NATS_URL: server.url };
    nc = await connectNats(env, { name: 'llmxmr-client' });
  }
  const prov = await provision(nc, names(env.MR_PREFIX), { maxDeliver: env.MR_MAX_DELIVER, ackWaitMs: env.MR_ACK_WAIT_MS, updateExisting: false, replicas: env.MR_REPLICAS, retention: retentionFrom(env) });
  if (prov.shrunk) say(prov.shrunk);
  const bus = await Bus.open(nc, env.MR_PREFIX);
  const roles: RoleHandle[] = [];
  const live = server ? new Map<string, number>() : await bus.liveRoles();
  const missing = (o.needs ?? []).filter((r) => !live.get(r));
  if (missing.length && !prov.provisioned) {
    // Restricted credentials (a publisher's, or one role's) cannot run the services.
    const who = await publisherOf(bus).catch(() => undefined);
    await nc.drain().catch(() => undefined);
    throw new Error(
      `no ${missing.join(', ')} running on ${env.NATS_URL}, and these credentials ${who ? `(publisher "${who}") ` : ''}may not run ` +
        `services: start them under their own credentials (\`llmxmr service <role>\` with that role's NATS_USER/NATS_PASS, or \`llmxmr up\` as administrator), then retry`,
    );
  }
  if (missing.length) {
    if (!server) say(`no ${missing.join(', ')} running on ${env.NATS_URL}; starting ${missing.length > 1 ? 'them' : 'it'} in this process`);
    const log = createLogger('llmxmr', env.LOG_LEVEL);
    for (const r of missing) roles.push(await startRole(r, { env, nc, log }));
  }
  return {
    env,
    nc,
    bus,
    server,
    roles,
    async close() {
      // All at once: each role waits only for its own in-flight work.
      await Promise.all(roles.map((r) => r.stop()));
      await nc!.drain().catch(() => undefined);
      await server?.stop();
    },
  };
}

export { ROLES };

/**
 * Getting a working cluster for a client command: connect to --nats; when no server answers
 * (or with --embedded) start a private nats-server; when roles a job needs have no live
 * process on the bus, start them in this process for the duration of the command.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { loadEnv, type Env } from '../shared/config/env.ts';
import { Bus } from '../shared/bus/bus.ts';
import { connectNats } from '../shared/bus/connect.ts';
import { provision } from '../shared/bus/provision.ts';
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

export async function openCluster(o: ClusterOptions): Promise<Cluster> {
  const say = o.say ?? (() => undefined);
  let env = clientEnv(o);
  let server: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  if (!o.embedded) {
    try {
      nc = await connectNats(env, { name: 'llmxmr-client', timeoutMs: 2_000, reconnect: false });
    } catch {
      say(`no NATS server answers at ${env.NATS_URL}; starting a private one for this command`);
    }
  }
  if (!nc) {
    server = await startNatsServer();
    env = { ...env, NATS_URL: server.url };
    nc = await connectNats(env, { name: 'llmxmr-client', reconnect: false });
  }
  await provision(nc, names(env.MR_PREFIX), { maxDeliver: env.MR_MAX_DELIVER, ackWaitMs: env.MR_ACK_WAIT_MS, updateExisting: false, replicas: env.MR_REPLICAS });
  const bus = await Bus.open(nc, env.MR_PREFIX);
  const roles: RoleHandle[] = [];
  const live = server ? new Map<string, number>() : await bus.liveRoles();
  const missing = (o.needs ?? []).filter((r) => !live.get(r));
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
      for (const r of roles.reverse()) await r.stop();
      await nc!.drain().catch(() => undefined);
      await server?.stop();
    },
  };
}

export { ROLES };

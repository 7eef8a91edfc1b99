/**
 * Start one service role (coordinator, mapper, convolver, reducer) in this process: connect,
 * provision (idempotent), announce presence, run the worker or coordinator loop. Used by each
 * service's `main.ts` (one role per process, as on Kubernetes) and by `llmxmr up` / embedded
 * client commands (all roles in one process).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { workerConcurrency, type Env } from '../shared/config/env.ts';
import { Bus } from '../shared/bus/bus.ts';
import { connectNats } from '../shared/bus/connect.ts';
import { provision } from '../shared/bus/provision.ts';
import { retentionFrom } from '../shared/bus/limits.ts';
import { startWorker } from '../shared/bus/worker.ts';
import { whileNatsUnavailable } from '../shared/bus/retry.ts';
import { createLogger } from '../shared/log/logger.ts';
import { engineFor } from '../shared/llm/select.ts';
import { ALL_OPS } from '../shared/ops/registry.ts';
import type { OpDef } from '../shared/ops/op.ts';
import type { JobScript } from '../shared/jobs/types.ts';
import { names, type TaskKind } from '../shared/protocol/names.ts';
import { startCoordinator } from './coordinator/coordinator.ts';
import { createMetrics } from '../shared/obs/metrics.ts';
import { startHealthServer, startHealthServerFromEnv, type HealthServer } from '../shared/obs/health.ts';
import { JOB_SCRIPTS } from './coordinator/jobs/index.ts';

export const ROLES = ['coordinator', 'mapper', 'convolver', 'reducer'] as const;
export type Role = (typeof ROLES)[number];
/** Every role a process can run: the job roles, and the HTTP gateway (no consumer; `llmxmr up --http` runs it too). */
export const SERVICE_ROLES = [...ROLES, 'gateway'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];
const KIND_OF: Record<Exclude<Role, 'coordinator'>, TaskKind> = { mapper: 'map', convolver: 'convolve', reducer: 'reduce' };

export interface RoleHandle {
  role: ServiceRole;
  id: string;
  bus: Bus;
  stop(): Promise<void>;
}

export interface StartRoleOptions {
  env: Env;
  /** Reuse a connection (embedded mode); otherwise the role opens and owns its own. */
  nc?: NatsConnection;
  log?: Logger;
  /** Extra ops (tests register deliberately failing ops this way). */
  extraOps?: OpDef[];
  /** Extra job scripts by pipeline name (tests). */
  extraScripts?: Record<string, JobScript<any>>;
}

export async function startRole(role: ServiceRole, o: StartRoleOptions): Promise<RoleHandle> {
  const id = `${role}-${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const log = (o.log ?? createLogger(role, o.env.LOG_LEVEL)).child({ role, worker: id });
  const ownConn = !o.nc;
  const nc = o.nc ?? (await connectNats(o.env, { name: id }));
  let bus: Bus;
  try {
    const prov = await provision(nc, namesFor(o.env), { maxDeliver: o.env.MR_MAX_DELIVER, ackWaitMs: o.env.MR_ACK_WAIT_MS, replicas: o.env.MR_REPLICAS, retention: retentionFrom(o.env) });
    if (!prov.provisioned) {
      log.info({ reason: prov.reason }, 'these NATS credentials may not manage streams; using the streams as provisioned by an administrator');
    }
    if (prov.shrunk) log.warn(prov.shrunk);
    bus = await Bus.open(nc, o.env.MR_PREFIX);
  } catch (e) {
    if (ownConn) await nc.close().catch(() => undefined); // a retry opens a new connection
    throw e;
  }
  const metrics = createMetrics();
  let stopping = false;
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        log.warn('NATS disconnected; reconnecting');
      }
      if (s.type === 'reconnect') {
        // A restarted server may have lost what lives in memory (presence): provision again
        // (idempotent; restricted credentials just check) before reporting ready.
        await provision(nc, namesFor(o.env), { maxDeliver: o.env.MR_MAX_DELIVER, ackWaitMs: o.env.MR_ACK_WAIT_MS, replicas: o.env.MR_REPLICAS, updateExisting: false, retention: retentionFrom(o.env) }).catch((e) =>
          log.warn({ err: (e as Error).message }, 'after reconnecting: provisioning check failed'),
        );
        connected = true;
        log.info('NATS reconnected');
      }
      metrics.setNatsConnected(connected);
    }
  })().catch(() => undefined);
  metrics.setNatsConnected(true);
  const health = await startHealthOnFreePort(o.env.METRICS_PORT, log, {
    registry: metrics.registry,
    ready: () =>
      stopping ? { ready: false, reason: 'draining' } : connected ? true : { ready: false, reason: 'NATS disconnected' },
    log,
  });

  let stopLoop: () => Promise<void>;
  if (role === 'gateway') {
    // loaded on demand: other roles and CLI commands never load the HTTP server
    const { startGatewayServer } = await import('./gateway/run.ts');
    const g = await startGatewayServer(bus, o.env, log, { registry: metrics.registry });
    stopLoop = () => g.close();
  } else if (role === 'coordinator') {
    const c = startCoordinator({ metrics, bus, scripts: { ...JOB_SCRIPTS, ...(o.extraScripts ?? {}) }, maxJobs: o.env.MR_MAX_JOBS, ackWaitMs: o.env.MR_ACK_WAIT_MS, log, id });
    stopLoop = () => c.stop();
  } else {
    const w = startWorker({
      bus,
      kind: KIND_OF[role],
      ops: [...ALL_OPS, ...(o.extraOps ?? [])],
      engineFor: (name) => engineFor(name, o.env, log, { cache: bus.llmcache, metrics }),
      concurrency: workerConcurrency(o.env),
      maxDeliver: o.env.MR_MAX_DELIVER,
      ackWaitMs: o.env.MR_ACK_WAIT_MS,
      log,
      id,
      metrics,
    });
    stopLoop = () => w.stop();
  }
  const announce = () => bus.announce(role, id, { pid: process.pid }).catch(() => undefined);
  await announce();
  const presence = setInterval(announce, 5_000);
  log.info({ prefix: o.env.MR_PREFIX }, `${role} started`);

  return {
    role,
    id,
    bus,
    async stop() {
      stopping = true;
      clearInterval(presence);
      await stopLoop();
      await health?.close();
      await bus.workers.delete(`${role}.${id}`).catch(() => undefined);
      if (ownConn) await nc.drain().catch(() => undefined);
      log.info(`${role} stopped`);
    },
  };
}

/**
 * METRICS_PORT, or the next free port above it when another service on this host holds it
 * (several `llmxmr service` processes on one machine): the port taken is logged. 0 is off.
 */
async function startHealthOnFreePort(port: number, log: Logger, opts: Parameters<typeof startHealthServerFromEnv>[1]): Promise<HealthServer | undefined> {
  if (port === 0) return startHealthServerFromEnv(0, opts);
  for (let p = port; ; p++) {
    try {
      const h = await startHealthServer({ ...opts, port: p });
      if (p !== port) log.warn({ wanted: port, port: p }, `METRICS_PORT ${port} is taken on this host; metrics and health on ${p}`);
      return h;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || p >= port + 32) throw e;
    }
  }
}

function namesFor(env: Env) {
  return names(env.MR_PREFIX);
}

/** Run one role as the whole process until SIGTERM/SIGINT, then drain and exit. */
export async function runRoleMain(role: ServiceRole, env: Env): Promise<void> {
  // NATS may be restarting while this process starts (a rolling restart, a node reboot): wait
  // for it for a while instead of crashing, then give up with one line.
  let h: RoleHandle;
  try {
    h = await whileNatsUnavailable(() => startRole(role, { env }), {
      timeoutMs: 60_000,
      onRetry: (e, n) => process.stderr.write(`${role}: NATS is not available yet (${e.message}); retry ${n}\n`),
    });
  } catch (e) {
    process.stderr.write(`${role}: cannot start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${role}: ${sig} received, draining in-flight work…\n`);
    h.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

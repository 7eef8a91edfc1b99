/**
 * The gateway inside a role process (`llmxmr service gateway`, or `llmxmr up --http`): build
 * the app over the process's bus and listen where the environment says, with its token.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus } from '../../shared/bus/bus.ts';
import type { Env } from '../../shared/config/env.ts';
import { defaultEngineName } from '../../shared/llm/select.ts';
import { createServer } from 'node:net';
import { buildGateway, listenGateway } from './server.ts';
import { loadHttpUsers } from './auth.ts';

/** The first port from `port` on (at most 32 tried) that nothing on this host listens on. */
export async function firstFreePort(port: number, host: string): Promise<number> {
  for (let p = port; p < port + 32 && p <= 65535; p++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ port: p, host, exclusive: true }, () => probe.close(() => resolve(true)));
    });
    if (free) return p;
  }
  throw new Error(`ports ${port}-${port + 31} are all taken on ${host}: choose one with --http PORT (or HTTP_PORT)`);
}

export interface RunningGateway {
  app: FastifyInstance;
  /** The console's address, e.g. http://127.0.0.1:8080/ */
  url: string;
  close(): Promise<void>;
}

export async function startGatewayServer(bus: Bus, env: Env, log: Logger, at: { port?: number; host?: string; registry?: Registry; nextFree?: boolean } = {}): Promise<RunningGateway> {
  const token = env.LLMXMR_HTTP_TOKEN;
  const users = env.LLMXMR_HTTP_USERS_FILE ? loadHttpUsers(env.LLMXMR_HTTP_USERS_FILE) : [];
  if (at.nextFree) {
    const wanted = at.port ?? env.HTTP_PORT;
    const port = wanted === 0 ? 0 : await firstFreePort(wanted, at.host ?? env.HTTP_HOST);
    if (port !== wanted) log.warn({ wanted, port }, `HTTP port ${wanted} is taken on this host; the console is on ${port}`);
    at = { ...at, port };
  }
  const app = await buildGateway({ bus, token, log, bodyLimitBytes: env.HTTP_BODY_LIMIT_MB * 1024 * 1024, defaultEngine: defaultEngineName(env), registry: at.registry, users });
  let url: string;
  try {
    url = await listenGateway(app, { port: at.port ?? env.HTTP_PORT, host: at.host ?? env.HTTP_HOST, token, users: users.length });
  } catch (e) {
    await app.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new Error(`the HTTP port ${at.port ?? env.HTTP_PORT} is taken on this host: choose another (HTTP_PORT, or --http PORT)`);
    throw e;
  }
  log.info({ url, auth: token || users.length ? 'bearer token' : 'none (loopback only)', publishers: users.map((u) => u.user) }, 'HTTP API and console listening');
  return { app, url, close: () => app.close() };
}

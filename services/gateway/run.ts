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
import { buildGateway, listenGateway } from './server.ts';

export interface RunningGateway {
  app: FastifyInstance;
  /** The console's address, e.g. http://127.0.0.1:8080/ */
  url: string;
  close(): Promise<void>;
}

export async function startGatewayServer(bus: Bus, env: Env, log: Logger, at: { port?: number; host?: string; registry?: Registry } = {}): Promise<RunningGateway> {
  const token = env.LLMXMR_HTTP_TOKEN;
  const app = await buildGateway({ bus, token, log, bodyLimitBytes: env.HTTP_BODY_LIMIT_MB * 1024 * 1024, defaultEngine: defaultEngineName(env), registry: at.registry });
  let url: string;
  try {
    url = await listenGateway(app, { port: at.port ?? env.HTTP_PORT, host: at.host ?? env.HTTP_HOST, token });
  } catch (e) {
    await app.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new Error(`the HTTP port ${at.port ?? env.HTTP_PORT} is taken on this host: choose another (HTTP_PORT, or --http PORT)`);
    throw e;
  }
  log.info({ url, auth: token ? 'bearer token' : 'none (loopback only)' }, 'HTTP API and console listening');
  return { app, url, close: () => app.close() };
}

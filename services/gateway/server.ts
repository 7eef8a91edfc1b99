/**
 * The HTTP gateway: a Fastify app serving the JSON API under /api (docs/http-api.md) and the
 * web console under /, over one Bus. Everything it answers is read from the bus. Built without
 * listening, so tests drive it with `app.inject`; `listenGateway` binds it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import pino from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../../shared/obs/metrics.ts';
import type { Bus } from '../../shared/bus/bus.ts';
import type { EngineName } from '../../shared/protocol/schemas.ts';
import { bearerAuth, checkBind, type HttpUser } from './auth.ts';
import { HttpError, installErrorHandling } from './http.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerClusterRoutes } from './routes/cluster.ts';
import { registerDlqRoutes } from './routes/dlq.ts';
import { registerOutlineRoutes } from './routes/outline.ts';
import { registerConsole } from './console/index.ts';

export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;

export interface GatewayOptions {
  bus: Bus;
  /** The operator's bearer token (acts as the administrator); with no token and no users, the server must listen on loopback only. */
  token?: string;
  /** Publishers' tokens (by sha-256): each acts as its user, on that user's own jobs only. */
  users?: HttpUser[];
  log?: Logger;
  /** Largest accepted request body in bytes (default 32 MiB). */
  bodyLimitBytes?: number;
  /** Engine of submitted jobs that name none (default: extractive). */
  defaultEngine?: EngineName;
  /** Serve the web console under / (default true). */
  console?: boolean;
  /** Extra routes registered on the app after the API. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  /** SSE keep-alive period in ms (tests shorten it). */
  keepAliveMs?: number;
  /** Registry of the process's /metrics: request counts and durations by route and status go there. */
  registry?: Registry;
}

/** `llmxmr_http_requests_total` and `llmxmr_http_request_duration_seconds`, by route template, method and status. */
function instrument(app: FastifyInstance, registry: Registry): void {
  const labelNames = ['route', 'method', 'status'] as const;
  const total = new Counter({ name: `${METRIC_PREFIX}http_requests_total`, help: 'HTTP API requests answered', labelNames, registers: [registry] });
  const seconds = new Histogram({ name: `${METRIC_PREFIX}http_request_duration_seconds`, help: 'Time to answer an HTTP API request (event streams: until they end)', labelNames, buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60, 600], registers: [registry] });
  app.addHook('onResponse', async (req, reply) => {
    const labels = { route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) };
    total.inc(labels);
    seconds.observe(labels, reply.elapsedTime / 1000);
  });
}

/** Tracks whether the bus's connection is up (for /api/health), until the app closes. */
function connectionState(bus: Bus, app: FastifyInstance): () => boolean {
  let up = !bus.nc.isClosed();
  let closed = false;
  app.addHook('onClose', async () => {
    closed = true;
  });
  void (async () => {
    for await (const s of bus.nc.status()) {
      if (closed) break;
      if (s.type === 'disconnect') up = false;
      if (s.type === 'reconnect') up = true;
    }
  })().catch(() => undefined);
  return () => up && !bus.nc.isClosed();
}

export async function buildGateway(o: GatewayOptions): Promise<FastifyInstance> {
  const log = o.log ?? pino({ level: 'silent' });
  const bodyLimit = o.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({ bodyLimit, logger: false, forceCloseConnections: true, return503OnClosing: true });
  installErrorHandling(app, log, bodyLimit);
  if (o.registry) instrument(app, o.registry);
  const authorized = bearerAuth({ token: o.token, users: o.users });
  const natsUp = connectionState(o.bus, app);

  await app.register(
    async (api) => {
      api.decorateRequest('caller', null as never);
      api.addHook('onRequest', async (req, reply) => {
        const caller = authorized(req.headers.authorization);
        if (!caller) {
          void reply.header('www-authenticate', 'Bearer realm="llmxmr"');
          throw new HttpError(401, req.headers.authorization ? 'wrong bearer token' : 'this API needs a bearer token: send "Authorization: Bearer <token>" (your LLMXMR_HTTP_TOKEN)');
        }
        req.caller = caller;
      });
      api.get('/whoami', async (req) => (req.caller.admin ? { role: 'admin' } : { role: 'publisher', user: req.caller.user }));
      api.setNotFoundHandler((req, reply) => {
        void reply.code(404).send({ error: `no API route ${req.method} ${req.url.split('?')[0]}: the routes are listed in docs/http-api.md` });
      });
      api.get('/health', async (_req, reply) => {
        const nats = natsUp();
        return reply.code(nats ? 200 : 503).send({ ok: nats, nats: nats ? 'connected' : 'disconnected' });
      });
      registerJobRoutes(api, { bus: o.bus, defaultEngine: o.defaultEngine ?? 'extractive' });
      registerEventRoutes(api, { bus: o.bus, keepAliveMs: o.keepAliveMs });
      registerClusterRoutes(api, { bus: o.bus });
      registerDlqRoutes(api, { bus: o.bus });
      registerOutlineRoutes(api, { bus: o.bus });
    },
    { prefix: '/api' },
  );
  if (o.console !== false) await registerConsole(app);
  for (const p of o.plugins ?? []) await p(app);
  return app;
}

export interface ListenOptions {
  port: number;
  host: string;
  token?: string;
  /** How many publisher tokens the app accepts (any: the API is never open). */
  users?: number;
}

/** Bind the app, refusing a non-loopback host without a token. Returns the console's address. */
export async function listenGateway(app: FastifyInstance, o: ListenOptions): Promise<string> {
  checkBind(o.host, o.token, o.users);
  await app.listen({ port: o.port, host: o.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return `http://${shown}:${port}/`;
}

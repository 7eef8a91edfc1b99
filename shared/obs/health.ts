/**
 * The small HTTP server every service runs beside its work (node:http, no framework):
 *
 *   GET /metrics  the process's prom-client registry in the Prometheus text format
 *   GET /healthz  200 while the process is alive and its event loop answers (liveness)
 *   GET /readyz   200 only while ready() says so, else 503 with the reason (readiness)
 *
 * `port: 0` asks the OS for a free port (tests read it back from the returned `port`).
 * Turning the server off is the caller's decision: with METRICS_PORT=0 a service does not
 * start it at all, which `startHealthServerFromEnv` implements. Kubernetes probes and the
 * ServiceMonitor in deploy/k8s expect the default port 9464.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What ready() may return: a plain flag, or a flag with the reason shown on /readyz. */
export type Readiness = boolean | { ready: boolean; reason?: string };

export interface HealthLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface HealthServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind (default all interfaces, as a pod needs). */
  host?: string;
  registry: Registry;
  /**
   * Readiness: true once connected to NATS and the streams, consumers and buckets the service
   * needs exist; false again while draining after SIGTERM or while NATS is disconnected.
   */
  ready: () => Readiness;
  log?: HealthLog;
}

export interface HealthServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function readiness(ready: () => Readiness): { ok: boolean; reason: string } {
  try {
    const r = ready();
    if (typeof r === 'boolean') return { ok: r, reason: r ? 'ready' : 'not ready' };
    return { ok: r.ready, reason: r.reason ?? (r.ready ? 'ready' : 'not ready') };
  } catch (err) {
    return { ok: false, reason: `readiness check failed: ${(err as Error).message}` };
  }
}

export function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const { registry, ready, log } = opts;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      reply(res, 405, 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
        reply(res, 200, 'ok\n');
        return;
      case '/readyz': {
        const r = readiness(ready);
        reply(res, r.ok ? 200 : 503, `${r.reason}\n`);
        return;
      }
      case '/metrics': {
        const body = await registry.metrics();
        reply(res, 200, body, registry.contentType);
        return;
      }
      default:
        reply(res, 404, 'not found: try /metrics, /healthz or /readyz\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log?.warn({ err, url: req.url }, 'health server request failed');
      if (!res.headersSent) reply(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // Probes and scrapes are short: do not let a stuck client hold a socket.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', onError);
      server.on('error', (err) => log?.warn({ err }, 'health server error'));
      const port = (server.address() as AddressInfo).port;
      log?.info({ port }, 'metrics and health endpoints listening');
      let closing: Promise<void> | undefined;
      resolve({
        port,
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}

/**
 * Starts the server on `port` unless it is 0, which means "off" for a service's METRICS_PORT
 * (tests that want a free port call startHealthServer with port 0 directly).
 */
export async function startHealthServerFromEnv(
  port: number,
  opts: Omit<HealthServerOptions, 'port'>,
): Promise<HealthServer | undefined> {
  if (port === 0) {
    opts.log?.info({}, 'METRICS_PORT=0: metrics and health endpoints are off');
    return undefined;
  }
  return startHealthServer({ ...opts, port });
}

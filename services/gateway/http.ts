/**
 * Errors as the API answers them: always `{"error": "..."}` with a status that says whose fault
 * it is, and words that say what to do. Fastify's own errors (bad JSON, oversized or non-JSON
 * bodies) are reworded here.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { isNatsUnavailable } from '../../shared/bus/retry.ts';
import { NotYourJobError } from '../../shared/security/job-api.ts';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const size = (n: number) => (n >= 1024 * 1024 ? `${+(n / (1024 * 1024)).toFixed(1)} MiB` : `${+(n / 1024).toFixed(1)} KiB`);

/** The status and message of any error a route or Fastify raised. */
export function describeError(e: unknown, bodyLimit: number, contentType?: string): { status: number; error: string } {
  if (e instanceof HttpError) return { status: e.status, error: e.message };
  if (e instanceof NotYourJobError) return { status: 403, error: e.message };
  const err = e as FastifyError;
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, error: 'the body is not valid JSON: send one JSON object (keys named __proto__ or constructor are refused too)' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, error: 'the body is empty but says it is JSON: send a JSON object, or no Content-Type' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, error: `the body is larger than the ${size(bodyLimit)} limit: put large inputs in the Object Store and submit a spec that names them (docKey / inputKey)` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, error: `unsupported content type "${contentType ?? 'none'}": send the body as application/json` };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, error: 'the Content-Length header does not match the body' };
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return { status: err.statusCode, error: err.message };
  if (isNatsUnavailable(e)) return { status: 503, error: `the cluster's NATS server is not reachable right now (${err.message}); retry in a moment` };
  return { status: 500, error: `internal error: ${err.message ?? String(e)}` };
}

export function installErrorHandling(app: FastifyInstance, log: Logger, bodyLimit: number): void {
  // An empty body labelled JSON (a bodiless POST from some clients) is no body at all.
  app.addHook('onRequest', async (req) => {
    const h = req.headers;
    const empty = h['content-length'] === '0' || (h['content-length'] === undefined && h['transfer-encoding'] === undefined);
    if (empty && /^application\/json/i.test(h['content-type'] ?? '')) delete h['content-type'];
  });
  app.setErrorHandler((e, req, reply) => {
    const { status, error } = describeError(e, bodyLimit, req.headers['content-type']);
    if (status >= 500) log.error({ err: (e as Error).message, method: req.method, url: req.url }, 'request failed');
    void reply.code(status).header('content-type', 'application/json; charset=utf-8').send({ error });
  });
}

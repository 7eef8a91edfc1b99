/**
 * GET /api/jobs/:id/events: Server-Sent Events. The job's stored events in stream order, then
 * live ones; each carries `id: <stream sequence>`, so a client that reconnects with
 * `Last-Event-ID` resumes right after the last event it saw. The stream ends after the job's
 * terminal event (or at once, after the replay, when the job ended before its events did).
 */
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../../../shared/bus/bus.ts';
import { TERMINAL } from '../../../shared/client/client.ts';
import { isTerminalEvent } from '../summary.ts';
import { followJobEvents, lastJobEvent } from '../job-events.ts';
import { HttpError } from '../http.ts';
import { statusOr404 } from './jobs.ts';
import { callerOf } from '../access.ts';

export interface EventRoutesOptions {
  bus: Bus;
  /** Comment lines that keep proxies from closing an idle stream. */
  keepAliveMs?: number;
  /** How often a followed job's status is checked (a job whose terminal event expired still ends the stream). */
  statusPollMs?: number;
}

function lastEventId(header: string | string[] | undefined, query: unknown): number | undefined {
  const raw = (Array.isArray(header) ? header[0] : header) ?? (query as { lastEventId?: string } | undefined)?.lastEventId;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `Last-Event-ID "${raw}" is not an event id of this stream (a whole number)`);
  return n;
}

export function registerEventRoutes(app: FastifyInstance, o: EventRoutesOptions): void {
  const { bus } = o;
  app.get('/jobs/:id/events', async (req, reply) => {
    const after = lastEventId(req.headers['last-event-id'], req.query);
    const status = await statusOr404(bus, req.params, callerOf(req));
    const jobId = status.jobId;
    // A job that has ended gets its stored events and the end of the stream, even if its
    // terminal event is no longer kept.
    const endedBefore = TERMINAL.has(status.state);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': events of job ' + jobId + '\n\n');
    const stop = new AbortController();
    res.on('close', () => stop.abort()); // the client went away (or the stream ended)
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), o.keepAliveMs ?? 15_000);
    let poll: NodeJS.Timeout | undefined;
    try {
      if (endedBefore) {
        const last = await lastJobEvent(bus, jobId);
        if (!last || last.seq <= (after ?? 0)) return;
      } else {
        poll = setInterval(() => {
          void bus.getStatus(jobId).then(
            (s) => {
              // Ended: give the terminal event a moment to arrive, then close regardless.
              if (s && TERMINAL.has(s.state)) setTimeout(() => stop.abort(), 2_000).unref();
            },
            () => undefined,
          );
        }, o.statusPollMs ?? 5_000);
      }
      for await (const { seq, event, pending } of followJobEvents(bus, jobId, { afterSeq: after, signal: stop.signal })) {
        res.write(`id: ${seq}\ndata: ${JSON.stringify(event)}\n\n`);
        if (isTerminalEvent(event) || (endedBefore && pending === 0)) break;
      }
    } finally {
      clearInterval(keepAlive);
      if (poll) clearInterval(poll);
      res.end();
    }
  });
}

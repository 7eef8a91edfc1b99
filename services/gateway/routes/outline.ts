/**
 * Outline review over HTTP: GET /api/jobs/:id/outline (the outline a paused job waits on, or a
 * finished survey's), PUT it edited (problems listed in a 400), POST /api/jobs/:id/resume. The
 * same operations as `llmxmr outline get|put` and resume (shared/client/outline.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../../../shared/bus/bus.ts';
import { ReviewError, getOutline, putOutline, resumeJob } from '../../../shared/client/outline.ts';
import { HttpError } from '../http.ts';
import { statusOr404 } from './jobs.ts';
import { callerOf, recordQueued, submitterBus } from '../access.ts';

/** A review operation whose refusal is the caller's to fix: 409 with the reason. */
async function review<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ReviewError) throw new HttpError(409, e.message);
    throw e;
  }
}

/** The edited outline: the body itself, or its `outline` field. */
function outlineOf(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the body must be the edited outline as a JSON object (as GET …/outline returns it under "outline")');
  const b = body as Record<string, unknown>;
  return 'outline' in b && !('children' in b) ? b.outline : b;
}

export function registerOutlineRoutes(app: FastifyInstance, o: { bus: Bus }): void {
  const { bus } = o;
  app.get('/jobs/:id/outline', async (req) => {
    const s = await statusOr404(bus, req.params, callerOf(req));
    return review(() => getOutline(bus, s.jobId));
  });

  app.put('/jobs/:id/outline', async (req, reply) => {
    const s = await statusOr404(bus, req.params, callerOf(req));
    const caller = callerOf(req);
    // A finished survey's edit starts a rerun, submitted as the caller (the survey's owner).
    const r = await review(() => putOutline(submitterBus(bus, caller), s.jobId, outlineOf(req.body)));
    if (r.ok && r.rerunJobId && !caller.admin) await recordQueued(bus, caller.user, { jobId: r.rerunJobId, pipeline: 'v2' });
    if (!r.ok) return reply.code(400).send({ error: `the outline was not stored: ${r.problems.join('; ')}`, problems: r.problems });
    return reply.code(r.rerunJobId ? 202 : 200).send(r);
  });

  app.post('/jobs/:id/resume', async (req, reply) => {
    const s = await statusOr404(bus, req.params, callerOf(req));
    if (s.state !== 'paused') throw new HttpError(409, `job ${s.jobId} is ${s.state}, not paused: there is nothing to resume`);
    return reply.code(202).send(await review(() => resumeJob(bus, s.jobId)));
  });
}

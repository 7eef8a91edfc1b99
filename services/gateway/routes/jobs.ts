/**
 * /api/jobs: submit (a full spec, or inline inputs), list, one job's status and progress, its
 * result as Markdown, JSON or BibTeX, and cancellation. Status comes from the jobs bucket,
 * progress and usage from the job's events, results from the final-result store.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Bus } from '../../../shared/bus/bus.ts';
import { cancelJob, fetchResult, submitJob, TERMINAL } from '../../../shared/client/client.ts';
import { InlineJobSchema, isInlineJob, issuesLine, submitInline } from '../../../shared/client/specs.ts';
import { newJobId } from '../../../shared/protocol/ids.ts';
import { JobIdSchema, jobSpecJsonSchema, type EngineName, type JobStatus } from '../../../shared/protocol/schemas.ts';
import { V2InputError } from '../../../shared/protocol/v2-input.ts';
import { toBibtex, type Reference } from '../../../shared/algo/citations.ts';
import { digestEvents, usageOf, wallTime, type UsageSummary } from '../summary.ts';
import { lastJobEvent, readJobEvents } from '../job-events.ts';
import { HttpError } from '../http.ts';
import { callerOf, statusFor, submitAs } from '../access.ts';
import type { Caller } from '../auth.ts';

export interface JobRoutesOptions {
  bus: Bus;
  /** Engine of submitted jobs that name none. */
  defaultEngine: EngineName;
}

/** The job id of a route, checked. */
export function jobIdParam(params: unknown): string {
  const id = JobIdSchema.safeParse((params as { id?: unknown }).id);
  if (!id.success) throw new HttpError(400, `invalid job id: ${id.error.issues[0]?.message}`);
  return id.data;
}

/** The job of a route for the caller of the request: 404 when unknown, 403 when another user's. */
export function statusOr404(bus: Bus, params: unknown, caller: Caller): Promise<JobStatus> {
  return statusFor(bus, jobIdParam(params), caller);
}

const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();
const ResultQuery = z.object({ format: z.enum(['md', 'json', 'bibtex']).default('json') }).strict();

function row(s: JobStatus, usage: UsageSummary | null, wallMs: number | null) {
  return {
    jobId: s.jobId,
    pipeline: s.pipeline,
    state: s.state,
    ...(s.owner ? { owner: s.owner } : {}),
    submittedAt: s.submittedAt ?? null,
    startedAt: s.startedAt ?? null,
    finishedAt: s.finishedAt ?? null,
    wallMs,
    usage,
    ...(s.error ? { error: s.error } : {}),
    ...(s.cancelRequested ? { cancelRequested: true } : {}),
    ...(s.review ? { review: s.review } : {}),
  };
}

/** Every job status in the bucket the caller may see (a publisher: its own), newest first. */
async function allStatuses(bus: Bus, caller: Caller): Promise<JobStatus[]> {
  const out: JobStatus[] = [];
  for await (const k of await bus.jobs.keys()) {
    const s = await bus.getStatus(k);
    if (s && (caller.admin || s.owner === caller.user)) out.push(s);
  }
  const when = (s: JobStatus) => Date.parse(s.submittedAt ?? s.startedAt ?? '') || 0;
  return out.sort((a, b) => when(b) - when(a) || b.jobId.localeCompare(a.jobId));
}

/** Usage of a job for the list: its last event's, else (an end without usage) a full read. */
async function listUsage(bus: Bus, s: JobStatus): Promise<{ usage: UsageSummary | null; wall?: number }> {
  const last = await lastJobEvent(bus, s.jobId);
  if (!last) return { usage: null };
  const u = usageOf(last.event);
  const wall = typeof last.event.data?.wallMs === 'number' ? last.event.data.wallMs : undefined;
  if (u) return { usage: u, wall };
  const d = digestEvents((await readJobEvents(bus, s.jobId)).map((e) => e.event));
  return { usage: d.usage, wall: d.wallMs };
}

function resultMarkdown(r: Record<string, any>): string | undefined {
  if (typeof r.markdown === 'string') return r.markdown;
  if (typeof r.answer === 'string') return `${r.answer}\n`;
  return undefined;
}

function resultBibtex(r: Record<string, any>): string | undefined {
  if (typeof r.record?.bibtex === 'string') return r.record.bibtex;
  const refs = r.record?.references;
  return Array.isArray(refs) && refs.length ? `${toBibtex(refs as Reference[])}\n` : undefined;
}

export function registerJobRoutes(app: FastifyInstance, o: JobRoutesOptions): void {
  const { bus } = o;

  app.get('/schema', async () => jobSpecJsonSchema());

  app.post('/jobs', async (req, reply) => {
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpError(400, `the body must be a JSON object (a job spec, or {"pipeline":"v1","document":…} / {"pipeline":"v2","record":…}); got ${Array.isArray(body) ? 'an array' : body === null || body === undefined ? 'nothing' : typeof body}`);
    }
    const caller = callerOf(req);
    try {
      if (isInlineJob(body)) {
        const parsed = InlineJobSchema.safeParse(body);
        if (!parsed.success) throw new HttpError(400, `invalid job: ${issuesLine(parsed.error)}`);
        const job = { ...parsed.data, jobId: parsed.data.jobId ?? newJobId(parsed.data.pipeline === 'v1' ? 'ask' : 'survey') };
        const spec = await submitAs(bus, caller, job.jobId, (b) => submitInline(b, job, { engine: o.defaultEngine }));
        return reply.code(202).send({ jobId: spec.jobId });
      }
      const b = body as Record<string, unknown>;
      const jobId = JobIdSchema.safeParse(b.jobId).success ? (b.jobId as string) : b.jobId === undefined ? newJobId() : undefined;
      if (!jobId) throw new HttpError(400, `invalid job: jobId: ${JobIdSchema.safeParse(b.jobId).error?.issues[0]?.message}`);
      const spec = await submitAs(bus, caller, jobId, (bus) => submitJob(bus, { ...b, jobId } as never));
      return reply.code(202).send({ jobId: spec.jobId });
    } catch (e) {
      if (e instanceof V2InputError) throw new HttpError(400, `invalid record: ${e.message}`);
      if (/^invalid job:/.test((e as Error).message)) throw new HttpError(400, (e as Error).message);
      throw e;
    }
  });

  app.get('/jobs', async (req) => {
    const q = ListQuery.safeParse(req.query);
    if (!q.success) throw new HttpError(400, `bad query: ${issuesLine(q.error)}`);
    const page = (await allStatuses(bus, callerOf(req))).slice(0, q.data.limit);
    const jobs = await Promise.all(
      page.map(async (s) => {
        const { usage, wall } = await listUsage(bus, s);
        return row(s, usage, wallTime(s, wall));
      }),
    );
    return { jobs };
  });

  app.get('/jobs/:id', async (req) => {
    const s = await statusOr404(bus, req.params, callerOf(req));
    const d = digestEvents((await readJobEvents(bus, s.jobId)).map((e) => e.event));
    return {
      ...row(s, d.usage, wallTime(s, d.wallMs)),
      attempts: s.attempts,
      hasResult: Boolean(s.resultKey),
      stages: d.stages,
      failures: d.failures,
      repairs: d.repairs,
      refinement: d.refinement,
      lastEvent: d.last ?? null,
    };
  });

  app.get('/jobs/:id/result', async (req, reply) => {
    const q = ResultQuery.safeParse(req.query);
    if (!q.success) throw new HttpError(400, `bad query: ${issuesLine(q.error)} (format is md, json or bibtex)`);
    const s = await statusOr404(bus, req.params, callerOf(req));
    if (!s.resultKey) throw new HttpError(404, `job ${s.jobId} has no result (state: ${s.state}${s.error ? `: ${s.error}` : ''})`);
    const r = (await fetchResult(bus, s)) as Record<string, any>;
    if (q.data.format === 'json') return reply.header('content-type', 'application/json; charset=utf-8').send(r);
    const text = q.data.format === 'md' ? resultMarkdown(r) : resultBibtex(r);
    if (text === undefined) throw new HttpError(404, `job ${s.jobId}'s result has no ${q.data.format === 'md' ? 'Markdown' : 'references for BibTeX'}; ask for format=json`);
    const type = q.data.format === 'md' ? 'text/markdown; charset=utf-8' : 'application/x-bibtex; charset=utf-8';
    return reply.header('content-type', type).send(text);
  });

  app.post('/jobs/:id/cancel', async (req, reply) => {
    const s = await statusOr404(bus, req.params, callerOf(req));
    if (TERMINAL.has(s.state)) throw new HttpError(409, `job ${s.jobId} has already ${s.state === 'cancelled' ? 'been cancelled' : s.state}; nothing to cancel`);
    await cancelJob(bus, s.jobId);
    return reply.code(202).send({ jobId: s.jobId, cancelRequested: true });
  });
}

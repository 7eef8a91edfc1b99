/**
 * Outline review from a client (CLI, gateway, your program): read the outline a paused job
 * waits on, put an edited one, resume the job; on a finished survey, an edited outline starts a
 * rerun that rewrites only what the edit touches (docs/outline-review.md).
 *
 * Publishers ask the coordinators (job API verbs outline-get, outline-put, resume), which
 * answer only for the publisher's own jobs; administrators' connections use the store directly.
 */
import type { Bus } from '../bus/bus.ts';
import type { JobSpecInput, JobStatus } from '../protocol/schemas.ts';
import { newJobId } from '../protocol/ids.ts';
import { OutlineNodeSchema, type OutlineNode } from '../algo/outline.ts';
import { normaliseOutline } from '../algo/outline-review.ts';
import { ReviewError, reviewGet, reviewPut, reviewResume, type OutlineView, type PutReply, type ReviewGate } from '../jobs/review-store.ts';
import { ask, fetchResult, jobStatus, publisherOf, submitJob } from './client.ts';

export { ReviewError, type OutlineView, type PutReply } from '../jobs/review-store.ts';

async function statusOf(bus: Bus, jobId: string): Promise<JobStatus> {
  const s = await jobStatus(bus, jobId);
  if (!s) throw new ReviewError(`no job ${jobId} on this bus`);
  return s;
}

/** The parts of a finished survey's result a rerun builds on. */
interface SurveyRecord {
  outline: OutlineNode;
  params: Record<string, unknown> & { maxDepth?: number; inputKey?: string };
  inputKey?: string;
  job?: { engine?: 'extractive' | 'openai'; seed?: number; cache?: 'use' | 'record' | 'replay' | 'off' };
}

async function surveyRecord(bus: Bus, status: JobStatus): Promise<SurveyRecord> {
  if (status.pipeline !== 'v2') throw new ReviewError(`job ${status.jobId} is a ${status.pipeline} job; only surveys (v2) have an outline`);
  const result = (await fetchResult(bus, status)) as { record?: SurveyRecord };
  const rec = result.record;
  if (!rec || !OutlineNodeSchema.safeParse(rec.outline).success) throw new ReviewError(`the result of job ${status.jobId} has no outline`);
  return rec;
}

async function viaApi(bus: Bus, user: string, verb: 'outline-get' | 'outline-put' | 'resume', body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await ask(bus, user, verb, body);
  if (!('review' in r)) throw new Error(`the coordinator sent no review answer to ${verb}`);
  return r.review;
}

/** The outline to edit: a paused job's (latest edit, else its draft), or a finished survey's. */
export async function getOutline(bus: Bus, jobId: string): Promise<OutlineView> {
  const status = await statusOf(bus, jobId);
  if (status.state === 'succeeded') {
    const rec = await surveyRecord(bus, status);
    return {
      jobId,
      state: status.state,
      outline: rec.outline,
      edited: false,
      changes: [],
      maxDepth: rec.params.maxDepth ?? 3,
      next: `edit the outline, then \`llmxmr outline put ${jobId} o.json\` to rerun the survey with it (only the sections the edit touches are rewritten)`,
    };
  }
  const user = await publisherOf(bus);
  if (user) return (await viaApi(bus, user, 'outline-get', { jobId })) as unknown as OutlineView;
  return reviewGet(bus, status);
}

/**
 * Put an edited outline. A paused job stores it for its resume; a finished survey starts a
 * rerun with it (`rerunJobId`). Problems come back in plain words and nothing is stored.
 */
export async function putOutline(bus: Bus, jobId: string, outline: unknown): Promise<PutReply> {
  const status = await statusOf(bus, jobId);
  if (status.state === 'succeeded') return startRerun(bus, status, outline);
  const user = await publisherOf(bus);
  if (user) return (await viaApi(bus, user, 'outline-put', { jobId, outline })) as unknown as PutReply;
  return reviewPut(bus, status, outline);
}

/** Let a paused job go on with the outline last put (or its own draft). */
export async function resumeJob(bus: Bus, jobId: string): Promise<{ resumed: true; gate: ReviewGate; edited: boolean; changes: string[] }> {
  const status = await statusOf(bus, jobId);
  const user = await publisherOf(bus);
  if (user) return (await viaApi(bus, user, 'resume', { jobId })) as never;
  return reviewResume(bus, status);
}

/** The spec of a rerun of `base` with an edited outline (pure). */
export function rerunSpec(baseJobId: string, rec: SurveyRecord, edited: { outline: OutlineNode; from: Record<string, string[]> }, jobId = newJobId('survey')): JobSpecInput {
  const { reviewOutline: _r, sources: _s, outline: _o, baseJob: _b, ...params } = rec.params;
  const inputKey = rec.inputKey ?? rec.params.inputKey;
  if (!inputKey) throw new ReviewError(`the result of job ${baseJobId} does not say which input it read; rerun the survey from its input instead`);
  if (!rec.job?.engine) throw new ReviewError(`the result of job ${baseJobId} does not record its engine (written by an older version); rerun the survey from its input instead`);
  return {
    jobId,
    pipeline: 'v2',
    engine: rec.job.engine,
    ...(rec.job.seed !== undefined ? { seed: rec.job.seed } : {}),
    ...(rec.job.cache ? { cache: rec.job.cache } : {}),
    params: { ...params, inputKey, outline: edited.outline, baseJob: { jobId: baseJobId, from: edited.from } } as never,
  };
}

async function startRerun(bus: Bus, status: JobStatus, raw: unknown): Promise<PutReply> {
  const rec = await surveyRecord(bus, status);
  const n = normaliseOutline(raw, rec.outline, { maxDepth: rec.params.maxDepth ?? 3, strictIds: true });
  if (!n.ok) return n;
  if (!n.changes.length) return { ok: true, outline: n.outline, changes: [], repairs: n.repairs, note: 'the outline is unchanged: nothing to rerun' };
  const spec = await submitJob(bus, rerunSpec(status.jobId, rec, n));
  return { ok: true, outline: n.outline, changes: n.changes, repairs: n.repairs, rerunJobId: spec.jobId };
}

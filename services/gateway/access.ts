/**
 * Per-caller access for the routes: the caller of a request (set by the auth hook), a job's
 * status only for its owner (or the administrator), administrator-only operations, and
 * submissions made as the calling publisher, so the coordinator records that user as owner.
 */
import type { FastifyRequest } from 'fastify';
import type { Bus } from '../../shared/bus/bus.ts';
import { actingAs } from '../../shared/client/client.ts';
import { encode } from '../../shared/protocol/codec.ts';
import type { JobSpec, JobStatus } from '../../shared/protocol/schemas.ts';
import { NotYourJobError, mayAccess } from '../../shared/security/job-api.ts';
import { ADMIN, type Caller } from './auth.ts';
import { HttpError } from './http.ts';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
}

export function callerOf(req: FastifyRequest): Caller {
  return req.caller ?? ADMIN;
}

/** A job's status for this caller: 404 when unknown, 403 "not your job" when another user's. */
export async function statusFor(bus: Bus, jobId: string, caller: Caller): Promise<JobStatus> {
  const s = await bus.getStatus(jobId);
  if (!s) throw new HttpError(404, `no job ${jobId} on this cluster (see GET /api/jobs)`);
  if (!mayAccess(s, caller.user)) throw new NotYourJobError(jobId);
  return s;
}

/** Refuse a publisher an operator's action, saying which token it needs. */
export function requireAdmin(caller: Caller, what: string): void {
  if (!caller.admin) throw new HttpError(403, `${what} is for the cluster's operator: your token is publisher "${caller.user}"'s; use the gateway's admin token (LLMXMR_HTTP_TOKEN)`);
}

/** The bus as the caller submits on: its own for the administrator, the user's subjects for a publisher. */
export function submitterBus(bus: Bus, caller: Caller): Bus {
  return caller.admin ? bus : actingAs(bus, caller.user);
}

/** Record a publisher's just-submitted job as queued with its owner, unless a coordinator already recorded it. */
export async function recordQueued(bus: Bus, owner: string, spec: Pick<JobSpec, 'jobId' | 'pipeline' | 'submittedAt'>): Promise<void> {
  const queued: JobStatus = { jobId: spec.jobId, pipeline: spec.pipeline, state: 'queued', attempts: 0, submittedAt: spec.submittedAt ?? new Date().toISOString(), owner };
  await bus.jobs.create(spec.jobId, encode(queued)).catch((e: Error) => {
    if (!/exists|wrong last sequence/i.test(e.message)) throw e;
  });
}

/**
 * Submit a job as the caller. A publisher's job (and its inputs) go on the user's own subjects;
 * a job id another user already holds is refused before anything is sent. The job's status is
 * recorded as queued with its owner at once (create-only, so a coordinator that took the job
 * first keeps its own), so that it can be followed right away.
 */
export async function submitAs(bus: Bus, caller: Caller, jobId: string, submit: (bus: Bus) => Promise<JobSpec>): Promise<JobSpec> {
  if (caller.admin) return submit(bus);
  const existing = await bus.getStatus(jobId);
  if (existing && existing.owner !== caller.user) throw new NotYourJobError(jobId);
  const spec = await submit(submitterBus(bus, caller));
  if (!existing) await recordQueued(bus, caller.user, spec);
  return spec;
}

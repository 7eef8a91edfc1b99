/**
 * The publishers' job API: requests a publisher sends to coordinators on its own subjects
 * (`<p>.api.<user>.<verb>`, see owners.ts) and their replies. JSON both ways, so programs in
 * any language can use it; validated with zod on both sides. Pure: no I/O.
 */
import { z } from 'zod';
import { JobIdSchema, JobStatusSchema, type JobStatus } from '../protocol/schemas.ts';

export const ApiRequestSchema = z.object({
  jobId: JobIdSchema,
  /** Result only: which part of the result to send (results are sent in parts of PART_BYTES). */
  part: z.number().int().nonnegative().optional(),
  /** outline-put only: the edited outline (checked by the coordinator). */
  outline: z.unknown().optional(),
});
export type ApiRequest = z.infer<typeof ApiRequestSchema>;

/** Raw bytes of a result per reply (base64 in the reply keeps it under NATS' 1 MiB messages). */
export const PART_BYTES = 384 * 1024;

export const API_ERROR_CODES = ['not-found', 'not-yours', 'no-result', 'bad-request', 'internal'] as const;

export const ApiReplySchema = z.union([
  z.object({ ok: z.literal(true), status: JobStatusSchema }),
  z.object({ ok: z.literal(true), parts: z.number().int().positive(), part: z.number().int().nonnegative(), data: z.string() }),
  z.object({ ok: z.literal(true), cancelled: z.literal(true) }),
  /** outline-get / outline-put / resume: the review step's answer (shared/jobs/review-store.ts). */
  z.object({ ok: z.literal(true), review: z.record(z.string(), z.unknown()) }),
  z.object({ ok: z.literal(false), code: z.enum(API_ERROR_CODES), error: z.string() }),
]);
export type ApiReply = z.infer<typeof ApiReplySchema>;

/** A publisher asked about a job it does not own. */
export class NotYourJobError extends Error {
  constructor(jobId: string) {
    super(`not your job: ${jobId} was submitted by another user`);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeJson(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

export function decodeRequest(data: Uint8Array): ApiRequest | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(dec.decode(data));
  } catch {
    return { error: 'the request is not JSON' };
  }
  const r = ApiRequestSchema.safeParse(raw);
  return r.success ? r.data : { error: r.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ') };
}

export function decodeReply(data: Uint8Array): ApiReply {
  let raw: unknown;
  try {
    raw = JSON.parse(dec.decode(data));
  } catch {
    throw new Error('the coordinator sent a reply that is not JSON');
  }
  const r = ApiReplySchema.safeParse(raw);
  if (!r.success) throw new Error(`the coordinator sent an unexpected reply: ${r.error.issues[0]?.message}`);
  return r.data;
}

/** What a publisher may see of its job's status (which coordinator runs it stays internal). */
export function publicStatus(s: JobStatus): JobStatus {
  const { coordinator: _c, ...rest } = s;
  return rest;
}

/** Whether `user` (undefined: an administrator's connection) may see and act on the job. */
export function mayAccess(status: JobStatus, user: string | undefined): boolean {
  return user === undefined || status.owner === user;
}

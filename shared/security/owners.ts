/**
 * Per-user names: the subjects a publisher (a user of the `client` role) owns, the stream its
 * uploads go to, and the store only coordinators read. Pure: no I/O.
 *
 * A publisher never touches the shared stores. It publishes its job on
 * `<p>.jobs.submit.<user>`, its input documents on `<p>.uploads.<user>.<id>`, asks coordinators
 * about its jobs on `<p>.api.<user>.<verb>` and hears its jobs' progress on
 * `<p>.api.<user>.events.<jobId>`. The server's permissions allow a user only its own token, so
 * the token a coordinator reads from a subject is the authenticated user: the job's owner.
 */
import { names as makeNames } from '../protocol/names.ts';

/** A user name as one subject token (the same replacement as inbox prefixes). */
export function userToken(user: string): string {
  const token = user.replace(/[^A-Za-z0-9_-]/g, '_');
  if (!token) throw new Error('a user name cannot be empty');
  return token;
}

/** `outline-get`, `outline-put` and `resume` act on a job paused for outline review (shared/jobs/review-store.ts). */
export const API_VERBS = ['status', 'result', 'cancel', 'outline-get', 'outline-put', 'resume'] as const;
export type ApiVerb = (typeof API_VERBS)[number];

export interface OwnerNames {
  /** Submission subject of one user (the JOBS stream also holds `<p>.jobs.submit`, the administrator's). */
  submitAs(user: string): string;
  /** Every per-user submission subject. */
  submitUsers: string;
  /** Work-queue-free stream holding uploaded inputs, kept for a day. */
  uploadsStream: string;
  uploadsAll: string;
  upload(user: string, id: string): string;
  /** Request subject of one verb for one user, and the coordinators' subscription for it. */
  api(user: string, verb: ApiVerb): string;
  apiAll(verb: ApiVerb): string;
  /** A job's progress, relayed by its coordinator to its owner only. */
  events(user: string, jobId: string): string;
  /** Object Store of final results: coordinators only (publishers fetch through the API). */
  finalStore: string;
}

export function ownerNames(prefix = 'mr'): OwnerNames {
  const n = makeNames(prefix);
  const p = n.prefix;
  return {
    submitAs: (user) => `${n.subjects.submit}.${userToken(user)}`,
    submitUsers: `${n.subjects.submit}.*`,
    uploadsStream: `${p.toUpperCase()}_UPLOADS`,
    uploadsAll: `${p}.uploads.>`,
    upload: (user, id) => `${p}.uploads.${userToken(user)}.${id}`,
    api: (user, verb) => `${p}.api.${userToken(user)}.${verb}`,
    apiAll: (verb) => `${p}.api.*.${verb}`,
    events: (user, jobId) => `${p}.api.${userToken(user)}.events.${jobId}`,
    finalStore: `${p}_final`,
  };
}

/** The owner named by a per-user submission subject; undefined for the administrator's subject. */
export function ownerOfSubmission(prefix: string, subject: string): string | undefined {
  const base = `${makeNames(prefix).subjects.submit}.`;
  if (!subject.startsWith(base)) return undefined;
  const user = subject.slice(base.length);
  return user && !user.includes('.') ? user : undefined;
}

/** The user of an API request subject `<p>.api.<user>.<verb>`. */
export function userOfApiSubject(prefix: string, subject: string): string | undefined {
  const parts = subject.split('.');
  const base = `${makeNames(prefix).prefix}.api`.split('.');
  if (parts.length !== base.length + 2 || base.some((b, i) => parts[i] !== b)) return undefined;
  return parts[base.length];
}

/** Spec parameters that name an input in the Object Store (read by the coordinator only). */
export const INPUT_PARAMS = ['docKey', 'inputKey'] as const;
/** How a job refers to an input its owner uploaded. */
export const UPLOAD_REF = 'upload:';

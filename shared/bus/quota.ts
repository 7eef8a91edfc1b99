/**
 * The per-user job quota, as the submitter sees it. The server enforces it: the jobs stream
 * keeps at most MR_USER_MAX_JOBS messages per submission subject (one subject per user, see
 * shared/security/owners.ts) and refuses a new one past it, and a job's message stays in the
 * stream while the job is queued or running.
 */
import type { JetStreamManager } from '@nats-io/jetstream';

/** The server's answer to a publish past a subject's message limit (discard-new-per-subject). */
export function isPerSubjectLimit(e: unknown): boolean {
  return /maximum messages per subject/i.test(String((e as Error)?.message));
}

/**
 * The "quota exceeded" error for a refused submission on `subject` of the jobs `stream`, or
 * undefined when the refusal was something else. `who` is the user ("the administrator" for
 * the administrator's subject).
 */
export async function quotaError(jsm: JetStreamManager, stream: string, subject: string, who: string, cause: unknown): Promise<Error | undefined> {
  if (!isPerSubjectLimit(cause)) return undefined;
  const info = await jsm.streams.info(stream, { subjects_filter: subject }).catch(() => null);
  const limit = info?.config.max_msgs_per_subject;
  const held = (info?.state.subjects as Record<string, number> | undefined)?.[subject] ?? limit;
  return new Error(`quota exceeded: ${who} has ${held ?? 'too many'} jobs queued or running (limit MR_USER_MAX_JOBS=${limit ?? '?'})`);
}

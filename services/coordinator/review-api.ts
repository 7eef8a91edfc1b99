/**
 * The coordinators' answers to a publisher's outline review requests (job API verbs
 * outline-get, outline-put, resume) for its own paused job; the store is
 * shared/jobs/review-store.ts. A step that cannot be done now is a bad request that says why.
 */
import type { Bus } from '../../shared/bus/bus.ts';
import type { JobStatus } from '../../shared/protocol/schemas.ts';
import type { ApiVerb } from '../../shared/security/owners.ts';
import type { ApiReply } from '../../shared/security/job-api.ts';
import { ReviewError, reviewGet, reviewPut, reviewResume } from '../../shared/jobs/review-store.ts';

export const isReviewVerb = (verb: ApiVerb): verb is 'outline-get' | 'outline-put' | 'resume' => verb === 'outline-get' || verb === 'outline-put' || verb === 'resume';

export async function answerReview(bus: Bus, verb: 'outline-get' | 'outline-put' | 'resume', status: JobStatus, outline: unknown): Promise<ApiReply> {
  try {
    const review = verb === 'outline-get' ? await reviewGet(bus, status) : verb === 'outline-put' ? await reviewPut(bus, status, outline) : await reviewResume(bus, status);
    return { ok: true, review: review as unknown as Record<string, unknown> };
  } catch (e) {
    if (e instanceof ReviewError) return { ok: false, code: 'bad-request', error: e.message };
    throw e;
  }
}

/**
 * Jobs that a submitted job refers to: a survey rerun names its base job (whose digests and task
 * results it reuses) and reads the input that job staged. A publisher may refer only to its own
 * jobs; an administrator's job may refer to any.
 */
import type { Bus } from '../../shared/bus/bus.ts';
import type { JobSpec } from '../../shared/protocol/schemas.ts';

/** Object Store keys a job stages for itself: `inputs/<jobId>/…` (uploads) and `jobs/<jobId>/…` (fetched sources). */
const STAGED = /^(?:inputs|jobs)\/([A-Za-z0-9_-]{1,64})\//;

async function ownedBy(bus: Bus, jobId: string, owner: string): Promise<boolean> {
  const s = await bus.getStatus(jobId);
  return !!s && s.owner === owner;
}

/** Whether `key` is an input staged for one of `owner`'s own jobs. */
export async function isOwnStagedInput(bus: Bus, key: string, owner: string): Promise<boolean> {
  const m = STAGED.exec(key);
  return !!m && (await ownedBy(bus, m[1], owner));
}

/** Refuse a publisher's job that names someone else's job as its base. */
export async function checkJobRefs(bus: Bus, spec: JobSpec, owner: string | undefined): Promise<void> {
  const base = spec.pipeline === 'v2' ? spec.params.baseJob?.jobId : undefined;
  if (!base || !owner) return;
  if (!(await ownedBy(bus, base, owner))) throw new Error(`baseJob: ${base} is not one of your jobs (a rerun builds only on your own finished surveys)`);
}

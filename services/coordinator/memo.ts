/**
 * Results reused from earlier jobs. A survey rerun computes its task ids in its base job's
 * namespace (the base job's id, or the namespace that job itself used), so a task whose input
 * the edit did not change has the very id it had in the base run, and its stored result is
 * found under one of the earlier jobs' keys instead of being computed again.
 */
import type { Bus } from '../../shared/bus/bus.ts';
import type { TaskResult } from '../../shared/protocol/schemas.ts';
import { readFinal } from './job-api.ts';

export interface Memo {
  /** The job id task ids are computed with. */
  namespace: string;
  /** Jobs whose stored results are reused, nearest first. */
  jobs: string[];
}

/** A successful result of task `id` stored by one of the memo's jobs, or null. */
export async function findReused(bus: Bus, memo: Memo, id: string): Promise<TaskResult | null> {
  for (const job of memo.jobs) {
    const r = await bus.getResult(job, id);
    if (r && r.status === 'ok') return r;
  }
  return null;
}

/** The stored final result of a finished job. */
export async function readFinalResult(bus: Bus, jobId: string): Promise<Record<string, unknown>> {
  const s = await bus.getStatus(jobId);
  if (!s || s.state !== 'succeeded' || !s.resultKey) throw new Error(`job ${jobId} has no finished result to build on (${s ? `state ${s.state}` : 'no such job'})`);
  const bytes = await readFinal(bus, s.resultKey);
  if (!bytes) throw new Error(`the result of job ${jobId} is missing from the store (${s.resultKey})`);
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/**
 * Task results whose stored output has gone missing (a part of a large output in the results
 * bucket, or an Object Store blob). Such a result is of no use, and results are write-once: a
 * worker that runs the task again cannot replace it. The coordinator removes the record and the
 * parts of its output (by message, so nothing else in the bucket is touched), and the task runs
 * again, at most MAX_OUTPUT_RERUNS times; after that the task fails naming the missing key.
 */
import type { Bus } from '../../shared/bus/bus.ts';
import { decode } from '../../shared/protocol/codec.ts';
import { TaskResultSchema, type TaskResult } from '../../shared/protocol/schemas.ts';

export const MAX_OUTPUT_RERUNS = 2;
const PARTS = /^kv-parts:(\d+)$/;

export function isMissingOutput(e: unknown): boolean {
  return e instanceof Error && /is missing from the store/.test(e.message);
}

/** Which stored key of a result's output is missing (the first one, for a parted output). */
export async function missingOutputKey(bus: Bus, r: TaskResult): Promise<string> {
  const parts = PARTS.exec(r.outputKey ?? '');
  if (!parts) return `"${r.outputKey}" in the Object Store`;
  for (let i = 0; i < Number(parts[1]); i++) {
    const key = bus.partKey(r.jobId, r.taskId, i);
    const e = await bus.results.get(key);
    if (!e || e.operation !== 'PUT') return `"${key}" in the results bucket`;
  }
  return `a part of "${r.outputKey}" in the results bucket`;
}

const gone = (e: Error) => /no message found|not found|10037/i.test(e.message);

/**
 * Remove a task's stored result and the parts of its output. Returns false when the result was
 * gone already (another reader removed it first: that one runs the task again).
 */
export async function dropResult(bus: Bus, jobId: string, taskId: string): Promise<boolean> {
  const stream = `KV_${bus.names.buckets.results}`;
  const e = await bus.results.get(bus.names.resultKey(jobId, taskId));
  if (!e || e.operation !== 'PUT') return false;
  const d = decode(TaskResultSchema, e.value);
  const parts = Number(PARTS.exec((d.ok && d.value.outputKey) || '')?.[1] ?? 0);
  // Parts first: a rerun writes its parts create-if-absent, and must not mix in the old ones.
  for (let i = 0; i < parts; i++) {
    const p = await bus.results.get(bus.partKey(jobId, taskId, i));
    if (p && p.operation === 'PUT') await bus.jsm.streams.deleteMessage(stream, p.revision, false).catch((err: Error) => {
        if (!gone(err)) throw err;
      });
  }
  try {
    await bus.jsm.streams.deleteMessage(stream, e.revision, false);
    return true;
  } catch (err) {
    if (gone(err as Error)) return false;
    throw err;
  }
}

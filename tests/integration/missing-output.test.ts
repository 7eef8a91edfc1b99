/**
 * Task results are write-once, and a large output lives in parts beside its result: a part that
 * has gone missing makes the result an error (never "ok" without output), and running the task
 * again brings the part back. A delivered task whose stored output is missing runs again instead
 * of being skipped, and a task whose input blob is missing is retried, then fails saying which.
 * The coordinator, finding a task's stored output missing, removes the result and runs the task
 * again (twice at most), then fails the task naming the missing key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PROTOCOL_VERSION, ZERO_USAGE, type TaskEnvelope, type TaskResult } from '../../shared/protocol/schemas.ts';
import { defineOp } from '../../shared/ops/op.ts';
import { extractiveEngine } from '../../shared/llm/extractive.ts';
import { startWorker, type Worker } from '../../shared/bus/worker.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { createLogger } from '../../shared/log/logger.ts';
import { testCluster, until, type TestCluster } from '../helpers/cluster.ts';
import { JobRun } from '../../services/coordinator/context.ts';
import { taskId as makeTaskId } from '../../shared/protocol/ids.ts';
import { JobSpecSchema } from '../../shared/protocol/schemas.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await testCluster();
});
afterAll(async () => {
  await worker?.stop();
  await c?.close();
});

let worker: Worker | undefined;
const runs: string[] = [];
/** A large output (1.3 MB, three parts), or the text of an input blob. */
const bigOp = defineOp({
  name: 'test.big',
  kind: 'map',
  version: 1,
  input: z.object({ key: z.string().optional() }),
  output: z.object({ text: z.string() }),
  prompt: () => [{ role: 'user', content: 'big' }],
  async extractive(i: { key?: string }, env) {
    runs.push(i.key ?? 'big');
    return { text: i.key ? await env.blobText(i.key) : 'abcdefghij'.repeat(130_000) };
  },
});

function startBigWorker() {
  worker = startWorker({
    bus: c.bus, kind: 'map', ops: [bigOp], engineFor: () => extractiveEngine, concurrency: 2, maxDeliver: 3, ackWaitMs: 5_000,
    log: createLogger('test', 'silent'), id: 'mo-worker',
  });
}

async function publishTask(jobId: string, taskId: string, input: Record<string, unknown>) {
  const env: TaskEnvelope = { v: PROTOCOL_VERSION, jobId, taskId, kind: 'map', op: 'test.big', engine: 'extractive', input };
  await c.bus.js.publish(c.bus.names.subjects.task('map', 'test.big'), encode(env), { msgID: `${taskId}.${Date.now()}` });
}

const result = (text: string): TaskResult => ({
  v: PROTOCOL_VERSION, jobId: 'mo-job', taskId: 'mo-task', op: 'test.echo', status: 'ok', output: { text }, attempts: 1, worker: 'w', durationMs: 1, usage: { ...ZERO_USAGE },
});

describe('large task outputs', () => {
  it('are stored in write-once parts; a missing part is an error until the task writes it again', async () => {
    const text = 'abcdefghij'.repeat(130_000); // 1.3 MB: three parts
    expect(await c.bus.putResult(result(text))).toBe(true);
    expect(((await c.bus.getResult('mo-job', 'mo-task'))!.output as { text: string }).text).toBe(text);
    await expect(c.bus.results.put('mo-job.mo-task', new Uint8Array(1))).rejects.toThrow(/maximum messages per subject/);

    const bucket = c.bus.names.buckets.results;
    await c.bus.jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}._parts.mo-job.mo-task.1` });
    await expect(c.bus.getResult('mo-job', 'mo-task')).rejects.toThrow(/output of task mo-task \(job mo-job\) is missing/);

    // a rerun of the task: the result exists (false), the missing part is written again
    expect(await c.bus.putResult(result(text))).toBe(false);
    expect(((await c.bus.getResult('mo-job', 'mo-task'))!.output as { text: string }).text).toBe(text);
  });
});

describe('tasks whose stored data is missing', () => {
  it('a delivered task whose stored output lost a part runs again (not skipped for its existing result) and restores it', async () => {
    const taskId = 'f'.repeat(32);
    const stored: TaskResult = { ...result('abcdefghij'.repeat(130_000)), jobId: 'mo-job2', taskId, op: 'test.big' };
    expect(await c.bus.putResult(stored)).toBe(true);
    const bucket = c.bus.names.buckets.results;
    await c.bus.jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}._parts.mo-job2.${taskId}.2` });
    await expect(c.bus.getResult('mo-job2', taskId)).rejects.toThrow(/is missing from the store/);
    startBigWorker();
    await publishTask('mo-job2', taskId, {});
    const r = await until('the restored output', async () => (await c.bus.getResult('mo-job2', taskId).catch(() => null)) ?? undefined, 20_000);
    expect(r.status).toBe('ok');
    expect((r.output as { text: string }).text).toHaveLength(1_300_000);
    expect(runs.filter((k) => k === 'big')).toHaveLength(1);
  });

  it('a task whose input blob is missing is retried, then fails naming the blob, never "ok" without output', async () => {
    const taskId = 'e'.repeat(32);
    if (!worker) startBigWorker();
    await publishTask('mo-job3', taskId, { key: 'jobs/mo-job3/papers/P001.txt' });
    const r = await until('the failure result', async () => (await c.bus.getResult('mo-job3', taskId)) ?? undefined, 30_000);
    expect(r.status).toBe('failed');
    expect(r.output).toBeUndefined();
    expect(r.error).toBe('blob "jobs/mo-job3/papers/P001.txt" not found in the Object Store (gave up after 3 deliveries)');
    expect(r.attempts).toBe(3);
    expect(runs.filter((k) => k.startsWith('jobs/mo-job3/'))).toHaveLength(3);
  });
});

describe('the coordinator, finding a stored task output missing', () => {
  const jobRun = (jobId: string) =>
    new JobRun(c.bus, JobSpecSchema.parse({ jobId, pipeline: 'v1', params: { docKey: 'd', question: 'q' } }), createLogger('test', 'silent'), new AbortController().signal);
  const bucket = () => c.bus.names.buckets.results;

  it('removes the result and runs the task again, which stores the whole output anew', async () => {
    if (!worker) startBigWorker();
    const jobId = 'mo-job4';
    const taskId = makeTaskId(jobId, 'test.big', {});
    expect(await c.bus.putResult({ ...result('x'.repeat(1_300_000)), jobId, taskId, op: 'test.big' })).toBe(true);
    await c.bus.jsm.streams.purge(`KV_${bucket()}`, { filter: `$KV.${bucket()}._parts.${jobId}.${taskId}.1` });
    const before = runs.filter((k) => k === 'big').length;
    const run = jobRun(jobId);
    await run.start();
    try {
      const s = await run.runSettled(bigOp, {});
      expect(s.ok && s.value.text).toBe('abcdefghij'.repeat(130_000)); // the new run's output, no part of the old one
      expect(runs.filter((k) => k === 'big').length).toBe(before + 1);
      expect(((await c.bus.getResult(jobId, taskId))!.output as { text: string }).text).toHaveLength(1_300_000);
    } finally {
      run.stop();
    }
  });

  it('after two re-runs whose output goes missing too, fails the task naming the missing key', async () => {
    const jobId = 'mo-job5';
    // A reduce op: no worker serves it here; the test stores each attempt's result, its output lost.
    const lostOp = defineOp({ ...bigOp, name: 'test.lost', kind: 'reduce' });
    const taskId = makeTaskId(jobId, 'test.lost', {});
    const key = c.bus.names.resultKey(jobId, taskId);
    const storeBroken = () => c.bus.results.create(key, encode({ ...result(''), jobId, taskId, op: 'test.lost', output: undefined, outputKey: 'kv-parts:2' }));
    await storeBroken();
    const run = jobRun(jobId);
    await run.start();
    try {
      const settled = run.runSettled(lostOp, {});
      for (let n = 1; n <= 2; n++) {
        await until(`re-run ${n}: the broken result removed`, async () => (await c.bus.results.get(key)) === null);
        await storeBroken();
      }
      const s = await settled;
      expect(s.ok).toBe(false);
      expect(!s.ok && s.error).toBe(`the output of test.lost task ${taskId} is still missing after 2 re-run(s): "_parts.${jobId}.${taskId}.0" in the results bucket is gone`);
      const published = await c.bus.jsm.streams.info(c.bus.names.streams.tasks, { subjects_filter: c.bus.names.subjects.task('reduce', 'test.lost') });
      expect(published.state.subjects?.[c.bus.names.subjects.task('reduce', 'test.lost')]).toBe(2); // one publish per re-run
    } finally {
      run.stop();
    }
  });
});

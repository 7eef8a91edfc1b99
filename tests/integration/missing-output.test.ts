/**
 * Task results are write-once, and a large output lives in parts beside its result: a part that
 * has gone missing makes the result an error (never "ok" without output), and running the task
 * again brings the part back. A delivered task whose stored output is missing runs again instead
 * of being skipped, and a task whose input blob is missing is retried, then fails saying which.
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

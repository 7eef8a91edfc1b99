/**
 * Task results are write-once, and a large output lives in parts beside its result: a part that
 * has gone missing makes the result an error (never "ok" without output), and running the task
 * again brings the part back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, ZERO_USAGE, type TaskResult } from '../../shared/protocol/schemas.ts';
import { testCluster, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await testCluster();
});
afterAll(async () => c?.close());

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

/**
 * V2 refinement blocks through the real cluster (data-backed on a real arXiv topic): scores per
 * layer never decrease, the refined outline beats the initial one, and a coordinator killed in
 * the middle of layer 3 is replaced by another that finishes with the same survey, publishing
 * only the tasks that had not finished.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { ROOT, spawnRole, testCluster, testEnv, until, type TestCluster } from '../helpers/cluster.ts';

const FILE = join(ROOT, '..', 'shared', 'data', 'v2', 'kv_cache.jsonl');
const have = existsSync(FILE);
if (!have) console.warn(`NOTICE: ${FILE} is absent; refinement end-to-end tests are skipped`);

const conv = { convLayer: 4, resultNum: 6, topK: 4, selfRefineCount: 1, selfRefineBestOf: 2 };
let cluster: TestCluster | undefined;
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await cluster?.close();
});

async function submit(c: TestCluster, jobId: string) {
  const input = readFileSync(FILE, 'utf8').split('\n')[0];
  await c.bus.putBlob(`inputs/${jobId}.json`, input);
  await submitJob(c.bus, { jobId, pipeline: 'v2', seed: 5, params: { inputKey: `inputs/${jobId}.json`, blocks: 1, conv } as never });
}

describe.runIf(have)('V2 refinement through the cluster (data-backed)', () => {
  it('improves the outline layer by layer and survives a coordinator killed in layer 3', async () => {
    const env = testEnv({ MR_ACK_WAIT_MS: '2000', MR_CONCURRENCY: '8' });
    cluster = await testCluster(env);
    for (const r of ['mapper', 'convolver', 'reducer'] as const) await cluster.start(r);

    // Reference run on an in-process coordinator.
    const ref = await cluster.start('coordinator');
    await submit(cluster, 'ref-1');
    const refStatus = await waitForJob(cluster.bus, 'ref-1');
    expect(refStatus.error ?? '').toBe('');
    const refResult = (await fetchResult(cluster.bus, refStatus)) as any;
    const block = refResult.record.refinement[0];
    const bests: number[] = block.layers.map((l: { best: number }) => l.best);
    expect(bests.length).toBe(conv.convLayer + 1);
    expect(bests).toEqual([...bests].sort((a, b) => a - b));
    expect(block.accepted.score).toBeGreaterThan(block.initial.score);
    await ref.stop();
    cluster.roles.splice(cluster.roles.indexOf(ref), 1);

    // The same job (same seed) on a child coordinator that is killed during layer 3.
    const first = spawnRole('coordinator', env);
    children.push(first);
    let layer3 = false;
    const sub = cluster.bus.nc.subscribe(cluster.bus.names.subjects.events('kill-1'), {
      callback: (_e, m) => {
        const d = Bus.decodeEvent(m.data);
        if (d.ok && d.value.stage === 'refine' && d.value.data?.layer === 2) layer3 = true; // layer 3 starts now
      },
    });
    await submit(cluster, 'kill-1');
    await until('layer 3 to start', () => layer3, 90_000);
    first.kill('SIGKILL');
    sub.unsubscribe();
    let published = -1;
    await cluster.start('coordinator');
    const st = await waitForJob(cluster.bus, 'kill-1', {
      onEvent: (e) => {
        if (e.type === 'job.succeeded') published = Number(e.data?.tasksPublished);
      },
    });
    expect(st.error ?? '').toBe('');
    expect(st.attempts).toBe(2);
    const result = (await fetchResult(cluster.bus, st)) as any;
    expect(result.markdown).toBe(refResult.markdown);
    // The resumed run published only what was missing: far fewer tasks than the job holds.
    expect(published).toBeGreaterThanOrEqual(0);
    expect(published).toBeLessThan(result.usage.tasks);
    expect(result.usage.tasks).toBe(refResult.usage.tasks);
  });
});

/**
 * The pipelined first collapse round (services/coordinator/jobs/v1.ts) against the barrier
 * version on a real novel through the cluster: groups are sent while the map stage still runs,
 * and the answer, the groups and the rounds are those of the barrier version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { ROOT, testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

const NOVEL = join(ROOT, '..', 'shared', 'data', 'text', 'austen_persuasion.txt');
const have = existsSync(NOVEL);
if (!have) console.warn(`NOTICE: ${NOVEL} is absent; the pipelined collapse test is skipped`);

let cluster: TestCluster;
beforeAll(async () => {
  if (!have) return;
  // Two map tasks at a time: map results arrive over a while, as on a real fleet.
  cluster = await testCluster(testEnv({ MR_CONCURRENCY: '2' }));
  await cluster.start('coordinator');
  await cluster.start('mapper');
  await cluster.start('reducer');
});
afterAll(async () => cluster?.close());

async function summarise(jobId: string, doc: string, pipelineCollapse: boolean) {
  await cluster.bus.putBlob(`docs/${jobId}`, doc);
  const events: { type: string; stage?: string }[] = [];
  await submitJob(cluster.bus, { jobId, pipeline: 'v1', params: { docKey: `docs/${jobId}`, question: 'Summarise the story so far.', profile: 'sum', window: 2048, maxOutputTokens: 300, pipelineCollapse } });
  const st = await waitForJob(cluster.bus, jobId, { onEvent: (e) => events.push({ type: e.type, stage: e.stage }) });
  if (st.state !== 'succeeded') throw new Error(`${jobId}: ${st.error}`);
  return { result: (await fetchResult(cluster.bus, st)) as Record<string, any>, events };
}

describe.runIf(have)('pipelined collapse (V1)', () => {
  it('starts collapsing before the last map result and answers exactly as the barrier version', async () => {
    const novel = readFileSync(NOVEL, 'utf8');
    const doc = novel;
    const barrier = await summarise('pc-barrier', doc, false);
    const piped = await summarise('pc-piped', doc, true);
    expect(barrier.result.stats.pipelinedGroups).toBe(0);
    expect(piped.result.stats.collapseRounds).toBeGreaterThanOrEqual(1);
    // Groups were sent while maps were still running: the collapse began before the map stage ended.
    expect(piped.result.stats.pipelinedGroups).toBeGreaterThan(0);
    const firstCollapse = piped.events.findIndex((e) => e.stage === 'collapse.1');
    const mapEnd = piped.events.findIndex((e) => e.type === 'stage.finished' && e.stage === 'map');
    expect(firstCollapse).toBeGreaterThanOrEqual(0);
    expect(firstCollapse).toBeLessThan(mapEnd);
    // Same answer, confidence, rounds, tasks and reduce input as the barrier version.
    expect(piped.result.answer).toBe(barrier.result.answer);
    expect(piped.result.confidence).toBe(barrier.result.confidence);
    const { pipelinedGroups: _a, ...pipedStats } = piped.result.stats;
    const { pipelinedGroups: _b, ...barrierStats } = barrier.result.stats;
    expect(pipedStats).toEqual(barrierStats);
  });
});

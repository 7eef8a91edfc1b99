/**
 * Backup tasks for stragglers, through the cluster on the fleet simulator with heavy-tailed
 * latency: a straggling map call gets a second attempt near the end of the stage, the first
 * result stored wins, the slower call is cancelled (the simulator sees the client go away), and
 * the answer is the one a run without backups gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { startFleetSim, type FleetSim } from '../../shared/sim/fleet.ts';
import { ROOT, testCluster, testEnv, until, type TestCluster } from '../helpers/cluster.ts';

const NOVEL = join(ROOT, '..', 'shared', 'data', 'text', 'austen_persuasion.txt');
const have = existsSync(NOVEL);
if (!have) console.warn(`NOTICE: ${NOVEL} is absent; the backup task test is skipped`);

let cluster: TestCluster;
let sim: FleetSim;
beforeAll(async () => {
  if (!have) return;
  // A fifth of the calls take 20 times as long: 300 ms, or 6 s.
  sim = await startFleetSim({ replicas: 1, slots: 64, baseLatencyMs: 300, prefillTokensPerSec: 0, decodeTokensPerSec: 0, tailRate: 0.2, tailFactor: 20, seed: 3 });
  cluster = await testCluster(testEnv({ OPENAI_BASE_URL: sim.url, LLM_MODEL: 'sim-model', MR_CONCURRENCY: '64' }));
  await cluster.start('coordinator');
  await cluster.start('mapper');
  await cluster.start('reducer');
});
afterAll(async () => {
  delete process.env.MR_BACKUP_TASKS;
  await cluster?.close();
  await sim?.close();
});

async function summarise(jobId: string, doc: string) {
  await cluster.bus.putBlob(`docs/${jobId}`, doc);
  const t0 = Date.now();
  await submitJob(cluster.bus, { jobId, pipeline: 'v1', engine: 'openai', cache: 'off', params: { docKey: `docs/${jobId}`, question: 'Summarise the story so far.', profile: 'sum', window: 2048, maxOutputTokens: 200 } });
  const st = await waitForJob(cluster.bus, jobId);
  if (st.state !== 'succeeded') throw new Error(`${jobId}: ${st.error}`);
  return { result: (await fetchResult(cluster.bus, st)) as Record<string, any>, ms: Date.now() - t0 };
}

describe.runIf(have)('backup tasks', () => {
  it('a straggling call gets a second attempt, the first result wins, the slower call is cancelled, the answer is unchanged', async () => {
    const novel = readFileSync(NOVEL, 'utf8');
    const doc = novel.slice(0, Math.floor(novel.length / 4));
    process.env.MR_BACKUP_TASKS = 'off'; // read by each job run as it starts
    const plain = await summarise('bk-off', doc);
    expect(plain.result.usage.backups).toEqual({ sent: 0, won: 0 });
    process.env.MR_BACKUP_TASKS = 'on';
    sim.resetStats();
    const backed = await summarise('bk-on', doc);
    const b = backed.result.usage.backups;
    expect(b.sent).toBeGreaterThan(0);
    expect(b.won).toBeGreaterThan(0);
    expect(b.won).toBeLessThanOrEqual(b.sent);
    // A losing call is stopped, not waited out: the simulator counts a call whose client went
    // away; a call left to run would end normally and never count. The job may finish before
    // the loser's next winner check, so wait for the count rather than read it at once.
    await until('a losing call cancelled', () => sim.stats().clientAborts > 0, 20_000);
    expect(backed.result.answer).toBe(plain.result.answer);
    console.log(`backup tasks: ${plain.ms} ms without, ${backed.ms} ms with (${b.sent} sent, ${b.won} won)`);
  });
});

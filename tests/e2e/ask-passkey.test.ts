/**
 * V1 end to end through the cluster (coordinator + mapper + reducer over NATS) on the offline
 * engine: passkey haystacks built by the InfiniteBench recipe, and the `llmxmr ask` CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../../shared/algo/rng.ts';
import { makeHaystack } from '../../shared/algo/haystack.ts';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { ROOT, dropPrefix, testCluster, testEnv, tmpLog, type TestCluster } from '../helpers/cluster.ts';

const run = promisify(execFile);
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await testCluster(testEnv({ MR_CONCURRENCY: '8' }));
  await cluster.start('coordinator');
  await cluster.start('mapper');
  await cluster.start('reducer');
});
afterAll(async () => cluster?.close());

async function ask(jobId: string, doc: string, question: string, profile: 'retrieval' | 'qa' = 'retrieval') {
  const docKey = `docs/${jobId}.txt`;
  await cluster.bus.putBlob(docKey, doc);
  await submitJob(cluster.bus, { jobId, pipeline: 'v1', params: { docKey, question, profile } });
  const st = await waitForJob(cluster.bus, jobId);
  if (st.state !== 'succeeded') throw new Error(`${jobId} ${st.state}: ${st.error}`);
  return (await fetchResult(cluster.bus, st)) as Record<string, any>;
}

describe('V1 passkey retrieval through the cluster (offline engine)', () => {
  for (const tokens of [32_768, 131_072]) {
    it(`finds the pass key in a ${tokens / 1024}k-token haystack`, async () => {
      const rng = createRng(tokens);
      for (const depth of [0.1, 0.85]) {
        const h = makeHaystack('passkey', tokens, rng, depth);
        const r = await ask(`pk-${tokens}-${Math.round(depth * 100)}`, h.context, h.question);
        expect(r.answer).toContain(h.answer);
        expect(r.confidence).toBeGreaterThanOrEqual(4);
        expect(r.stats.chunks).toBeGreaterThan(tokens / 4096);
      }
    });
  }

  it('finds a 10-digit sequence and a kv value', async () => {
    const rng = createRng(99);
    const ns = makeHaystack('number_string', 32_768, rng, 0.5);
    expect((await ask('ns-1', ns.context, ns.question)).answer).toContain(ns.answer);
    const kv = makeHaystack('kv_retrieval', 16_384, rng);
    expect((await ask('kv-1', kv.context, kv.question)).answer).toContain(kv.answer);
  });
});

describe('llmxmr ask (the README command)', () => {
  it('answers with --json on a 128k-token haystack, starting the services it needs', async () => {
    const h = makeHaystack('passkey', 131_072, createRng(7), 0.42);
    const doc = join(tmpLog(), '..', 'hay.txt');
    writeFileSync(doc, h.context);
    const env = testEnv();
    const { stdout, stderr } = await run(
      process.execPath,
      ['bin/llmxmr.js', 'ask', '--json', '--doc', doc, '--question', h.question, '--profile', 'retrieval', '--prefix', env.MR_PREFIX, '--nats', env.NATS_URL],
      { cwd: ROOT, env: { ...process.env, OPENAI_BASE_URL: '' }, maxBuffer: 1 << 24 },
    ).finally(() => dropPrefix(env));
    const out = JSON.parse(stdout.trim());
    expect(out.answer).toContain(h.answer);
    expect(out.job).toMatch(/^ask-/);
    expect(out.stats.tasks).toBeGreaterThan(30);
    expect(out.stats.modelCalls).toBe(0);
    expect(stderr).toMatch(/tasks done/);
  });
});

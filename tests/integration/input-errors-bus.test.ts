/**
 * The V2 input errors of a job on the bus: the real coordinator prepares the stored record and
 * the job fails with the same words as the CLI (tests/unit/input-errors.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob, waitForJob } from '../../shared/client/client.ts';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await testCluster(testEnv());
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await c.start(r);
});
afterAll(async () => c?.close());

const paper = (t: string) => ({ title: t, txt: `${t}: caches, eviction and the memory they save. `.repeat(20) });

async function failureOf(jobId: string, record: unknown): Promise<string> {
  await c.bus.putBlob(`inputs/${jobId}.json`, JSON.stringify(record));
  await submitJob(c.bus, { jobId, pipeline: 'v2', engine: 'extractive', seed: 1, params: { inputKey: `inputs/${jobId}.json` } } as never);
  const st = await waitForJob(c.bus, jobId);
  expect(st.state).toBe('failed');
  return st.error ?? '';
}

describe('V2 input errors on the bus', () => {
  it('a record that is a JSON array fails the job with "found an array, expected an object"', async () => {
    expect(await failureOf('ie-array', [paper('a'), paper('b')])).toMatch(/the record is not a survey: found an array, expected an object \{"title"/);
  });

  it('papers nested in an extra array fail the job naming papers[0]', async () => {
    const err = await failureOf('ie-nested', { title: 'Caches', papers: [[paper('a'), paper('b'), paper('c')]] });
    expect(err).toMatch(/papers\[0\]: found an array, expected an object .*nested in an extra array\?/);
  });

  it('a record field of the wrong type fails the job naming the field and what was found', async () => {
    expect(await failureOf('ie-title', { title: 12, papers: [paper('a'), paper('b')] })).toMatch(/title: expected text, found a number/);
  });
});

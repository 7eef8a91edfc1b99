/**
 * A crawl resumes after a crash like any other stage: the coordinator running a topic-only job
 * is killed while pages are being fetched; another coordinator replays the job script, finds
 * the finished search and fetch tasks in the results bucket, and completes the job without
 * fetching any page twice.
 */
import { afterAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { spawnRole, testCluster, testEnv, until, type TestCluster } from '../helpers/cluster.ts';
import { fakeWebEnv, startFakeWeb, type FakeWeb } from '../helpers/fake-search.ts';

let cluster: TestCluster | undefined;
let web: FakeWeb | undefined;
const children: ChildProcess[] = [];
const saved = { ...process.env };
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await cluster?.close();
  await web?.close();
  process.env = saved;
});

it('a coordinator killed mid-crawl hands the job to another, which fetches no page twice', async () => {
  web = await startFakeWeb({ papers: 48 });
  web.delayMs = 150;
  Object.assign(process.env, fakeWebEnv(web));
  // A long fetch timeout (a request retried because the fake and the extraction share this
  // process's CPU is not what this test is about) and no backup attempts of stragglers (a slow
  // page may legitimately be fetched by a backup attempt): only the crash is under test.
  const quiet = { MR_FETCH_TIMEOUT_MS: '30000', MR_BACKUP_TASKS: 'off' };
  Object.assign(process.env, quiet);
  const env = testEnv({ MR_ACK_WAIT_MS: '1500', MR_CONCURRENCY: '3', ...fakeWebEnv(web), ...quiet });
  cluster = await testCluster(env);
  for (const r of ['mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
  const first = spawnRole('coordinator', env);
  children.push(first);
  const jobId = 'crawl-resume-1';
  await cluster.bus.putBlob(`inputs/${jobId}.json`, JSON.stringify({ title: 'KV cache compression', papers: [] }));
  await submitJob(cluster.bus, { jobId, pipeline: 'v2', engine: 'extractive', seed: 1, params: { inputKey: `inputs/${jobId}.json`, keepPartial: true, sources: { topic: 'KV cache compression', providers: ['arxiv', 'semanticscholar'], perQuery: 40 } } } as never);
  const pages = () => [...web!.paths].filter(([p]) => /^\/(pdf|abs)\//.test(p));
  await until('a few pages to be fetched', () => pages().length >= 6, 60_000);
  first.kill('SIGKILL');
  const atKill = pages().length;
  await cluster.start('coordinator');
  const st = await waitForJob(cluster.bus, jobId);
  expect(st.state, st.error).toBe('succeeded');
  expect(st.attempts).toBe(2);
  const r = (await fetchResult(cluster.bus, st)) as Record<string, any>;
  expect(r.record.sources.fetched).toBeGreaterThan(atKill);
  expect(pages().filter(([, n]) => n > 1)).toEqual([]);
  expect(r.record.sources.fetched).toBe(pages().length);
}, 240_000);

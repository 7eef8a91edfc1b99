/**
 * `llmxmr gc` as an operator runs it (the real command in a child process) against jobs run by
 * the real coordinator and workers: a finished job's status, results, events, blobs and final
 * result go, a running job and other jobs' blobs stay, and a dry run removes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { cancelJob, submitJob, waitForJob } from '../../shared/client/client.ts';
import { PROTOCOL_VERSION, ZERO_USAGE, type TaskResult } from '../../shared/protocol/schemas.ts';
import { ownerNames } from '../../shared/security/owners.ts';
import { ROOT, testCluster, testEnv, tmpLog, until, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster;
const log = tmpLog();
const fanout = (jobId: string, n: number, ms: number) => ({ jobId, pipeline: 'v1' as const, params: { docKey: 'unused', question: JSON.stringify({ n, ms, log }) } });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function gc(...args: string[]): Promise<Run> {
  const argv = [join(ROOT, 'bin/llmxmr.js'), 'gc', ...args, '--prefix', c.env.MR_PREFIX, '--nats', c.env.NATS_URL];
  // the cluster's delivery settings: every process provisions, and would otherwise reconfigure the consumers
  const env = { ...process.env, LOG_LEVEL: 'silent', MR_ACK_WAIT_MS: String(c.env.MR_ACK_WAIT_MS), MR_MAX_DELIVER: String(c.env.MR_MAX_DELIVER) };
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, env, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function resultKeys(jobId: string): Promise<string[]> {
  const out: string[] = [];
  // one filter per listing: NATS 2.9 has no consumers with several filters
  for (const f of [`${jobId}.>`, `_parts.${jobId}.>`]) for await (const k of await c.bus.results.keys(f)) out.push(k);
  return out;
}

async function eventCount(jobId: string): Promise<number> {
  const info = await c.bus.jsm.streams.info(c.bus.names.streams.events, { subjects_filter: c.bus.names.subjects.events(jobId) });
  return Object.values((info.state.subjects ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
}

const finalStore = () => new Objm(c.bus.js).open(ownerNames(c.env.MR_PREFIX).finalStore);

beforeAll(async () => {
  c = await testCluster(testEnv());
  await c.start('coordinator', { testScripts: true });
  const mapper = await c.start('mapper');
  await submitJob(c.bus, fanout('gc-old', 3, 0));
  expect((await waitForJob(c.bus, 'gc-old')).state).toBe('succeeded');
  // a large task output (stored in parts) and blobs named after the job, and one of another job
  const big: TaskResult = { v: PROTOCOL_VERSION, jobId: 'gc-old', taskId: 'big', op: 'test.echo', status: 'ok', output: { text: 'x'.repeat(1_200_000) }, attempts: 1, worker: 'w', durationMs: 1, usage: { ...ZERO_USAGE } };
  expect(await c.bus.putResult(big)).toBe(true);
  await c.bus.putBlob('jobs/gc-old/papers/P001.txt', 'paper text');
  await c.bus.putBlob('inputs/gc-old.json', '{"title":"t"}');
  await c.bus.putBlob('jobs/gc-keep/papers/P001.txt', 'another job');
  // no mapper from here on: the next job stays running, its task queued
  await mapper.stop();
  c.roles.splice(c.roles.indexOf(mapper), 1);
  await submitJob(c.bus, fanout('gc-running', 1, 0));
  await until('gc-running to run', async () => (await c.bus.getStatus('gc-running'))?.state === 'running');
  await until('a result of gc-old', async () => (await resultKeys('gc-old')).length >= 4);
});

afterAll(async () => {
  await cancelJob(c.bus, 'gc-running').catch(() => undefined);
  await c?.close();
});

describe('llmxmr gc', () => {
  it('a dry run lists what would go and removes nothing', async () => {
    const before = { keys: (await resultKeys('gc-old')).length, events: await eventCount('gc-old') };
    expect(before.events).toBeGreaterThan(0);
    const r = await gc('--older-than', '0', '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^would remove gc-old \(succeeded, finished \S+\): status 1, results \d+, events \d+, blobs 2, final 1; \d+\.\d+ MiB$/m);
    expect(r.stdout).toMatch(/^kept gc-running: running: gc never removes a queued or running job$/m);
    expect(r.stdout).toMatch(/dry run: 1 finished job\(s\) would be removed, \d+\.\d+ MiB would be freed; kept 1 queued or running, 0 finished within 0/);
    expect(await c.bus.getStatus('gc-old')).not.toBeNull();
    expect((await resultKeys('gc-old')).length).toBe(before.keys);
    expect(await eventCount('gc-old')).toBe(before.events);
    expect(await c.bus.blobs.info('jobs/gc-old/papers/P001.txt')).not.toBeNull();

    const recent = await gc('--dry-run', '--json'); // default age: 7 days
    expect(JSON.parse(recent.stdout)).toMatchObject({ dryRun: true, removed: [], kept: expect.arrayContaining([{ jobId: 'gc-old', state: 'succeeded', reason: 'finished too recently' }]) });
  });

  it('refuses to remove a running job by name', async () => {
    const r = await gc('--job', 'gc-running');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/job gc-running is running: gc removes finished jobs only/);
    expect((await c.bus.getStatus('gc-running'))?.state).toBe('running');
  });

  it("removes a finished job's status, results, events, blobs and final result, and says how many bytes", async () => {
    const resultKey = (await c.bus.getStatus('gc-old'))!.resultKey!;
    expect(await (await finalStore()).info(resultKey)).not.toBeNull();
    const resultsStream = `KV_${c.bus.names.buckets.results}`;
    const bytesBefore = (await c.bus.jsm.streams.info(resultsStream)).state.bytes;
    const runningResults = (await resultKeys('gc-running')).length;

    const r = await gc('--older-than', '0', '--json');
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout);
    expect(report.removed.map((j: { jobId: string }) => j.jobId)).toEqual(['gc-old']);
    const items = Object.fromEntries(report.removed[0].items.map((i: { store: string; messages: number }) => [i.store, i.messages]));
    expect(items).toMatchObject({ status: 1, blobs: 2, final: 1 });
    expect(items.results).toBeGreaterThanOrEqual(4 + 3); // three tasks, the big result and its three parts
    expect(report.bytes).toBeGreaterThan(1_200_000);
    const freed = bytesBefore - (await c.bus.jsm.streams.info(resultsStream)).state.bytes;
    expect(freed).toBeGreaterThan(1_200_000);

    expect(await c.bus.getStatus('gc-old')).toBeNull();
    expect(await resultKeys('gc-old')).toEqual([]);
    expect(await eventCount('gc-old')).toBe(0);
    expect(await c.bus.blobs.info('jobs/gc-old/papers/P001.txt')).toBeNull();
    expect(await c.bus.blobs.info('inputs/gc-old.json')).toBeNull();
    expect(await (await finalStore()).info(resultKey)).toBeNull();
    // what belongs to others stays
    expect(await c.bus.blobs.info('jobs/gc-keep/papers/P001.txt')).not.toBeNull();
    expect((await c.bus.getStatus('gc-running'))?.state).toBe('running');
    expect((await resultKeys('gc-running')).length).toBe(runningResults);

    const again = await gc('--older-than', '0');
    expect(again.stdout).toMatch(/^0 finished job\(s\) removed, 0 B freed; kept 1 queued or running/m);
  });
});

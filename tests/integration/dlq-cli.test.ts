/**
 * `llmxmr dlq list | retry` as a user runs them (the real command in a child process) against
 * dead letters made by the real worker and coordinator paths.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '../../shared/protocol/codec.ts';
import { deadLetter } from '../../shared/bus/dlq.ts';
import { submitJob, waitForJob } from '../../shared/client/client.ts';
import { taskId } from '../../shared/protocol/ids.ts';
import { listDeadLetters, retryDeadLetters } from '../../cli/commands/dlq.ts';
import { ROOT, logLines, testCluster, testEnv, until, type TestCluster } from '../helpers/cluster.ts';

let cluster: TestCluster | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `llmxmr dlq …` against the test cluster (asynchronously: the services in this process keep working). */
function dlq(c: TestCluster, ...args: string[]): Promise<Run> {
  const argv = [join(ROOT, 'bin/llmxmr.js'), 'dlq', ...args, '--prefix', c.env.MR_PREFIX, '--nats', c.env.NATS_URL];
  return new Promise((resolve) => {
    // the same delivery settings as the cluster: every process provisions, and would otherwise reconfigure the consumers
    const env = { ...process.env, LOG_LEVEL: 'silent', MR_ACK_WAIT_MS: String(c.env.MR_ACK_WAIT_MS), MR_MAX_DELIVER: String(c.env.MR_MAX_DELIVER) };
    execFile(process.execPath, argv, { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function listJson(c: TestCluster, ...args: string[]): Promise<Record<string, unknown>[]> {
  const r = await dlq(c, 'list', '--json', ...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('llmxmr dlq', () => {
  it('lists a task that failed every delivery, refuses to retry it for a finished job, and with --force runs it again', async () => {
    cluster = await testCluster(testEnv({ MR_MAX_DELIVER: '2', MR_ACK_WAIT_MS: '1000' }));
    await cluster.start('coordinator', { testScripts: true });
    await cluster.start('mapper');
    // the op appends to a log in a directory that does not exist yet: every delivery fails
    const dir = join(mkdtempSync(join(tmpdir(), 'llmxmr-dlq-')), 'later');
    const log = join(dir, 'exec.log');
    await submitJob(cluster.bus, { jobId: 'dlq-1', pipeline: 'v1', params: { docKey: 'unused', question: JSON.stringify({ n: 1, ms: 0, log }) } } as never);
    const st = await waitForJob(cluster.bus, 'dlq-1');
    expect(st.state).toBe('failed');
    await sleep(2_500); // past the ack wait: nothing else may dead-letter the same task later

    const rows = await listJson(cluster);
    const tid = taskId('dlq-1', 'test.echo', { n: 0, ms: 0, log });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'map', jobId: 'dlq-1', taskId: tid, op: 'test.echo', attempts: 2, subject: `${cluster.env.MR_PREFIX}.tasks.map.test.echo` });
    expect(rows[0].reason).toMatch(/ENOENT/);
    expect(Date.now() - Date.parse(rows[0].ts as string)).toBeLessThan(60_000);
    expect(await listDeadLetters(cluster.bus, { kind: 'reduce' })).toEqual([]);
    const text = await dlq(cluster, 'list');
    expect(text.stdout).toMatch(/^seq\s+time\s+kind\s+job\s+op/);
    expect(text.stdout).toMatch(/map\s+dlq-1\s+test\.echo/);

    const refused = await dlq(cluster, 'retry', '--job', 'dlq-1');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/job dlq-1 is already failed.*--force/s);
    expect(await listDeadLetters(cluster.bus)).toHaveLength(1);
    expect((await cluster.bus.getResult('dlq-1', tid))?.status).toBe('failed');

    mkdirSync(dir, { recursive: true }); // the cause is fixed
    const forced = await dlq(cluster, 'retry', String(rows[0].seq), '--force', '--json');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject([{ seq: rows[0].seq, jobId: 'dlq-1', taskId: tid, note: expect.stringMatching(/removed the stored failure/) }]);
    const r = await until('the task to run again', async () => {
      const res = await cluster!.bus.getResult('dlq-1', tid);
      return res?.status === 'ok' ? res : undefined;
    });
    expect(r.output).toEqual({ n: 0, doubled: 0 });
    expect(logLines(log)).toEqual(['start 0', 'done 0']);
    expect(await listDeadLetters(cluster.bus)).toEqual([]);
  });

  it('retries a rejected job by resetting its status, and the coordinator sees it again', async () => {
    cluster = await testCluster(testEnv({ MR_ACK_WAIT_MS: '1000' }));
    await cluster.start('coordinator', { testScripts: true });
    const n = cluster.bus.names;
    await cluster.bus.js.publish(n.subjects.submit, encode({ jobId: 'dlq-bad', pipeline: 'v1' }), { msgID: 'dlq-bad' });
    await until('the rejection', async () => (await cluster!.bus.getStatus('dlq-bad'))?.state === 'failed');
    await sleep(2_500); // past the ack wait: the rejected job must not come back by itself
    const rows = await listJson(cluster, '--kind', 'jobs');
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row).toMatchObject({ kind: 'jobs', jobId: 'dlq-bad', subject: n.subjects.submit });
    expect(row.reason).toMatch(/params/);

    const refused = await dlq(cluster, 'retry', '--all');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/job dlq-bad is already failed; --force resets it to queued/);

    const forced = await dlq(cluster, 'retry', '--all', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/retried #\d+: job dlq-bad .*status reset from failed to queued/);
    // still malformed, so the coordinator rejects it again: a new dead letter with a new number
    const again = await until('the second rejection', async () => (await listDeadLetters(cluster!.bus, { jobId: 'dlq-bad' }))[0]);
    expect(again.seq).toBeGreaterThan(row.seq as number);
    await sleep(2_500);
    expect(await listDeadLetters(cluster.bus, { jobId: 'dlq-bad' })).toHaveLength(1);
    expect((await cluster.bus.getStatus('dlq-bad'))?.state).toBe('failed');
  });

  it('never republishes a dead letter outside the cluster’s task and job subjects, and says what to retry', async () => {
    cluster = await testCluster(testEnv());
    const n = cluster.bus.names;
    await deadLetter(cluster.bus, 'map', { jobId: 'forged', reason: 'forged', attempts: 1, subject: n.subjects.cancel('victim'), data: new Uint8Array([1]) });
    await cluster.bus.js.publish(n.subjects.dlq('reduce'), new TextEncoder().encode('not a dead letter'));
    const rows = await listJson(cluster);
    expect(rows.map((r) => [r.kind, r.unreadable ?? false])).toEqual([['map', false], ['reduce', true]]);

    const r = await dlq(cluster, 'retry', String(rows[0].seq));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a map subject of this cluster; not retrying it/);
    await expect(retryDeadLetters(cluster.bus, [rows[1].seq as number])).rejects.toThrow(/cannot be retried: unreadable dead letter/);
    expect(await listDeadLetters(cluster.bus)).toHaveLength(2);

    const none = await dlq(cluster, 'retry');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/sequence numbers, --job ID or --all/);
  });
});

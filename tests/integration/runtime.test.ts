/**
 * The bus runtime against a real nats-server: competing workers, redelivery after a crash,
 * heartbeats, memoized results, poison tasks, and a coordinator crash mid-map.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encode } from '../../shared/protocol/codec.ts';
import { taskId } from '../../shared/protocol/ids.ts';
import { PROTOCOL_VERSION, ZERO_USAGE } from '../../shared/protocol/schemas.ts';
import { submitJob, waitForJob, fetchResult, cancelJob } from '../../shared/client/client.ts';
import { echoOp } from '../helpers/test-ops.ts';
import { logLines, spawnRole, testCluster, testEnv, tmpLog, until, type TestCluster } from '../helpers/cluster.ts';
import type { ChildProcess } from 'node:child_process';

let cluster: TestCluster | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await cluster?.close();
  cluster = undefined;
});

function fanoutJob(jobId: string, cfg: { n: number; ms: number; log: string; poison?: boolean }) {
  return { jobId, pipeline: 'v1' as const, params: { docKey: 'unused', question: JSON.stringify(cfg) } };
}

function counts(lines: string[], prefix: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) if (l.startsWith(prefix)) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

describe('worker runtime', () => {
  it('competing workers share the tasks of a job and each task runs exactly once', async () => {
    cluster = await testCluster(testEnv({ MR_CONCURRENCY: '2' }));
    await cluster.start('coordinator', { testScripts: true });
    const a = await cluster.start('mapper');
    const b = await cluster.start('mapper');
    const log = tmpLog();
    await submitJob(cluster.bus, fanoutJob('share-1', { n: 40, ms: 20, log }));
    const st = await waitForJob(cluster.bus, 'share-1');
    expect(st.state).toBe('succeeded');
    expect((await fetchResult(cluster.bus, st)).sum).toBe(2 * ((39 * 40) / 2));
    const done = counts(logLines(log), 'done');
    expect(done.size).toBe(40);
    expect([...done.values()].every((c) => c === 1)).toBe(true);
    // both workers took part
    const workers = new Set<string>();
    for (let n = 0; n < 40; n++) {
      const r = await cluster.bus.getResult('share-1', taskId('share-1', 'test.echo', { n, ms: 20, log }));
      workers.add(r!.worker);
    }
    expect(workers).toEqual(new Set([a.id, b.id]));
  });

  it('a task whose worker is killed mid-task is redelivered and completes once', async () => {
    const env = testEnv({ MR_ACK_WAIT_MS: '1500' });
    cluster = await testCluster(env);
    await cluster.start('coordinator', { testScripts: true });
    const victim = spawnRole('mapper', env);
    children.push(victim);
    const log = tmpLog();
    await submitJob(cluster.bus, fanoutJob('kill-1', { n: 1, ms: 3000, log }));
    await until('the task to start in the child worker', () => logLines(log).includes('start 0'));
    victim.kill('SIGKILL');
    await cluster.start('mapper');
    const st = await waitForJob(cluster.bus, 'kill-1');
    expect(st.state).toBe('succeeded');
    const lines = logLines(log);
    expect(lines.filter((l) => l === 'start 0').length).toBe(2);
    expect(lines.filter((l) => l === 'done 0').length).toBe(1);
    const r = await cluster.bus.getResult('kill-1', taskId('kill-1', 'test.echo', { n: 0, ms: 3000, log }));
    expect(r!.attempts).toBe(2);
  });

  it('heartbeats keep a task alive for longer than the ack wait', async () => {
    cluster = await testCluster(testEnv({ MR_ACK_WAIT_MS: '1000' }));
    await cluster.start('coordinator', { testScripts: true });
    await cluster.start('mapper');
    await cluster.start('mapper');
    const log = tmpLog();
    await submitJob(cluster.bus, fanoutJob('slow-1', { n: 1, ms: 4000, log }));
    expect((await waitForJob(cluster.bus, 'slow-1')).state).toBe('succeeded');
    expect(logLines(log).filter((l) => l === 'start 0').length).toBe(1);
  });

  it('a task whose result already exists is acknowledged without running again', async () => {
    cluster = await testCluster();
    await cluster.start('mapper');
    const log = tmpLog();
    const input = { n: 7, ms: 0, log };
    const id = taskId('memo-1', 'test.echo', input);
    await cluster.bus.putResult({
      v: PROTOCOL_VERSION, jobId: 'memo-1', taskId: id, op: 'test.echo', status: 'ok',
      output: { n: 7, doubled: 14 }, attempts: 1, worker: 'earlier', durationMs: 1, usage: { ...ZERO_USAGE },
    });
    await cluster.bus.js.publish(
      cluster.bus.names.subjects.task('map', 'test.echo'),
      encode({ v: PROTOCOL_VERSION, jobId: 'memo-1', taskId: id, kind: 'map', op: 'test.echo', engine: 'extractive', input }),
    );
    await until('the task to be consumed', async () => (await cluster!.bus.jsm.streams.info(cluster!.bus.names.streams.tasks)).state.messages === 0);
    expect(logLines(log)).toEqual([]);
    expect((await cluster.bus.getResult('memo-1', id))!.worker).toBe('earlier');
    void echoOp;
  });

  it('a poison task ends in the dead-letter stream with its reason and the job fails saying why', async () => {
    cluster = await testCluster(testEnv({ MR_MAX_DELIVER: '2' }));
    await cluster.start('coordinator', { testScripts: true });
    await cluster.start('mapper');
    const log = tmpLog();
    await submitJob(cluster.bus, fanoutJob('poison-1', { n: 2, ms: 0, log, poison: true }));
    const st = await waitForJob(cluster.bus, 'poison-1');
    expect(st.state).toBe('failed');
    expect(st.error).toMatch(/test\.poison always fails/);
    expect(logLines(log).filter((l) => l.startsWith('poison')).length).toBe(2);
    const info = await cluster.bus.jsm.streams.info(cluster.bus.names.streams.dlq);
    expect(info.state.messages).toBe(1);
    const m = await cluster.bus.jsm.streams.getMessage(cluster.bus.names.streams.dlq, { seq: info.state.first_seq });
    const { decodeLoose } = await import('../../shared/protocol/codec.ts');
    const dl = decodeLoose(m!.data) as { reason: string; attempts: number; jobId: string };
    expect(dl.jobId).toBe('poison-1');
    expect(dl.attempts).toBe(2);
    expect(dl.reason).toMatch(/always fails.*gave up after 2 deliveries/);
  });
});

describe('job runtime', () => {
  it('a coordinator killed mid-map hands the job to another, which finishes without redoing finished tasks', async () => {
    const env = testEnv({ MR_ACK_WAIT_MS: '1500', MR_CONCURRENCY: '2' });
    cluster = await testCluster(env);
    await cluster.start('mapper');
    const first = spawnRole('coordinator', env);
    children.push(first);
    const log = tmpLog();
    await submitJob(cluster.bus, fanoutJob('resume-1', { n: 12, ms: 250, log }));
    await until('a few tasks to finish', () => logLines(log).filter((l) => l.startsWith('done')).length >= 4);
    first.kill('SIGKILL');
    await cluster.start('coordinator', { testScripts: true });
    const st = await waitForJob(cluster.bus, 'resume-1');
    expect(st.state).toBe('succeeded');
    expect(st.attempts).toBe(2);
    const done = counts(logLines(log), 'done');
    expect(done.size).toBe(12);
    expect([...done.values()].every((c) => c === 1)).toBe(true);
  });

  it('a cancelled job stops, is marked cancelled, and its remaining tasks are dropped', async () => {
    cluster = await testCluster(testEnv({ MR_CONCURRENCY: '1' }));
    await cluster.start('coordinator', { testScripts: true });
    await cluster.start('mapper');
    const log = tmpLog();
    const events: string[] = [];
    await submitJob(cluster.bus, fanoutJob('cancel-1', { n: 30, ms: 200, log }));
    await until('the first task to finish', () => logLines(log).includes('done 0'));
    await cancelJob(cluster.bus, 'cancel-1');
    const st = await waitForJob(cluster.bus, 'cancel-1', { onEvent: (e) => events.push(e.type) });
    expect(st.state).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 1000));
    expect(logLines(log).filter((l) => l.startsWith('done')).length).toBeLessThan(30);
  });
});

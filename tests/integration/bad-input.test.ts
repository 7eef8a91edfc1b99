/**
 * Bad input gets a clear error and nothing crashes: malformed messages on the bus become
 * error events and dead letters while other jobs go on; the CLI rejects bad files in one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encode, decodeLoose } from '../../shared/protocol/codec.ts';
import { Bus } from '../../shared/bus/bus.ts';
import type { JobEvent } from '../../shared/protocol/schemas.ts';
import { submitJob, waitForJob } from '../../shared/client/client.ts';
import { ROOT, testCluster, testEnv, tmpLog, until, type TestCluster } from '../helpers/cluster.ts';

const run = promisify(execFile);
let cluster: TestCluster;
const systemEvents: JobEvent[] = [];

beforeAll(async () => {
  cluster = await testCluster(testEnv({ MR_MAX_DELIVER: '2' }));
  await cluster.start('coordinator', { testScripts: true });
  await cluster.start('mapper');
  cluster.bus.nc.subscribe(cluster.bus.names.subjects.systemEvents, {
    callback: (_e, m) => {
      const d = Bus.decodeEvent(m.data);
      if (d.ok) systemEvents.push(d.value);
    },
  });
});
afterAll(async () => cluster?.close());

async function dlqRecords(): Promise<Array<Record<string, any>>> {
  const info = await cluster.bus.jsm.streams.info(cluster.bus.names.streams.dlq);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await cluster.bus.jsm.streams.getMessage(cluster.bus.names.streams.dlq, { seq }).catch(() => null);
    if (m) out.push(decodeLoose(m.data) as Record<string, any>);
  }
  return out;
}

function goodJob(jobId: string) {
  return { jobId, pipeline: 'v1' as const, params: { docKey: 'unused', question: JSON.stringify({ n: 3, ms: 0, log: tmpLog() }) } };
}

describe('malformed messages on the bus', () => {
  it('garbage bytes on the submit subject become an error event and a dead letter; the next job still runs', async () => {
    await cluster.bus.js.publish(cluster.bus.names.subjects.submit, new Uint8Array([0xc1, 0xff, 0x00, 0x13]));
    await until('a system error event', () => systemEvents.some((e) => /not valid msgpack/.test(e.message ?? '')));
    await submitJob(cluster.bus, goodJob('after-garbage'));
    expect((await waitForJob(cluster.bus, 'after-garbage')).state).toBe('succeeded');
    const dl = await dlqRecords();
    expect(dl.some((d) => d.kind === 'jobs' && /not valid msgpack/.test(d.reason))).toBe(true);
  });

  it('a job with a job id but a missing question fails with a message naming the field', async () => {
    await cluster.bus.js.publish(
      cluster.bus.names.subjects.submit,
      encode({ v: 1, jobId: 'no-question', pipeline: 'v1', params: { docKey: 'x' } }),
    );
    const st = await until('the job to be failed', async () => {
      const s = await cluster.bus.getStatus('no-question');
      return s?.state === 'failed' ? s : null;
    });
    expect(st.error).toMatch(/params\.question/);
  });

  it('a job for an unknown pipeline is rejected with the pipeline named', async () => {
    await cluster.bus.js.publish(cluster.bus.names.subjects.submit, encode({ v: 1, jobId: 'bad-pipe', pipeline: 'v9', params: {} }));
    const st = await until('the job to be failed', async () => {
      const s = await cluster.bus.getStatus('bad-pipe');
      return s?.state === 'failed' ? s : null;
    });
    expect(st.error).toMatch(/pipeline/);
  });

  it('garbage on a task subject is dead-lettered with a system error event; the worker keeps serving', async () => {
    await cluster.bus.js.publish(cluster.bus.names.subjects.task('map', 'test.echo'), encode({ hello: 'world' }));
    await until('a system error about the task', () => systemEvents.some((e) => /malformed task/.test(e.message ?? '')));
    const dl = await dlqRecords();
    expect(dl.some((d) => d.kind === 'map' && /invalid message/.test(d.reason))).toBe(true);
    await submitJob(cluster.bus, goodJob('after-bad-task'));
    expect((await waitForJob(cluster.bus, 'after-bad-task')).state).toBe('succeeded');
  });

  it('a task whose input does not fit its op fails terminally with the reason, without retries', async () => {
    await cluster.bus.js.publish(
      cluster.bus.names.subjects.task('map', 'test.echo'),
      encode({ v: 1, jobId: 'bad-input', taskId: 'a'.repeat(32), kind: 'map', op: 'test.echo', engine: 'extractive', input: { n: 'seven' } }),
    );
    const r = await until('a failed result', () => cluster.bus.getResult('bad-input', 'a'.repeat(32)));
    expect(r.status).toBe('failed');
    expect(r.attempts).toBe(1);
    expect(r.error).toMatch(/invalid input for test\.echo/);
  });
});

describe('llmxmr ask rejects bad input in one line', () => {
  const dir = dirname(tmpLog());
  const cases: Array<[string, () => string[], RegExp]> = [
    ['an empty document', () => { const f = join(dir, 'empty.txt'); writeFileSync(f, '  \n'); return ['--doc', f, '--question', 'q']; }, /is empty/],
    ['invalid UTF-8', () => { const f = join(dir, 'latin1.txt'); writeFileSync(f, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff])); return ['--doc', f, '--question', 'q']; }, /not valid UTF-8/],
    ['a missing question', () => { const f = join(dir, 'ok.txt'); writeFileSync(f, 'text'); return ['--doc', f]; }, /--question/],
    ['an unknown profile', () => { const f = join(dir, 'ok2.txt'); writeFileSync(f, 'text'); return ['--doc', f, '--question', 'q', '--profile', 'poetry']; }, /unknown profile "poetry"/],
    ['a missing file', () => ['--doc', join(dir, 'nope.txt'), '--question', 'q'], /cannot read document/],
  ];
  for (const [what, args, msg] of cases) {
    it(`rejects ${what}`, async () => {
      const err = await run(process.execPath, ['bin/llmxmr.js', 'ask', ...args()], { cwd: ROOT }).then(
        () => null,
        (e) => e as { code: number; stderr: string },
      );
      expect(err).not.toBeNull();
      expect(err!.code).not.toBe(0);
      expect(err!.stderr).toMatch(msg);
      expect(err!.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }
});

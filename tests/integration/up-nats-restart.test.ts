/**
 * `llmxmr up` survives its NATS server being killed (-9) and restarted: the services reconnect,
 * pick their durable consumers up again, report not-ready meanwhile, and a job submitted after
 * the restart finishes within 60 s.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats } from '../../shared/bus/connect.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { freePort, startNatsServer, type NatsServerHandle } from '../../shared/bus/nats-server.ts';
import { fetchResult, submitJob, uploadInput, waitForJob } from '../../shared/client/client.ts';
import { ROOT, until } from '../helpers/cluster.ts';

const PREFIX = `rst${Date.now() % 100000}`;
const store = mkdtempSync(join(tmpdir(), 'llmxmr-restart-'));
let server: NatsServerHandle | undefined;
let up: ChildProcess | undefined;

afterAll(async () => {
  up?.kill('SIGKILL');
  await server?.stop({ keepStore: true });
  rmSync(store, { recursive: true, force: true });
});

const DOC = 'Ledger of the mill.\nThe pass key is 40417; write it down.\nThe rest concerns grain.';

async function runJob(url: string, jobId: string): Promise<{ ms: number; answer: string }> {
  const nc = await connectNats({ NATS_URL: url }, { reconnect: false });
  try {
    const bus = await Bus.open(nc, PREFIX);
    const t0 = Date.now();
    const docKey = await uploadInput(bus, `docs/${jobId}.txt`, DOC);
    await submitJob(bus, { jobId, pipeline: 'v1', params: { docKey, question: 'What is the pass key?', profile: 'retrieval' } } as never);
    const st = await waitForJob(bus, jobId, { noCoordinatorMs: 60_000 });
    expect(st.state).toBe('succeeded');
    const r = await fetchResult(bus, st);
    return { ms: Date.now() - t0, answer: String(r.answer) };
  } finally {
    await nc.close();
  }
}

describe('llmxmr up across a NATS restart', () => {
  it('finishes a job submitted after kill -9 and restart of nats-server', async () => {
    const port = await freePort();
    server = await startNatsServer({ port, storeDir: store });
    const url = server.url;
    let stderr = '';
    up = spawn(process.execPath, ['bin/llmxmr.js', 'up', '--nats', url, '--prefix', PREFIX], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, OPENAI_BASE_URL: '', LOG_LEVEL: 'warn' },
    });
    up.stderr!.on('data', (b) => (stderr += b.toString()));
    await until('the cluster to come up', () => /cluster up on/.test(stderr), 120_000); // slow under load
    expect((await runJob(url, 'before-restart')).answer).toContain('40417');

    // a client already waiting for a job when the server dies (as `llmxmr ask` would be)
    const waiting = await connectNats({ NATS_URL: url }, { name: 'waiting-client' });
    const waitingBus = await Bus.open(waiting, PREFIX);
    const waited = waitForJob(waitingBus, 'across-restart', { noCoordinatorMs: 90_000 });

    server.process.kill('SIGKILL');
    await new Promise((r) => server!.process.once('exit', r));
    await new Promise((r) => setTimeout(r, 2_000)); // the services notice and start reconnecting
    server = await startNatsServer({ port, storeDir: store });
    const t0 = Date.now();
    const after = await runJob(url, 'after-restart');
    const sinceRestart = Date.now() - t0;
    expect(after.answer).toContain('40417');
    expect(sinceRestart).toBeLessThan(60_000);
    console.log(`[up-nats-restart] job after restart finished ${sinceRestart} ms after the server came back (job itself ${after.ms} ms)`);
    expect(up.exitCode).toBeNull();

    // the waiting client rode out the restart and sees a job submitted after it
    await runJob(url, 'across-restart');
    expect((await waited).state).toBe('succeeded');
    await waiting.close();
  }, 240_000);
});

/**
 * A task's recorded run time counts from its model call, not from its delivery: time the worker
 * spent waiting for a model slot would make a task look like a straggler to the coordinator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PROTOCOL_VERSION, ZERO_USAGE, type TaskEnvelope } from '../../shared/protocol/schemas.ts';
import { defineOp } from '../../shared/ops/op.ts';
import type { Engine } from '../../shared/llm/engine.ts';
import { startWorker, type Worker } from '../../shared/bus/worker.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { createLogger } from '../../shared/log/logger.ts';
import { testCluster, until, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster;
let worker: Worker | undefined;
beforeAll(async () => {
  c = await testCluster();
});
afterAll(async () => {
  await worker?.stop();
  await c?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const op = defineOp({ name: 'test.slot', kind: 'map', version: 1, input: z.object({}), output: z.object({ ok: z.boolean() }), prompt: () => [{ role: 'user', content: 'x' }], extractive: () => ({ ok: true }) });
/** A model engine whose slot frees after 600 ms; the call itself then takes 100 ms. */
const queuedEngine: Engine = {
  name: 'openai',
  async execute(_op, _input, env) {
    await sleep(600);
    env.callStarted?.();
    await sleep(100);
    return { output: { ok: true } as never, usage: { ...ZERO_USAGE, calls: 1 } };
  },
};

describe('worker run time', () => {
  it('counts from the model call, not from the wait for a model slot', async () => {
    worker = startWorker({ bus: c.bus, kind: 'map', ops: [op], engineFor: () => queuedEngine, concurrency: 1, maxDeliver: 2, ackWaitMs: 5_000, log: createLogger('test', 'silent'), id: 'rt-worker' });
    const env: TaskEnvelope = { v: PROTOCOL_VERSION, jobId: 'rt-job', taskId: 'a'.repeat(32), kind: 'map', op: 'test.slot', engine: 'openai', input: {}, fresh: true };
    await c.bus.js.publish(c.bus.names.subjects.task('map', 'test.slot'), encode(env), { msgID: `rt-${Date.now()}` });
    const r = await until('the result', async () => (await c.bus.getResult('rt-job', env.taskId)) ?? undefined, 15_000);
    expect(r.status).toBe('ok');
    expect(r.durationMs).toBeGreaterThanOrEqual(95);
    expect(r.durationMs).toBeLessThan(550); // the 600 ms wait for the slot is not in it
  });
});

/**
 * Storage bounds on the real nats-server: every stream, bucket and store carries the byte and
 * age limits after provisioning, a bus provisioned before the limits existed gets them on the
 * next provisioning, and the per-user job quota is enforced by the server at submission.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscardPolicy } from '@nats-io/jetstream';
import { provision } from '../../shared/bus/provision.ts';
import { retentionFrom, STORES, type Retention, type Store } from '../../shared/bus/limits.ts';
import { names } from '../../shared/protocol/names.ts';
import { ownerNames } from '../../shared/security/owners.ts';
import { submitJob } from '../../shared/client/client.ts';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

const MIB = 1024 * 1024;
const NS = 1_000_000;
let c: TestCluster;

const RET: Retention = retentionFrom({ MR_STORAGE_BYTES: '400MiB', MR_STORAGE_LIMITS: 'events=9MiB', MR_STORAGE_MAX_AGE: 'events=3h', MR_JOB_RETENTION: '2d', MR_USER_MAX_JOBS: 3 });

beforeAll(async () => {
  c = await testCluster(testEnv());
});
afterAll(async () => c?.close());

/** The JetStream stream behind each store of the prefix. */
function streamOf(prefix: string): Record<Store, string> {
  const n = names(prefix);
  const o = ownerNames(prefix);
  return {
    jobs: n.streams.jobs,
    tasks: n.streams.tasks,
    events: n.streams.events,
    dlq: n.streams.dlq,
    uploads: o.uploadsStream,
    status: `KV_${n.buckets.jobs}`,
    results: `KV_${n.buckets.results}`,
    llmcache: `KV_${n.buckets.llmcache}`,
    workers: `KV_${n.buckets.workers}`,
    blobs: `OBJ_${n.objectStore}`,
    final: `OBJ_${o.finalStore}`,
  };
}

async function expectLimits(r: Retention) {
  const streams = streamOf(c.env.MR_PREFIX);
  for (const s of STORES) {
    const cfg = (await c.bus.jsm.streams.info(streams[s])).config;
    expect({ store: s, bytes: cfg.max_bytes, age: cfg.max_age }).toEqual({ store: s, bytes: r.stores[s].maxBytes, age: r.stores[s].maxAgeMs * NS });
  }
}

describe('retention limits', () => {
  it('every stream, bucket and store has max_bytes, and per-job stores age out after the job retention', async () => {
    const n = names(c.env.MR_PREFIX);
    await provision(c.bus.nc, n, { maxDeliver: 3, ackWaitMs: 5_000, retention: RET });
    await expectLimits(RET);
    expect(RET.stores.events).toEqual({ maxBytes: 9 * MIB, maxAgeMs: 3 * 3600_000 });
    expect(RET.stores.results.maxAgeMs).toBe(2 * 24 * 3600_000);
    expect(RET.stores.tasks.maxAgeMs).toBe(0); // a work queue never drops a task for its age
    const jobs = (await c.bus.jsm.streams.info(n.streams.jobs)).config;
    expect(jobs).toMatchObject({ discard: DiscardPolicy.New, max_msgs_per_subject: 3, discard_new_per_subject: true });
    expect((await c.bus.jsm.streams.info(n.streams.tasks)).config.discard).toBe(DiscardPolicy.New);
  });

  it('a bus provisioned without limits gets them when provisioned again, and provisioning twice changes nothing', async () => {
    const streams = streamOf(c.env.MR_PREFIX);
    // Make the bus look like one provisioned by an earlier version: no limits at all.
    for (const s of STORES) {
      const cfg = (await c.bus.jsm.streams.info(streams[s])).config;
      const old = { ...cfg, max_bytes: -1, max_age: s === 'workers' ? cfg.max_age : 0 };
      if (s === 'jobs') Object.assign(old, { max_msgs_per_subject: -1, discard_new_per_subject: false, discard: DiscardPolicy.Old });
      await c.bus.jsm.streams.update(streams[s], old);
    }
    expect((await c.bus.jsm.streams.info(streams.blobs)).config.max_bytes).toBe(-1);
    const n = names(c.env.MR_PREFIX);
    await provision(c.bus.nc, n, { maxDeliver: 3, ackWaitMs: 5_000, retention: RET });
    await expectLimits(RET);
    await provision(c.bus.nc, n, { maxDeliver: 3, ackWaitMs: 5_000, retention: RET });
    await expectLimits(RET);
    expect((await c.bus.jsm.streams.info(n.streams.jobs)).config.max_msgs_per_subject).toBe(3);
  });

  it('model replies are write-once: a second write of a key is refused, the first reply stays', async () => {
    await c.bus.llmcache.create('op.k1', new TextEncoder().encode('first'));
    await expect(c.bus.llmcache.put('op.k1', new TextEncoder().encode('second'))).rejects.toThrow(/maximum messages per subject/);
    await expect(c.bus.llmcache.delete('op.k1')).rejects.toThrow(/maximum messages per subject/);
    expect(new TextDecoder().decode((await c.bus.llmcache.get('op.k1'))!.value)).toBe('first');
  });

  it('limits the server cannot reserve are an error that says what to change', async () => {
    const huge = retentionFrom({ MR_STORAGE_BYTES: '900TiB' });
    const n = names(`${c.env.MR_PREFIX}x`);
    try {
      await expect(provision(c.bus.nc, n, { maxDeliver: 3, ackWaitMs: 5_000, retention: huge })).rejects.toThrow(/cannot reserve the storage limits.*Lower MR_STORAGE_BYTES/);
    } finally {
      for (const s of Object.values(streamOf(n.prefix))) await c.bus.jsm.streams.delete(s).catch(() => undefined);
    }
  });
});

describe('per-user job quota', () => {
  it('a submission past MR_USER_MAX_JOBS queued or running jobs is refused with "quota exceeded"', async () => {
    // No coordinator runs: the jobs stay queued.
    const job = (i: number) => ({ jobId: `quota-${i}`, pipeline: 'v1', params: { docKey: 'docs/x.txt', question: 'q' } }) as never;
    for (let i = 0; i < 3; i++) await submitJob(c.bus, job(i));
    const err = await submitJob(c.bus, job(3)).catch((e: Error) => e);
    expect(String((err as Error).message)).toBe('quota exceeded: the administrator has 3 jobs queued or running (limit MR_USER_MAX_JOBS=3)');
    expect((await c.bus.getStatus('quota-3'))?.state).toBe('failed');
    // The same job id again is a duplicate, not a new job: no quota error.
    await expect(submitJob(c.bus, job(0))).resolves.toMatchObject({ jobId: 'quota-0' });
    // A finished (acknowledged) job frees its place.
    const n = c.bus.names;
    const consumer = await c.bus.js.consumers.get(n.streams.jobs, n.consumers.coordinator);
    const m = await consumer.next({ expires: 2_000 });
    m!.ack();
    await m!.ackAck?.().catch(() => undefined);
    await expect(submitJob(c.bus, job(4))).resolves.toMatchObject({ jobId: 'quota-4' });
  });
});

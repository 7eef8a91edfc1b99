/**
 * The per-user job quota for a publisher on its own credentials (a private server with the
 * generated per-role users): the server refuses the submission past the quota, and the
 * publisher is told "quota exceeded" with its own count, though it may read no job status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { retentionFrom } from '../../shared/bus/limits.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { submitJob } from '../../shared/client/client.ts';
import { names } from '../../shared/protocol/names.ts';
import { startSecureNats, type SecureNats } from '../helpers/secure-nats.ts';

const PREFIX = 'quo';
let s: SecureNats;
const conns: NatsConnection[] = [];

beforeAll(async () => {
  s = await startSecureNats(PREFIX);
  const nc = await connectNats(s.env('admin'), { reconnect: false, name: 'quota-admin' });
  conns.push(nc);
  await provision(nc, names(PREFIX), { maxDeliver: 3, ackWaitMs: 5_000, retention: retentionFrom({ MR_STORAGE_BYTES: '256MiB', MR_USER_MAX_JOBS: 2 }) });
});

afterAll(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  await s?.stop();
});

describe('per-user job quota for a publisher', () => {
  it('the third queued job of a publisher with MR_USER_MAX_JOBS=2 is refused with its count and the limit', async () => {
    const nc = await connectNats(s.env('client'), { reconnect: false, name: 'quota-client' });
    conns.push(nc);
    const bus = await Bus.open(nc, PREFIX);
    const job = (i: number) => ({ jobId: `quo-${i}`, pipeline: 'v1', params: { docKey: 'upload:none', question: 'q' } }) as never;
    await submitJob(bus, job(1));
    await submitJob(bus, job(2));
    await expect(submitJob(bus, job(3))).rejects.toThrow(/^quota exceeded: client has 2 jobs queued or running \(limit MR_USER_MAX_JOBS=2\)$/);
  });
});

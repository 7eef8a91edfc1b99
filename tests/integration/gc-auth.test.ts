/**
 * `gc` under per-role users on a private server: a worker's or a coordinator's credentials
 * cannot remove anything and get an error that names the credential needed; the admin's can.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { retentionFrom } from '../../shared/bus/limits.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { collectGarbage } from '../../shared/bus/gc.ts';
import { names } from '../../shared/protocol/names.ts';
import type { SecurityRole } from '../../shared/security/permissions.ts';
import { startSecureNats, type SecureNats } from '../helpers/secure-nats.ts';

const PREFIX = 'gca';
let s: SecureNats;
const conns: NatsConnection[] = [];

async function as(role: SecurityRole): Promise<Bus> {
  const nc = await connectNats(s.env(role), { reconnect: false, name: `gc-${role}` });
  conns.push(nc);
  return Bus.open(nc, PREFIX);
}

beforeAll(async () => {
  s = await startSecureNats(PREFIX);
  const nc = await connectNats(s.env('admin'), { reconnect: false, name: 'gc-provision' });
  conns.push(nc);
  await provision(nc, names(PREFIX), { maxDeliver: 3, ackWaitMs: 5_000, retention: retentionFrom({ MR_STORAGE_BYTES: '256MiB' }) });
  const admin = await Bus.open(nc, PREFIX);
  await admin.setStatus({ jobId: 'gca-done', pipeline: 'v1', state: 'succeeded', attempts: 1, finishedAt: '2020-01-01T00:00:00.000Z' });
});

afterAll(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  await s?.stop();
});

describe('gc credentials', () => {
  it.each(['mapper', 'coordinator', 'client'] as const)('the %s user cannot collect and is told to use the admin credential', async (role) => {
    const bus = await as(role);
    await expect(collectGarbage(bus, { olderThanMs: 0 })).rejects.toThrow(/llmxmr gc needs administrator credentials \(the server refused: .*permissions violation/i);
    const admin = await as('admin');
    expect((await admin.getStatus('gca-done'))?.state).toBe('succeeded');
  });

  it('the admin user removes the finished job', async () => {
    const admin = await as('admin');
    const r = await collectGarbage(admin, { olderThanMs: 24 * 3600_000 });
    expect(r.removed.map((j) => j.jobId)).toEqual(['gca-done']);
    expect(await admin.getStatus('gca-done')).toBeNull();
  });
});

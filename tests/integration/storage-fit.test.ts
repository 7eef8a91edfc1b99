/**
 * A storage budget nobody configured is fitted to what the NATS server can reserve (halved
 * until it fits, and said so); a configured budget that does not fit is an error naming the
 * variable to change. The server here is private, with a 600 MiB file store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from '../../shared/bus/nats-server.ts';
import { provision } from '../../shared/bus/provision.ts';
import { retentionFrom, totalBytes } from '../../shared/bus/limits.ts';
import { names } from '../../shared/protocol/names.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mr-fit-'));
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, 'jetstream { max_file_store: 600MB, max_memory_store: 64MB }\n');
  server = await startNatsServer({ args: ['-c', conf] });
  nc = await connect({ servers: server.url });
}, 30_000);
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe('storage budget against the server', () => {
  it('halves the default budget until the server can reserve it, and says so', async () => {
    const wanted = retentionFrom({});
    expect(wanted.budgetDefaulted).toBe(true);
    const r = await provision(nc, names('fitdef'), { maxDeliver: 3, ackWaitMs: 30_000, retention: wanted });
    expect(r.provisioned, JSON.stringify(r)).toBe(true);
    expect(r.shrunk, JSON.stringify(r)).toMatch(/could not reserve the default storage budget of 10\.00 GiB.*reserved .* instead.*MR_STORAGE_BYTES/);
    const jsm = await jetstreamManager(nc);
    let reserved = 0;
    for await (const s of jsm.streams.list()) if (s.config.name.toLowerCase().startsWith('fitdef') || s.config.name.startsWith('KV_fitdef') || s.config.name.startsWith('OBJ_fitdef')) reserved += s.config.max_bytes;
    expect(reserved).toBeGreaterThan(0);
    expect(reserved).toBeLessThanOrEqual(600 * 1e6);
    expect(reserved).toBeLessThan(totalBytes(wanted) / 2);
  }, 60_000);

  it('refuses a configured budget that does not fit, naming MR_STORAGE_BYTES', async () => {
    const ret = retentionFrom({ MR_STORAGE_BYTES: '4GiB' });
    expect(ret.budgetDefaulted).toBe(false);
    await expect(provision(nc, names('fitset'), { maxDeliver: 3, ackWaitMs: 30_000, retention: ret })).rejects.toThrow(/cannot reserve the storage limits of prefix "fitset".*Lower MR_STORAGE_BYTES/);
  }, 60_000);
});

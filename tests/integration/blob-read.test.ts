import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { digestMatches, readObject } from '../../shared/bus/blob-read.ts';
import { testCluster, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await testCluster();
});
afterAll(async () => c?.close());

/** Consumers created on this test's Object Store stream while `f` runs (JetStream's advisories, so other tests do not count). */
async function consumersCreatedBy<T>(f: () => Promise<T>): Promise<{ value: T; created: number }> {
  let created = 0;
  const sub = c.bus.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.CREATED.OBJ_${c.bus.names.objectStore}.>`, { callback: () => void created++ });
  await c.bus.nc.flush();
  const value = await f();
  await new Promise((r) => setTimeout(r, 200)); // advisories are published after the fact
  sub.unsubscribe();
  return { value, created };
}

describe('blob reads', () => {
  it('reads a single-chunk object with a direct get, creating no consumer', async () => {
    const text = `a paper's text ${'é'.repeat(20_000)}`;
    await c.bus.putBlob('papers/one', text);
    const direct = await consumersCreatedBy(() => c.bus.blobText('papers/one'));
    expect(direct.value).toBe(text);
    expect(direct.created).toBe(0);
    // The library's reader creates an ordered consumer for the same read: the advisory is seen.
    const library = await consumersCreatedBy(() => c.bus.blobs.getBlob('papers/one'));
    expect(new TextDecoder().decode(library.value!)).toBe(text);
    expect(library.created).toBeGreaterThanOrEqual(1);
  });

  it('reads objects of many chunks, empty objects and missing keys like the library', async () => {
    const big = randomBytes(3 * 128 * 1024 + 17);
    await c.bus.putBlob('big', big);
    expect(Buffer.from((await c.bus.getBlob('big'))!).equals(big)).toBe(true);
    await c.bus.putBlob('empty', '');
    expect((await c.bus.getBlob('empty'))?.byteLength).toBe(0);
    expect(await c.bus.getBlob('nothing-here')).toBeNull();
    await expect(c.bus.blobText('nothing-here')).rejects.toThrow(/not found/);
  });

  it('returns a copy that later reads do not overwrite', async () => {
    await c.bus.putBlob('x', 'first object');
    await c.bus.putBlob('y', 'second object');
    const x = await readObject(c.bus.blobs, c.bus.jsm, c.bus.names.objectStore, 'x');
    await readObject(c.bus.blobs, c.bus.jsm, c.bus.names.objectStore, 'y');
    expect(new TextDecoder().decode(x!)).toBe('first object');
  });
});

describe('object digests', () => {
  const data = new TextEncoder().encode('some bytes');
  const sum = createHash('sha256').update(data).digest();
  it('accept the SHA-256 in padded or bare base64url and in hex', () => {
    expect(digestMatches(`SHA-256=${sum.toString('base64url')}=`, data)).toBe(true);
    expect(digestMatches(`SHA-256=${sum.toString('base64url')}`, data)).toBe(true);
    expect(digestMatches(`SHA-256=${sum.toString('hex')}`, data)).toBe(true);
  });
  it('reject another content, another algorithm or a malformed digest', () => {
    expect(digestMatches(`SHA-256=${sum.toString('base64url')}`, new TextEncoder().encode('other bytes'))).toBe(false);
    expect(digestMatches(`SHA-512=${sum.toString('base64url')}`, data)).toBe(false);
    expect(digestMatches('', data)).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { digestMatches, readObject } from '../../shared/bus/blob-read.ts';
import { testCluster, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await testCluster();
});
afterAll(async () => c?.close());

/** JetStream API requests the account has made so far (consumer creation counts; direct gets do not). */
const apiCalls = async () => (await c.bus.jsm.getAccountInfo()).api.total;

describe('blob reads', () => {
  it('reads a single-chunk object with a direct get, creating no consumer', async () => {
    const text = `a paper's text ${'é'.repeat(20_000)}`;
    await c.bus.putBlob('papers/one', text);
    const before = await apiCalls();
    expect(await c.bus.blobText('papers/one')).toBe(text);
    const direct = (await apiCalls()) - before;
    // The library's reader creates (and deletes) an ordered consumer: API requests the direct path does not make.
    const before2 = await apiCalls();
    const viaLibrary = await c.bus.blobs.getBlob('papers/one');
    const library = (await apiCalls()) - before2;
    expect(new TextDecoder().decode(viaLibrary!)).toBe(text);
    expect(direct).toBeLessThan(library);
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

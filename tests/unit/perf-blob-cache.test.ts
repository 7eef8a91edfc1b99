import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobTextCache } from '../../shared/bus/blob-cache.ts';
import { testCluster, type TestCluster } from '../helpers/cluster.ts';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await testCluster();
});
afterAll(async () => {
  await cluster?.close();
});

/** The bus with its blob reads counted. */
function counted() {
  const bus = cluster.bus;
  const reads = { n: 0 };
  return { reads, view: { blobs: bus.blobs, blobText: (k: string) => (reads.n++, bus.blobText(k)) } };
}

describe('the blob text cache of a worker', () => {
  it('reads a blob once and serves it again while the stored object is unchanged', async () => {
    const { reads, view } = counted();
    const cache = new BlobTextCache(view);
    await cluster.bus.putBlob('c/a.json', '{"a":1}');
    expect(await cache.text('c/a.json')).toBe('{"a":1}');
    expect(await cache.text('c/a.json')).toBe('{"a":1}');
    expect(await cache.text('c/a.json')).toBe('{"a":1}');
    expect(reads.n).toBe(1);
    expect([cache.hits, cache.misses]).toEqual([2, 1]);
  });

  it('reads again when the object was overwritten, and fails like an uncached read when it was deleted', async () => {
    const { reads, view } = counted();
    const cache = new BlobTextCache(view);
    await cluster.bus.putBlob('c/b.txt', 'first');
    expect(await cache.text('c/b.txt')).toBe('first');
    await cluster.bus.putBlob('c/b.txt', 'second, longer');
    expect(await cache.text('c/b.txt')).toBe('second, longer');
    expect(reads.n).toBe(2);
    await cluster.bus.blobs.delete('c/b.txt');
    await expect(cache.text('c/b.txt')).rejects.toThrow(/not found/);
  });

  it('keeps no more than its size bound, dropping the least recently used first', async () => {
    const { reads, view } = counted();
    const cache = new BlobTextCache(view, { maxChars: 25, maxEntryChars: 12 });
    await cluster.bus.putBlob('c/1', 'x'.repeat(10));
    await cluster.bus.putBlob('c/2', 'y'.repeat(10));
    await cluster.bus.putBlob('c/3', 'z'.repeat(10));
    await cluster.bus.putBlob('c/big', 'w'.repeat(20));
    await cache.text('c/1');
    await cache.text('c/2');
    await cache.text('c/1'); // 1 is now the most recently used
    await cache.text('c/3'); // 30 chars > 25: 2 goes
    expect(reads.n).toBe(3);
    await cache.text('c/1');
    await cache.text('c/3');
    expect(reads.n).toBe(3);
    await cache.text('c/2');
    expect(reads.n).toBe(4);
    await cache.text('c/big');
    await cache.text('c/big'); // over the entry bound: never kept
    expect(reads.n).toBe(6);
  });
});

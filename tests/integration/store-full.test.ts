/** A blob that does not fit the Object Store's byte limit is an error that says what to do, not "maximum bytes exceeded". */
import { afterAll, describe, expect, it } from 'vitest';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster | undefined;
afterAll(async () => c?.close());

describe('a full Object Store', () => {
  it('names the store, the key, gc and MR_STORAGE_BYTES', async () => {
    c = await testCluster(testEnv({ MR_STORAGE_LIMITS: 'blobs=4MiB' }));
    await c.bus.putBlob('inputs/small.txt', 'fits');
    const big = new Uint8Array(5 * 1024 * 1024).fill(97);
    await expect(c.bus.putBlob('inputs/big.txt', big)).rejects.toThrow(/Object Store "t[0-9a-f]+_blobs" is full .*"inputs\/big\.txt".*llmxmr gc.*MR_STORAGE_BYTES/);
    expect(new TextDecoder().decode((await c.bus.getBlob('inputs/small.txt'))!)).toBe('fits');
  }, 60_000);
});

/** Several services on one host share METRICS_PORT: each takes the next free port instead of failing. */
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/bus/nats-server.ts';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster | undefined;
afterAll(async () => c?.close());

describe('metrics ports', () => {
  it('a second service on the same METRICS_PORT listens on the next free port, and both answer /healthz', async () => {
    const port = await freePort();
    c = await testCluster(testEnv({ METRICS_PORT: String(port) }));
    await c.start('mapper');
    await c.start('reducer');
    const a = await fetch(`http://127.0.0.1:${port}/healthz`);
    const b = await fetch(`http://127.0.0.1:${port + 1}/healthz`);
    expect([a.status, b.status]).toEqual([200, 200]);
    const r = await fetch(`http://127.0.0.1:${port + 1}/readyz`);
    expect(r.status).toBe(200);
  });
});

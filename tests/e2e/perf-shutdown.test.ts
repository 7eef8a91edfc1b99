/**
 * In-process services (as `llmxmr ask` starts them) stop without waiting out the pull requests
 * they hold open: a stopping pull loop closes its fetch instead of letting it expire (1 s).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { names } from '../../shared/protocol/names.ts';
import { startRole } from '../../services/role.ts';
import { testEnv, dropPrefix } from '../helpers/cluster.ts';

const env = testEnv();
afterAll(() => dropPrefix(env));

describe('stopping in-process services', () => {
  it('takes far less than the fetch expiry, though every role holds an open fetch', async () => {
    const nc = await connectNats(env, { reconnect: false });
    await provision(nc, names(env.MR_PREFIX), { maxDeliver: env.MR_MAX_DELIVER, ackWaitMs: env.MR_ACK_WAIT_MS, replicas: env.MR_REPLICAS });
    const roles = [];
    for (const r of ['coordinator', 'mapper', 'reducer'] as const) roles.push(await startRole(r, { env, nc }));
    await new Promise((r) => setTimeout(r, 1_100)); // every loop is now inside a fetch that expires in 1 s
    const t0 = performance.now();
    await Promise.all(roles.map((r) => r.stop()));
    const ms = performance.now() - t0;
    await nc.drain();
    expect(ms).toBeLessThan(500);
  });
});

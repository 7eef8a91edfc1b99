/**
 * MR_REPLICAS against real NATS: a single server refuses replicated streams with a message that
 * says what to do; on a three-server JetStream cluster every stream, bucket and the Object Store
 * get three copies, and the cluster's state stays readable and writable with one server down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort, startNatsServer, type NatsServerHandle } from '../../shared/bus/nats-server.ts';
import { provision } from '../../shared/bus/provision.ts';
import { whileNatsUnavailable } from '../../shared/bus/retry.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { names } from '../../shared/protocol/names.ts';
import { streamNames } from '../../shared/security/permissions.ts';
import { until } from '../helpers/cluster.ts';

const opts = { maxDeliver: 2, ackWaitMs: 5_000 };

describe('replicated state (MR_REPLICAS)', () => {
  it('refuses more than one replica on a single server, saying to run a cluster or set MR_REPLICAS=1', async () => {
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    try {
      await expect(provision(nc, names(`trep${Date.now().toString(36)}`), { ...opts, replicas: 3 })).rejects.toThrow(/MR_REPLICAS=3 needs JetStream in cluster mode.*or set MR_REPLICAS=1/);
    } finally {
      await nc.close();
    }
  });

  describe('on a three-server cluster', () => {
    const servers: NatsServerHandle[] = [];
    let nc: NatsConnection;
    beforeAll(async () => {
      const routes = await Promise.all([0, 1, 2].map(() => freePort()));
      const routeList = routes.map((p) => `nats://127.0.0.1:${p}`).join(',');
      for (const [i, p] of routes.entries()) {
        servers.push(await startNatsServer({ args: ['-n', `rep-${i}`, '--cluster_name', 'rep', '--cluster', `nats://127.0.0.1:${p}`, '--routes', routeList] }));
      }
      nc = await connect({ servers: servers.map((s) => s.url) });
      // JetStream answers once the servers have elected a meta leader.
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      await until('the JetStream cluster to elect a leader', () => jsm.getAccountInfo().then(() => true, () => false), 30_000);
    }, 60_000);
    afterAll(async () => {
      await nc?.close().catch(() => undefined);
      for (const s of servers) await s.stop();
    });

    it('keeps three copies of every stream, bucket and the Object Store, and works with a server down', async () => {
      const n = names('rep');
      // As the services do: a cluster whose servers are still joining cannot place replicas yet.
      expect(await whileNatsUnavailable(() => provision(nc, n, { ...opts, replicas: 3 }), { timeoutMs: 30_000 })).toEqual({ provisioned: true });
      const jsm = await jetstreamManager(nc);
      for (const s of streamNames(n)) {
        const info = await jsm.streams.info(s);
        expect({ stream: s, replicas: info.config.num_replicas }).toEqual({ stream: s, replicas: 3 });
      }
      const bus = await Bus.open(nc, 'rep');
      await bus.putBlob('papers/a', 'a paper kept on three servers');

      // The server the client is not connected to goes down: two of three still form a quorum.
      const connected = nc.info?.port;
      const victim = servers.find((s) => s.port !== connected)!;
      await victim.stop({ signal: 'SIGKILL' });
      // A stream whose leader was on that server elects another within seconds; callers wait
      // that out the way the services do.
      const wait = <T>(f: () => Promise<T>) => whileNatsUnavailable(f, { timeoutMs: 40_000 });
      expect(await wait(() => bus.blobText('papers/a'))).toBe('a paper kept on three servers');
      await wait(() => bus.jobs.put('job-1', new TextEncoder().encode('queued')));
      expect(new TextDecoder().decode((await wait(() => bus.jobs.get('job-1')))!.value)).toBe('queued');
    }, 90_000);
  });
});

/**
 * A test cluster on the shared NATS server (every role in-process, the offline engine) with the
 * HTTP gateway built over its bus, for the API tests; requests go through `app.inject`.
 */
import type { FastifyInstance } from 'fastify';
import { testCluster, testEnv, type TestCluster } from './cluster.ts';
import { buildGateway, type GatewayOptions } from '../../services/gateway/server.ts';

export interface GatewayCluster {
  cluster: TestCluster;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function gatewayCluster(o: Omit<GatewayOptions, 'bus'> = {}): Promise<GatewayCluster> {
  const cluster = await testCluster(testEnv({ MR_CONCURRENCY: '8' }));
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
  const app = await buildGateway({ console: false, ...o, bus: cluster.bus });
  return {
    cluster,
    app,
    async close() {
      await app.close();
      await cluster.close();
    },
  };
}

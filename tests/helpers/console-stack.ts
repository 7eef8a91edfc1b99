/**
 * What the console's browser tests and screenshots run on: a test cluster (coordinator,
 * mapper, convolver, reducer in-process), the real gateway listening on a free loopback port,
 * and Debian's Chromium.
 */
import { afterAll, beforeAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Env } from '../../shared/config/env.ts';
import { buildGateway, type GatewayOptions } from '../../services/gateway/server.ts';
import { testCluster, testEnv, type TestCluster } from './cluster.ts';
import { launchBrowser, type TestBrowser } from './browser.ts';

export interface ConsoleStack {
  cluster: TestCluster;
  app: FastifyInstance;
  /** "http://127.0.0.1:PORT" */
  base: string;
  browser: TestBrowser;
  close(): Promise<void>;
}

/** Listen on a free loopback port; returns the base URL. */
export async function listenLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

export async function startConsoleStack(o: { env?: Env; gateway?: Omit<GatewayOptions, 'bus'>; viewport?: { width: number; height: number } } = {}): Promise<ConsoleStack> {
  const cluster = await testCluster(o.env ?? testEnv({ MR_CONCURRENCY: '8' }));
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
  const app = await buildGateway({ bus: cluster.bus, keepAliveMs: 2_000, ...o.gateway });
  const base = await listenLoopback(app);
  const browser = await launchBrowser(o.viewport);
  return {
    cluster,
    app,
    base,
    browser,
    async close() {
      await browser.close();
      await app.close();
      await cluster.close();
    },
  };
}

/** A stack for the tests of one file: started before them, closed after them. Its fields are set once `beforeAll` has run. */
export function consoleStackPerFile(): ConsoleStack {
  const stack = {} as ConsoleStack;
  beforeAll(async () => {
    Object.assign(stack, await startConsoleStack());
  }, 90_000);
  afterAll(async () => stack.close?.());
  return stack;
}

/**
 * A cluster on a private server run with `llmxmr auth init --users …`'s files: every service
 * under its own role's credential, and the HTTP gateway under the gateway's, with the operator
 * token and the publishers' tokens that auth init wrote (gateway.env, <user>.env).
 */
import pino from 'pino';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { names } from '../../shared/protocol/names.ts';
import { startRole, type RoleHandle } from '../../services/role.ts';
import { startGatewayServer, type RunningGateway } from '../../services/gateway/run.ts';
import { startAuthInitNats, type AuthInitNats } from './secure-nats.ts';

export interface UsersGateway {
  server: AuthInitNats;
  gateway: RunningGateway;
  /** The bearer token `auth init` gave a publisher, or the operator's for "admin". */
  token(name: string): string;
  close(): Promise<void>;
}

export async function usersGateway(prefix: string, publishers: string[]): Promise<UsersGateway> {
  const server = await startAuthInitNats(prefix, publishers);
  const roles: RoleHandle[] = [];
  let gwBus: Bus | undefined;
  try {
    const nc = await connectNats(server.env('admin'), { reconnect: false });
    await provision(nc, names(prefix), { maxDeliver: 3, ackWaitMs: 5000 });
    await nc.close();
    for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(r, { env: server.env(r) }));
    const env = server.env('gateway', { HTTP_PORT: '0' });
    gwBus = await Bus.open(await connectNats(env, { name: 'test-gateway' }), prefix);
    const gateway = await startGatewayServer(gwBus, env, pino({ level: 'silent' }), { port: 0 });
    return {
      server,
      gateway,
      token: (name) => server.env(name).LLMXMR_HTTP_TOKEN!,
      async close() {
        await gateway.close();
        await gwBus?.nc.close().catch(() => undefined);
        for (const r of roles.reverse()) await r.stop().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (e) {
    await gwBus?.nc.close().catch(() => undefined);
    for (const r of roles.reverse()) await r.stop().catch(() => undefined);
    await server.stop();
    throw e;
  }
}

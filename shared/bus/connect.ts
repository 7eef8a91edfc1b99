/** Connect to NATS with the credentials the environment provides (user/pass, token, creds, TLS). */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Env } from '../config/env.ts';

export type NatsAuth = Pick<Env, 'NATS_URL' | 'NATS_USER' | 'NATS_PASS' | 'NATS_TOKEN' | 'NATS_CREDS' | 'NATS_TLS_CA'>;

export interface ConnectOptions {
  name?: string;
  /** Milliseconds to wait for the first connection. */
  timeoutMs?: number;
  /** Keep reconnecting forever (services) or give up quickly (one-shot clients). */
  reconnect?: boolean;
}

export async function connectNats(auth: NatsAuth, opts: ConnectOptions = {}): Promise<NatsConnection> {
  const servers = auth.NATS_URL.split(',').map((s) => s.trim());
  try {
    return await connect({
      servers,
      name: opts.name,
      timeout: opts.timeoutMs ?? 5_000,
      reconnect: opts.reconnect ?? true,
      maxReconnectAttempts: opts.reconnect === false ? 0 : -1,
      user: auth.NATS_USER,
      pass: auth.NATS_PASS,
      token: auth.NATS_TOKEN,
      authenticator: auth.NATS_CREDS ? credsAuthenticator(readFileSync(auth.NATS_CREDS)) : undefined,
      tls: auth.NATS_TLS_CA ? { caFile: auth.NATS_TLS_CA } : undefined,
    });
  } catch (e) {
    throw new Error(
      `cannot connect to NATS at ${auth.NATS_URL}: ${(e as Error).message}. ` +
        'Start a server (e.g. `nats-server -js`), set NATS_URL / --nats, or use --embedded.',
    );
  }
}

/**
 * Connect to NATS with the credentials the environment provides: user/password, token, an nkey
 * seed file or a creds file, and TLS (CA, client certificate and key). Each user's replies
 * arrive under its own inbox prefix (`_INBOX.<user>`), which the generated server permissions
 * expect (see shared/security/permissions.ts).
 */
import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  nkeys,
  type ConnectionOptions,
  type NatsConnection,
  type TlsOptions,
} from '@nats-io/transport-node';
import type { Env } from '../config/env.ts';
import { inboxPrefixFor } from '../security/permissions.ts';

export type NatsAuth = Pick<Env, 'NATS_URL' | 'NATS_USER' | 'NATS_PASS' | 'NATS_TOKEN' | 'NATS_CREDS' | 'NATS_TLS_CA'> &
  Partial<Pick<Env, 'NATS_NKEY_SEED' | 'NATS_TLS_CERT' | 'NATS_TLS_KEY' | 'NATS_INBOX_PREFIX'>>;

export interface ConnectOptions {
  name?: string;
  /** Milliseconds to wait for the first connection. */
  timeoutMs?: number;
  /** Keep reconnecting forever (services) or give up quickly (one-shot clients). */
  reconnect?: boolean;
}

/** A server URL with any embedded user:password removed (for messages and logs). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/g, '//[redacted]@');
}

function readSecretFile(variable: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`${variable}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function nkeySeed(path: string): Uint8Array {
  const seed = new TextDecoder().decode(readSecretFile('NATS_NKEY_SEED', path)).trim();
  if (!/^SU[A-Z2-7]{56}$/.test(seed)) throw new Error(`NATS_NKEY_SEED: ${path} does not hold a user nkey seed (one line starting with "SU")`);
  return new TextEncoder().encode(seed);
}

/** The inbox prefix for these credentials: explicit, else from the user name or the nkey. */
export function inboxPrefix(auth: NatsAuth): string | undefined {
  if (auth.NATS_INBOX_PREFIX) return auth.NATS_INBOX_PREFIX;
  if (auth.NATS_USER) return inboxPrefixFor(auth.NATS_USER);
  if (auth.NATS_NKEY_SEED) return inboxPrefixFor(nkeys.fromSeed(nkeySeed(auth.NATS_NKEY_SEED)).getPublicKey());
  return undefined;
}

/** The client options (without servers) the environment asks for. Reads key files. */
export function authOptions(auth: NatsAuth): Partial<ConnectionOptions> {
  const ways = [auth.NATS_USER || auth.NATS_PASS ? 'NATS_USER/NATS_PASS' : '', auth.NATS_TOKEN ? 'NATS_TOKEN' : '', auth.NATS_NKEY_SEED ? 'NATS_NKEY_SEED' : '', auth.NATS_CREDS ? 'NATS_CREDS' : ''].filter(Boolean);
  if (ways.length > 1) throw new Error(`choose one way to authenticate to NATS; got ${ways.join(', ')}`);
  if (auth.NATS_PASS && !auth.NATS_USER) throw new Error('NATS_PASS is set but NATS_USER is not');
  if (Boolean(auth.NATS_TLS_CERT) !== Boolean(auth.NATS_TLS_KEY)) throw new Error('NATS_TLS_CERT and NATS_TLS_KEY go together: set both or neither');
  const o: Partial<ConnectionOptions> = {};
  if (auth.NATS_USER) {
    o.user = auth.NATS_USER;
    o.pass = auth.NATS_PASS;
  }
  if (auth.NATS_TOKEN) o.token = auth.NATS_TOKEN;
  if (auth.NATS_NKEY_SEED) o.authenticator = nkeyAuthenticator(nkeySeed(auth.NATS_NKEY_SEED));
  if (auth.NATS_CREDS) o.authenticator = credsAuthenticator(readSecretFile('NATS_CREDS', auth.NATS_CREDS));
  if (auth.NATS_TLS_CA || auth.NATS_TLS_CERT) {
    const tls: TlsOptions = {};
    for (const [k, v] of [['NATS_TLS_CA', auth.NATS_TLS_CA], ['NATS_TLS_CERT', auth.NATS_TLS_CERT], ['NATS_TLS_KEY', auth.NATS_TLS_KEY]] as const) {
      if (v) readSecretFile(k, v); // a clear error now rather than a TLS failure later
    }
    if (auth.NATS_TLS_CA) tls.caFile = auth.NATS_TLS_CA;
    if (auth.NATS_TLS_CERT) tls.certFile = auth.NATS_TLS_CERT;
    if (auth.NATS_TLS_KEY) tls.keyFile = auth.NATS_TLS_KEY;
    o.tls = tls;
  }
  const inbox = inboxPrefix(auth);
  if (inbox) o.inboxPrefix = inbox;
  return o;
}

const identities = new WeakMap<NatsConnection, string | undefined>();

/**
 * The identity a connection authenticated with, as one subject token (the last token of its
 * inbox prefix: the user name or the nkey's public key); undefined without credentials.
 */
export function connectionIdentity(nc: NatsConnection): string | undefined {
  return identities.get(nc);
}

/** Why the first connection failed, in the words an operator needs. */
export type ConnectFailure = 'credentials' | 'tls' | 'unreachable';

export class NatsConnectError extends Error {
  constructor(
    message: string,
    readonly kind: ConnectFailure,
  ) {
    super(message);
    this.name = 'NatsConnectError';
  }
}

export function classifyConnectError(msg: string): ConnectFailure {
  if (/authorization|authentication|permissions|user authentication/i.test(msg)) return 'credentials';
  if (/tls|ssl|certificate|self[- ]signed|handshake|CERT_|unable to verify|altnames|wrong version number/i.test(msg)) return 'tls';
  return 'unreachable';
}

export async function connectNats(auth: NatsAuth, opts: ConnectOptions = {}): Promise<NatsConnection> {
  const servers = auth.NATS_URL.split(',').map((s) => s.trim());
  const where = redactUrl(auth.NATS_URL);
  const options = authOptions(auth);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: opts.name,
      timeout: opts.timeoutMs ?? 5_000,
      reconnect: opts.reconnect ?? true,
      maxReconnectAttempts: opts.reconnect === false ? 0 : -1,
      // backoff between attempts: 1-2 s with jitter, for as long as the process runs
      reconnectTimeWait: 1_000,
      reconnectJitter: 1_000,
      // No stack captured for every request in case it fails (two Error objects per request,
      // ~6% of a busy worker's CPU); our errors carry their own context.
      noAsyncTraces: true,
      ...options,
    });
  } catch (e) {
    const msg = (e as Error).message;
    const cause = (e as { cause?: Error }).cause?.message;
    const full = cause && !msg.includes(cause) ? `${msg}: ${cause}` : msg;
    const kind = classifyConnectError(full);
    if (kind === 'credentials') {
      throw new NatsConnectError(
        `NATS at ${where} refused these credentials (${full}): check NATS_USER/NATS_PASS, NATS_TOKEN, NATS_NKEY_SEED or NATS_CREDS`,
        kind,
      );
    }
    if (kind === 'tls') {
      throw new NatsConnectError(
        `TLS with NATS at ${where} failed (${full}): check NATS_TLS_CA (the CA that signed the server's certificate), ` +
          'the host name in NATS_URL against the certificate, and NATS_TLS_CERT/NATS_TLS_KEY if the server verifies clients',
        kind,
      );
    }
    throw new NatsConnectError(
      `cannot connect to NATS at ${where}: ${full}. ` +
        'Start a server (e.g. `nats-server -js`), set NATS_URL / --nats, or use --embedded.',
      kind,
    );
  }
  const inbox = options.inboxPrefix;
  identities.set(nc, inbox && inbox !== '_INBOX' ? inbox.split('.').pop() : undefined);
  return nc;
}

/**
 * What `llmxmr auth init` writes, and what deploy/k8s is rendered from: one user per service
 * role, an administrator, and one user per named publisher, each with the least-privilege
 * permissions of permissions.ts. Pure: passwords come from the caller, nothing is written here.
 */
import { authorizationBlock, natsServerConfig, type ConfigUser, type SecurityRole } from './permissions.ts';
import { names as makeNames } from '../protocol/names.ts';
import { createHash } from 'node:crypto';

/** The service roles, each one user (several replicas of a role share it). */
export const SERVICE_USERS = ['admin', 'coordinator', 'mapper', 'convolver', 'reducer', 'gateway'] as const;

const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export interface AuthInitOptions {
  prefix: string;
  /** Publisher names (each gets the `client` role on its own subjects). */
  users: string[];
  /** A fresh secret for each user name. */
  password(name: string): string;
  /** A fresh HTTP API token for each publisher, and `admin` (default: `password` of `http:<name>`). */
  httpToken?(name: string): string;
  /** JetStream store directory written into nats.conf. */
  storeDir: string;
  /** Server address written into each .env file. */
  url: string;
  /** Where the gateway finds the users file (written into gateway.env; default: beside nats.conf as `http-users.json`). */
  httpUsersPath?: string;
}

/** The file of publishers' HTTP token hashes the gateway reads (LLMXMR_HTTP_USERS_FILE). */
export const HTTP_USERS_FILE = 'http-users.json';

/** The users file's text: each publisher with the sha-256 (hex) of its HTTP token. */
export function httpUsersJson(tokens: { user: string; token: string }[]): string {
  const users = tokens.map((t) => ({ user: t.user, sha256: createHash('sha256').update(t.token).digest('hex') }));
  return `${JSON.stringify({ version: 1, users }, null, 2)}\n`;
}

export interface UserCredential {
  name: string;
  role: SecurityRole;
  password: string;
}

/** Validate the publisher list: lowercase names, no clash with a role's user, no repeats. */
export function checkPublisherNames(users: string[]): string[] {
  const out: string[] = [];
  for (const raw of users) {
    const u = raw.trim();
    if (!u) continue;
    if (!USER_NAME.test(u)) throw new Error(`publisher name "${u}": use 1-32 lowercase letters, digits, "-" or "_", starting with a letter`);
    if ((SERVICE_USERS as readonly string[]).includes(u)) throw new Error(`publisher name "${u}" is the name of a service role's user; pick another`);
    if (out.includes(u)) throw new Error(`publisher "${u}" is listed twice`);
    out.push(u);
  }
  return out;
}

export function credentials(o: AuthInitOptions): UserCredential[] {
  return [
    ...SERVICE_USERS.map((r) => ({ name: r, role: r as SecurityRole, password: o.password(r) })),
    ...checkPublisherNames(o.users).map((u) => ({ name: u, role: 'client' as const, password: o.password(u) })),
  ];
}

const issued = new WeakMap<AuthInitOptions, Map<string, string>>();
/** A user's HTTP token, made once per run (the .env file and the users file must agree). */
function httpTokenOf(o: AuthInitOptions, name: string): string {
  let m = issued.get(o);
  if (!m) issued.set(o, (m = new Map()));
  if (!m.has(name)) m.set(name, (o.httpToken ?? ((n: string) => o.password(`http:${n}`)))(name));
  return m.get(name)!;
}

/** The HTTP API lines of a user's .env: a publisher's own token, the gateway's users file and admin token, the admin's token. */
function httpLines(c: UserCredential, o: AuthInitOptions, usersPath: string): string[] {
  if (c.role === 'client') return [`# HTTP API token of publisher "${c.name}": through the gateway it sees and acts on its own jobs only`, `LLMXMR_HTTP_TOKEN=${httpTokenOf(o, c.name)}`];
  if (c.role === 'admin') return ['# HTTP API token of the operator: through the gateway it sees and acts on every job', `LLMXMR_HTTP_TOKEN=${httpTokenOf(o, 'admin')}`];
  if (c.role === 'gateway') return ['# HTTP API: the operator token, and each publisher token by its sha-256', `LLMXMR_HTTP_TOKEN=${httpTokenOf(o, 'admin')}`, `LLMXMR_HTTP_USERS_FILE=${usersPath}`];
  return [];
}

function envFile(c: UserCredential, o: AuthInitOptions, usersPath: string): string {
  const what = c.role === 'client' ? `publisher "${c.name}" (may submit, follow, fetch and cancel only its own jobs)` : `the ${c.role} role`;
  return [
    `# NATS credentials of ${what}`,
    `# for the llmxmapreduce cluster under prefix "${o.prefix}". Keep this file private (mode 0600).`,
    ...httpLines(c, o, usersPath),
    `NATS_URL=${o.url}`,
    `NATS_USER=${c.name}`,
    `NATS_PASS=${c.password}`,
    `MR_PREFIX=${o.prefix}`,
    '',
  ].join('\n');
}

/** File name → content: `nats.conf`, `<name>.env` for every user, and the gateway's `http-users.json`. */
export function authInitFiles(o: AuthInitOptions): Map<string, string> {
  makeNames(o.prefix); // validates the prefix
  const creds = credentials(o);
  const users: ConfigUser[] = creds.map((c) => ({ user: c.name, password: c.password, role: c.role }));
  const files = new Map<string, string>();
  files.set('nats.conf', natsServerConfig({ prefix: o.prefix, users, storeDir: o.storeDir }));
  const usersPath = o.httpUsersPath ?? HTTP_USERS_FILE;
  for (const c of creds) files.set(`${c.name}.env`, envFile(c, o, usersPath));
  files.set(HTTP_USERS_FILE, httpUsersJson(creds.filter((c) => c.role === 'client').map((c) => ({ user: c.name, token: httpTokenOf(o, c.name) }))));
  return files;
}

// ---- Kubernetes ------------------------------------------------------------------------------

/** The publisher credential of deploy/k8s (the CLI in docs/operations.md uses it). */
export const K8S_PUBLISHER = 'publisher';
export const K8S_USERS = [...SERVICE_USERS, K8S_PUBLISHER] as const;

/** Secret holding one user's credential (keys `user`, `password`). */
export const k8sSecretName = (user: string) => `llmxmr-nats-${user}`;
/** The nats container's variable holding that user's password, quoted for the config parser. */
export const k8sPasswordVar = (user: string) => `NATS_PASS_${user.toUpperCase()}`;

const GENERATED = 'generated by `llmxmr auth k8s` (shared/security/auth-init.ts); a test checks it is current';

/** deploy/k8s/base/nats-auth.conf: the users, no secret (passwords are `$NATS_PASS_<USER>`). */
export function k8sAuthConf(prefix = 'mr'): string {
  const users: ConfigUser[] = K8S_USERS.map((u) => ({ user: u, passwordEnv: k8sPasswordVar(u), role: u === K8S_PUBLISHER ? 'client' : (u as SecurityRole) }));
  return authorizationBlock({ prefix, users }, [
    GENERATED,
    'Included by nats.conf. One user per role and one publisher, least privilege (docs/security.md).',
    'Each password comes from the Secret llmxmr-nats-<user> through the nats container environment.',
  ]);
}

/** deploy/k8s/base/nats-auth-env.yaml: a patch giving the nats container every password variable. */
export function k8sNatsEnvPatch(): string {
  const lines = [
    `# ${GENERATED}`,
    '# The nats container reads each user password from its Secret; nats-server parses a referenced',
    '# value as configuration syntax, so each is wrapped in quotes to stay a plain string.',
    'apiVersion: apps/v1',
    'kind: StatefulSet',
    'metadata:',
    '  name: nats',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: nats',
    '          env:',
  ];
  for (const u of K8S_USERS) {
    const v = k8sPasswordVar(u);
    lines.push(
      `            - name: ${v}_RAW`,
      '              valueFrom:',
      '                secretKeyRef:',
      `                  name: ${k8sSecretName(u)}`,
      '                  key: password',
      `            - name: ${v}`,
      `              value: '"$(${v}_RAW)"'`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Secret manifests with fresh passwords, for an operator to apply (never checked in). The
 * publisher's Secret also holds its HTTP API token (`http-token`), and the gateway's the users
 * file with that token's hash (`http-users.json`, mounted as LLMXMR_HTTP_USERS_FILE).
 */
export function k8sSecrets(password: (user: string) => string, namespace?: string): string {
  const publisherToken = password(`http:${K8S_PUBLISHER}`);
  const extra: Partial<Record<string, string[]>> = {
    [K8S_PUBLISHER]: [`  http-token: ${JSON.stringify(publisherToken)}`],
    gateway: [`  ${HTTP_USERS_FILE}: ${JSON.stringify(httpUsersJson([{ user: K8S_PUBLISHER, token: publisherToken }]))}`],
  };
  return K8S_USERS.map((u) =>
    [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      `  name: ${k8sSecretName(u)}`,
      ...(namespace ? [`  namespace: ${namespace}`] : []),
      'type: Opaque',
      'stringData:',
      `  user: ${u}`,
      `  password: ${JSON.stringify(password(u))}`,
      ...(extra[u] ?? []),
    ].join('\n'),
  ).join('\n---\n') + '\n';
}

/**
 * Least-privilege NATS permissions for each role of a cluster, and a nats-server configuration
 * that gives every user the permissions of its role. Pure: no I/O.
 *
 * The subjects below are the ones the v3 JavaScript client sends to a 2.9 server for the
 * operations each role performs (checked against a traced server, and by the permission tests):
 *   pull a task            $JS.API.CONSUMER.INFO|MSG.NEXT.<stream>.<consumer>, replies to the inbox
 *   ack / nak / term / working   $JS.ACK.<stream>.<consumer>.>
 *   KV get                 $JS.API.STREAM.MSG.GET.KV_<bucket> (buckets opened without stream info),
 *                          $JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key> (opened with allow_direct)
 *   KV put/create/delete   $KV.<bucket>.<key>
 *   KV keys/watch          an ordered consumer: $JS.API.CONSUMER.CREATE.KV_<bucket>.<name>.<filter>
 *   Object Store get       meta via STREAM.MSG.GET.OBJ_<store>, chunks via an ordered consumer
 *   Object Store put       $O.<store>.C.<nuid>, $O.<store>.M.<name>, STREAM.PURGE.OBJ_<store>
 *   JetStream publish      the subject itself; the PubAck comes back on the inbox
 * Every reply (requests, fetches, ordered consumers) arrives under the connection's inbox prefix.
 * Each user gets its own prefix (`_INBOX.<user>`) so that no role can read another's replies;
 * `shared/bus/connect.ts` picks the same prefix from NATS_USER.
 */
import { names as makeNames, type Names, type TaskKind } from '../protocol/names.ts';

export const SECURITY_ROLES = ['admin', 'coordinator', 'mapper', 'convolver', 'reducer', 'client'] as const;
export type SecurityRole = (typeof SECURITY_ROLES)[number];

export interface SubjectRules {
  allow: string[];
  deny?: string[];
}
export interface Permissions {
  publish: SubjectRules;
  subscribe: SubjectRules;
}

const WORKER_KIND: Record<'mapper' | 'convolver' | 'reducer', TaskKind> = { mapper: 'map', convolver: 'convolve', reducer: 'reduce' };

/** The inbox prefix a user's connections use: `_INBOX.<user>` with unsafe characters replaced. */
export function inboxPrefixFor(user: string): string {
  const token = user.replace(/[^A-Za-z0-9_-]/g, '_');
  if (!token) throw new Error('cannot derive an inbox prefix from an empty user name');
  return `_INBOX.${token}`;
}

const API = '$JS.API';

/** Read one KV key (by key only where the client supports it; by message otherwise). */
function kvGet(bucket: string): string[] {
  return [`${API}.STREAM.MSG.GET.KV_${bucket}`, `${API}.DIRECT.GET.KV_${bucket}.$KV.${bucket}.>`];
}
/** Put, create, update and delete keys (all are publishes to the key's subject). */
function kvPut(bucket: string, keys = '>'): string[] {
  return [`$KV.${bucket}.${keys}`];
}
/** Ordered (ephemeral) consumers on a stream: KV keys() and watch(), Object Store reads, stream listing. */
function orderedConsumer(stream: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.FC.${stream}.>`,
  ];
}
/** Pull from one durable consumer and acknowledge what it delivers (ack, nak, term, working). */
function pullFrom(stream: string, consumer: string): string[] {
  return [`${API}.CONSUMER.INFO.${stream}.${consumer}`, `${API}.CONSUMER.MSG.NEXT.${stream}.${consumer}`, `$JS.ACK.${stream}.${consumer}.>`];
}
function objRead(store: string): string[] {
  return [`${API}.STREAM.MSG.GET.OBJ_${store}`, `${API}.DIRECT.GET.OBJ_${store}.>`, ...orderedConsumer(`OBJ_${store}`)];
}
function objWrite(store: string): string[] {
  return [`$O.${store}.>`, `${API}.STREAM.PURGE.OBJ_${store}`];
}

/** Every stream of the prefix, by its JetStream name. */
export function streamNames(n: Names): string[] {
  return [
    ...Object.values(n.streams),
    ...Object.values(n.buckets).map((b) => `KV_${b}`),
    `OBJ_${n.objectStore}`,
  ];
}

/** Stream metadata (config and counts): every process checks the provisioned streams at start. */
function common(n: Names): string[] {
  return [`${API}.INFO`, ...streamNames(n).map((s) => `${API}.STREAM.INFO.${s}`)];
}

/** What no role but admin may ever do, stated explicitly (deny wins over allow in NATS). */
function managementDeny(): string[] {
  return [
    `${API}.STREAM.CREATE.>`,
    `${API}.STREAM.UPDATE.>`,
    `${API}.STREAM.DELETE.>`,
    `${API}.CONSUMER.DURABLE.CREATE.>`,
    `${API}.ACCOUNT.>`,
    `${API}.META.>`,
    `${API}.SERVER.>`,
  ];
}

/**
 * The permissions of one role for the cluster under `prefix`. `inbox` is the inbox prefix of the
 * user holding them (see `inboxPrefixFor`).
 */
export function rolePermissions(prefix: string, role: SecurityRole, inbox = '_INBOX'): Permissions {
  const n = makeNames(prefix);
  const p = n.prefix;
  const b = n.buckets;
  const inboxSub = `${inbox}.>`;
  if (role === 'admin') return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };

  if (role === 'coordinator') {
    return {
      publish: {
        allow: [
          ...common(n),
          ...pullFrom(n.streams.jobs, n.consumers.coordinator),
          `${p}.tasks.>`,
          `${p}.events.>`,
          `${p}.dlq.>`,
          // exhausted tasks: read by sequence, then remove from the work queue
          `${API}.STREAM.MSG.GET.${n.streams.tasks}`,
          `${API}.STREAM.MSG.DELETE.${n.streams.tasks}`,
          ...kvGet(b.jobs),
          ...kvPut(b.jobs),
          ...kvGet(b.results),
          ...kvPut(b.results),
          ...orderedConsumer(`KV_${b.results}`),
          ...kvPut(b.workers, 'coordinator.>'),
          ...objRead(n.objectStore),
          ...objWrite(n.objectStore),
        ],
        deny: [...managementDeny(), `${p}.jobs.>`],
      },
      subscribe: {
        allow: [
          inboxSub,
          `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${n.streams.tasks}.*`,
          n.subjects.cancelAll,
        ],
      },
    };
  }

  if (role === 'mapper' || role === 'convolver' || role === 'reducer') {
    const kind = WORKER_KIND[role];
    return {
      publish: {
        allow: [
          ...common(n),
          ...pullFrom(n.streams.tasks, n.consumers[kind]),
          ...kvGet(b.results),
          ...kvPut(b.results),
          // cancellation check before a task runs: read-only, no listing or watching
          ...kvGet(b.jobs),
          ...kvGet(b.llmcache),
          ...kvPut(b.llmcache),
          ...kvPut(b.workers, `${role}.>`),
          ...objRead(n.objectStore),
          // results above the inline limit are stored in the Object Store
          ...objWrite(n.objectStore),
          `${p}.events.>`,
          n.subjects.dlq(kind),
        ],
        deny: [...managementDeny(), `${p}.jobs.>`, `${p}.tasks.>`, `${p}.control.>`, `$KV.${b.jobs}.>`],
      },
      subscribe: { allow: [inboxSub] },
    };
  }

  // client
  return {
    publish: {
      allow: [
        ...common(n),
        n.subjects.submit,
        n.subjects.cancelAll,
        ...kvGet(b.jobs),
        ...kvPut(b.jobs),
        // which services are alive (presence), read-only
        ...kvGet(b.workers),
        ...orderedConsumer(`KV_${b.workers}`),
        ...objRead(n.objectStore),
        ...objWrite(n.objectStore),
        // replay of a job's events
        ...orderedConsumer(n.streams.events),
        // `llmxmr dlq list`: read-only
        `${API}.STREAM.MSG.GET.${n.streams.dlq}`,
        ...orderedConsumer(n.streams.dlq),
      ],
      deny: [...managementDeny(), `${p}.tasks.>`, `${p}.dlq.>`, `${p}.events.>`, `$JS.ACK.>`],
    },
    subscribe: { allow: [inboxSub, n.subjects.eventsAll] },
  };
}

export interface ConfigUser {
  role: SecurityRole;
  /** User name and password (or a bcrypt hash of it, as nats-server accepts). */
  user?: string;
  password?: string;
  /** A user nkey (public key, starting with "U") instead of user/password. */
  nkey?: string;
  /** Inbox prefix of this user's connections; defaults to `_INBOX.<user or nkey>`. */
  inbox?: string;
}

export interface ServerConfigOptions {
  prefix: string;
  users: ConfigUser[];
  /** Account name (default: the prefix in capitals). */
  account?: string;
  /** Optional JetStream store directory written into the config. */
  storeDir?: string;
}

function q(s: string): string {
  return JSON.stringify(s);
}

function list(items: string[], indent: string): string {
  return `[\n${items.map((s) => `${indent}  ${q(s)}`).join(',\n')}\n${indent}]`;
}

function rules(r: SubjectRules, indent: string): string {
  const parts = [`${indent}  allow: ${list(r.allow, `${indent}  `)}`];
  if (r.deny?.length) parts.push(`${indent}  deny: ${list(r.deny, `${indent}  `)}`);
  return `{\n${parts.join('\n')}\n${indent}}`;
}

/** The inbox prefix a configured user's connections must use. */
export function userInbox(u: ConfigUser): string {
  if (u.inbox) return u.inbox;
  if (u.user) return inboxPrefixFor(u.user);
  if (u.nkey) return inboxPrefixFor(u.nkey);
  throw new Error('a user needs "user" and "password", or "nkey"');
}

/**
 * nats-server configuration text: one account with JetStream, one entry per user carrying the
 * permissions of its role. Unauthenticated connections are refused.
 */
export function natsServerConfig(o: ServerConfigOptions): string {
  const n = makeNames(o.prefix);
  const account = o.account ?? n.prefix.toUpperCase();
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(account)) throw new Error(`invalid account name "${account}"`);
  if (o.users.length === 0) throw new Error('at least one user is needed');
  const seen = new Set<string>();
  const users = o.users.map((u) => {
    if (!SECURITY_ROLES.includes(u.role)) throw new Error(`unknown role "${u.role}" (known: ${SECURITY_ROLES.join(', ')})`);
    const id = u.user ?? u.nkey;
    if (!id) throw new Error('a user needs "user" and "password", or "nkey"');
    if (seen.has(id)) throw new Error(`user "${id}" is listed twice`);
    seen.add(id);
    if (u.user && !u.password) throw new Error(`user "${u.user}" has no password`);
    if (u.nkey && !/^U[A-Z2-7]{55}$/.test(u.nkey)) throw new Error(`"${u.nkey}" is not a user nkey (public key starting with "U")`);
    const perms = rolePermissions(o.prefix, u.role, userInbox(u));
    const ident = u.user ? `user: ${q(u.user)}, password: ${q(u.password!)}` : `nkey: ${q(u.nkey!)}`;
    const ind = '        ';
    return [
      `      { # role: ${u.role}`,
      `        ${ident}`,
      `        permissions: {`,
      `${ind}  publish: ${rules(perms.publish, `${ind}  `)}`,
      `${ind}  subscribe: ${rules(perms.subscribe, `${ind}  `)}`,
      `        }`,
      `      }`,
    ].join('\n');
  });
  const js = o.storeDir ? `jetstream {\n  store_dir: ${q(o.storeDir)}\n}` : 'jetstream: enabled';
  return [
    `# nats-server configuration for the llmxmapreduce cluster under prefix "${n.prefix}"`,
    '# generated by shared/security/permissions.ts: one user per role, least privilege',
    js,
    '',
    'accounts: {',
    `  ${account}: {`,
    '    jetstream: enabled',
    '    users: [',
    users.join(',\n'),
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}

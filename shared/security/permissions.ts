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
import { API_VERBS, ownerNames, userToken } from './owners.ts';

export const SECURITY_ROLES = ['admin', 'coordinator', 'mapper', 'convolver', 'reducer', 'gateway', 'client'] as const;
export type SecurityRole = (typeof SECURITY_ROLES)[number];

export interface SubjectRules {
  allow: string[];
  deny?: string[];
}
export interface Permissions {
  publish: SubjectRules;
  subscribe: SubjectRules;
  /** May answer requests it received (publish to their reply subjects only): coordinators. */
  allowResponses?: boolean;
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
  return [`${API}.STREAM.MSG.GET.OBJ_${store}`, `${API}.DIRECT.GET.OBJ_${store}`, `${API}.DIRECT.GET.OBJ_${store}.>`, ...orderedConsumer(`OBJ_${store}`)];
}
function objWrite(store: string): string[] {
  return [`$O.${store}.>`, `${API}.STREAM.PURGE.OBJ_${store}`];
}

/** Every stream of the prefix, by its JetStream name. */
export function streamNames(n: Names): string[] {
  const o = ownerNames(n.prefix);
  return [
    ...Object.values(n.streams),
    o.uploadsStream,
    ...Object.values(n.buckets).map((b) => `KV_${b}`),
    `OBJ_${n.objectStore}`,
    `OBJ_${o.finalStore}`,
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
    `${API}.STREAM.PURGE.>`,
    `${API}.CONSUMER.DURABLE.CREATE.>`,
    `${API}.ACCOUNT.>`,
    `${API}.META.>`,
    `${API}.SERVER.>`,
  ];
}

/**
 * The permissions of one role for the cluster under `prefix`. `inbox` is the inbox prefix of the
 * user holding them (see `inboxPrefixFor`); `user` is a publisher's own name (role `client`),
 * which scopes its submission, upload, request and event subjects (default: the inbox's last
 * token). `publishers`: the publishers the gateway may submit for (its HTTP users).
 */
export function rolePermissions(prefix: string, role: SecurityRole, inbox = '_INBOX', user?: string, publishers: string[] = []): Permissions {
  const n = makeNames(prefix);
  const o = ownerNames(prefix);
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
          // a job's progress, relayed to its owner
          `${p}.api.*.events.>`,
          // exhausted tasks: read by sequence, then remove from the work queue
          `${API}.STREAM.MSG.GET.${n.streams.tasks}`,
          `${API}.STREAM.MSG.DELETE.${n.streams.tasks}`,
          // the same for a job no coordinator could finish
          `${API}.STREAM.MSG.GET.${n.streams.jobs}`,
          `${API}.STREAM.MSG.DELETE.${n.streams.jobs}`,
          ...kvGet(b.jobs),
          ...kvPut(b.jobs),
          ...kvGet(b.results),
          ...kvPut(b.results),
          // a result whose stored output has gone missing is removed before its task runs again
          `${API}.STREAM.MSG.DELETE.KV_${b.results}`,
          ...orderedConsumer(`KV_${b.results}`),
          ...kvPut(b.workers, 'coordinator.>'),
          ...objRead(n.objectStore),
          ...objWrite(n.objectStore),
          ...objRead(o.finalStore),
          ...objWrite(o.finalStore),
          // uploaded inputs: read once, staged into the Object Store
          ...orderedConsumer(o.uploadsStream),
        ],
        deny: [...managementDeny(), `${p}.jobs.>`, `${p}.uploads.>`],
      },
      subscribe: {
        allow: [
          inboxSub,
          `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${n.streams.tasks}.*`,
          `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${n.streams.jobs}.*`,
          n.subjects.cancelAll,
          // the jobs' events (relayed to owners) and the publishers' requests
          n.subjects.eventsAll,
          ...API_VERBS.map((v) => o.apiAll(v)),
        ],
      },
      allowResponses: true,
    };
  }

  if (role === 'mapper' || role === 'convolver' || role === 'reducer') {
    const kind = WORKER_KIND[role];
    return {
      publish: {
        allow: [
          ...common(n),
          ...pullFrom(n.streams.tasks, n.consumers[kind]),
          // results are write-once on the server (a second write to a key is refused), so
          // "put" here can only create a task's result, never overwrite or delete one
          ...kvGet(b.results),
          ...kvPut(b.results),
          // cancellation check before a task runs: read-only, no listing or watching
          ...kvGet(b.jobs),
          ...kvGet(b.llmcache),
          ...kvPut(b.llmcache),
          ...kvPut(b.workers, `${role}.>`),
          // task inputs staged by coordinators; read-only (large outputs go to the results bucket)
          ...objRead(n.objectStore),
          `${p}.events.>`,
          n.subjects.dlq(kind),
        ],
        deny: [
          ...managementDeny(),
          `${API}.STREAM.PURGE.>`,
          `${API}.STREAM.MSG.DELETE.>`,
          `$O.>`,
          `${p}.jobs.>`,
          `${p}.tasks.>`,
          `${p}.control.>`,
          `${p}.api.>`,
          `${p}.uploads.>`,
          `$KV.${b.jobs}.>`,
          `${API}.CONSUMER.CREATE.OBJ_${o.finalStore}.>`,
        ],
      },
      subscribe: { allow: [inboxSub] },
    };
  }

  if (role === 'gateway') return gatewayPermissions(n, inboxSub, publishers);

  // client: a publisher, confined to its own subjects; it never reads or writes a store
  const me = userToken(user ?? inbox.split('.').pop()!);
  return {
    publish: {
      allow: [
        ...common(n),
        o.submitAs(me),
        `${p}.uploads.${me}.>`,
        ...API_VERBS.map((v) => o.api(me, v)),
        // which services are alive (presence), read-only
        ...kvGet(b.workers),
        ...orderedConsumer(`KV_${b.workers}`),
      ],
      deny: [
        ...managementDeny(),
        `${API}.STREAM.PURGE.>`,
        `${API}.STREAM.MSG.DELETE.>`,
        `${p}.tasks.>`,
        `${p}.dlq.>`,
        `${p}.events.>`,
        `${p}.control.>`,
        `$JS.ACK.>`,
        `$KV.>`,
        `$O.>`,
      ],
    },
    subscribe: { allow: [inboxSub, `${p}.api.${me}.events.>`] },
  };
}

/**
 * The HTTP gateway: an operator's view behind its own bearer token. Reads every job's status,
 * events and result; submits (uploads to the blob store, never purging it), cancels, stores
 * outline reviews (create-only) and retries dead letters. Runs no task, writes no result or event.
 * For each of `publishers` (its HTTP users) it may also submit and upload on that user's own
 * subjects, so the coordinator records the user as the job's owner; no other user's.
 */
function gatewayPermissions(n: Names, inboxSub: string, publishers: string[]): Permissions {
  const [o, p, b, s] = [ownerNames(n.prefix), n.prefix, n.buckets, n.streams];
  const durables = (['map', 'convolve', 'reduce'] as const).map((k) => `${API}.CONSUMER.INFO.${s.tasks}.${n.consumers[k]}`);
  return {
    publish: {
      allow: [
        ...[...common(n), n.subjects.submit, n.subjects.cancelAll, `${p}.tasks.>`, `${API}.CONSUMER.INFO.${s.jobs}.${n.consumers.coordinator}`, ...durables],
        ...[...kvGet(b.jobs), ...kvPut(b.jobs), ...orderedConsumer(`KV_${b.jobs}`)],
        // outline reviews and dead-letter retries (a retry purges the stored failure of its task)
        ...[...kvGet(b.results), ...kvPut(b.results), `${API}.STREAM.PURGE.KV_${b.results}`],
        ...[...kvGet(b.workers), ...orderedConsumer(`KV_${b.workers}`), ...kvPut(b.workers, 'gateway.>')],
        ...[`${API}.STREAM.MSG.GET.${s.events}`, ...orderedConsumer(s.events)],
        ...[...objRead(n.objectStore), `$O.${n.objectStore}.>`, ...objRead(o.finalStore)],
        ...[`${API}.STREAM.MSG.GET.${s.dlq}`, `${API}.STREAM.MSG.DELETE.${s.dlq}`, ...orderedConsumer(s.dlq)],
        ...publishers.flatMap((u) => [o.submitAs(u), `${p}.uploads.${userToken(u)}.*`]),
      ],
      deny: [
        ...managementDeny().filter((x) => !x.includes('.STREAM.PURGE.')),
        ...streamNames(n).filter((x) => x !== `KV_${b.results}`).map((x) => `${API}.STREAM.PURGE.${x}`),
        ...[`$O.${o.finalStore}.>`, `${p}.events.>`, `${p}.dlq.>`, `${p}.api.>`, '$JS.ACK.>'],
      ],
    },
    subscribe: { allow: [inboxSub] },
  };
}

export interface ConfigUser {
  role: SecurityRole;
  /** User name and password (or a bcrypt hash of it, as nats-server accepts). */
  user?: string;
  password?: string;
  /**
   * Instead of `password`: the name of an environment variable of the nats-server process that
   * holds it (written as `$NAME`, so the configuration itself holds no secret).
   */
  passwordEnv?: string;
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

/** The `users: [...]` entries, indented for an account or an authorization block. */
function userEntries(o: ServerConfigOptions): string {
  if (o.users.length === 0) throw new Error('at least one user is needed');
  const seen = new Set<string>();
  const publishers = o.users.flatMap((u) => (u.role === 'client' && u.user ? [u.user] : []));
  const users = o.users.map((u) => {
    if (!SECURITY_ROLES.includes(u.role)) throw new Error(`unknown role "${u.role}" (known: ${SECURITY_ROLES.join(', ')})`);
    const id = u.user ?? u.nkey;
    if (!id) throw new Error('a user needs "user" and "password", or "nkey"');
    if (seen.has(id)) throw new Error(`user "${id}" is listed twice`);
    seen.add(id);
    if (u.user && !u.password && !u.passwordEnv) throw new Error(`user "${u.user}" has no password`);
    if (u.passwordEnv && !/^[A-Z_][A-Z0-9_]*$/.test(u.passwordEnv)) throw new Error(`"${u.passwordEnv}" is not an environment variable name`);
    if (u.nkey && !/^U[A-Z2-7]{55}$/.test(u.nkey)) throw new Error(`"${u.nkey}" is not a user nkey (public key starting with "U")`);
    const perms = rolePermissions(o.prefix, u.role, userInbox(u), u.user ?? u.nkey, publishers);
    const secret = u.passwordEnv ? `$${u.passwordEnv}` : q(u.password!);
    const ident = u.user ? `user: ${q(u.user)}, password: ${secret}` : `nkey: ${q(u.nkey!)}`;
    const ind = '        ';
    return [
      `      { # role: ${u.role}`,
      `        ${ident}`,
      `        permissions: {`,
      `${ind}  publish: ${rules(perms.publish, `${ind}  `)}`,
      `${ind}  subscribe: ${rules(perms.subscribe, `${ind}  `)}`,
      ...(perms.allowResponses ? [`${ind}  allow_responses: true`] : []),
      `        }`,
      `      }`,
    ].join('\n');
  });
  return users.join(',\n');
}

/**
 * nats-server configuration text: one account with JetStream, one entry per user carrying the
 * permissions of its role. Unauthenticated connections are refused.
 */
export function natsServerConfig(o: ServerConfigOptions): string {
  const n = makeNames(o.prefix);
  const account = o.account ?? n.prefix.toUpperCase();
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(account)) throw new Error(`invalid account name "${account}"`);
  const users = userEntries(o);
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
    users,
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * An `authorization` block for an existing server configuration (the global account, which
 * JetStream and KEDA's scaler use there), to be included from it. Meant for passwords given as
 * environment variables (`passwordEnv`), so the file holds no secret and can be checked in.
 */
export function authorizationBlock(o: Omit<ServerConfigOptions, 'account' | 'storeDir'>, header: string[] = []): string {
  return [...header.map((h) => `# ${h}`), 'authorization {', '  users: [', userEntries(o).replace(/^ {4}/gm, ''), '  ]', '}', ''].join('\n');
}

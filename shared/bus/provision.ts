/**
 * Idempotent provisioning of everything the cluster needs on the NATS server: streams, durable
 * consumers, KV buckets and the Object Store, all under the configured prefix. Safe to run from
 * every process at start-up, concurrently.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type ConsumerConfig,
} from '@nats-io/jetstream';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { jetstreamManager } from '@nats-io/jetstream';
import { TASK_KINDS, type Names } from '../protocol/names.ts';
import { streamNames } from '../security/permissions.ts';
import { ownerNames } from '../security/owners.ts';
import { MIN_FITTED_BUDGET, formatBytes, halveBudget, retentionFrom, totalBytes, type Retention, type Store } from './limits.ts';

export interface ProvisionOptions {
  /** Deliveries of a task before it is dead-lettered. */
  maxDeliver: number;
  /** Ack wait of tasks and jobs, in ms (heartbeats extend it while work runs). */
  ackWaitMs: number;
  /** Deliveries of a job before it is failed as poison (a coordinator died running it each time). */
  jobMaxDeliver?: number;
  /**
   * Copies of every stream, bucket and the Object Store (default 1). Above 1 needs JetStream
   * in cluster mode over at least that many servers; the data then survives losing a minority.
   */
  replicas?: number;
  /** Storage of streams (file in production, memory is fine for throwaway test servers). */
  storage?: 'file' | 'memory';
  /**
   * Bring existing streams and consumers to this configuration (services do; client commands
   * only create what is missing, so a client's defaults never reset a running cluster's
   * ack wait or max deliveries).
   */
  updateExisting?: boolean;
  /**
   * Byte and age limits of every store and the per-user job quota (default: from the process
   * environment, see shared/bus/limits.ts). Applied to new streams and, with `updateExisting`,
   * to existing ones.
   */
  retention?: Retention;
}

const MS = 1_000_000; // nanoseconds per millisecond

async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }, update: boolean): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
    if (update) await jsm.streams.update(cfg.name, cfg);
  } catch (e) {
    if (!/not found/i.test(String((e as Error).message))) throw e;
    try {
      await jsm.streams.add(cfg);
    } catch (e2) {
      // Another process created it between our two calls.
      if (!/already in use|exists/i.test(String((e2 as Error).message))) throw e2;
    }
  }
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, cfg: Partial<ConsumerConfig> & { durable_name: string }, update: boolean) {
  try {
    const info = await jsm.consumers.info(stream, cfg.durable_name);
    const c = info.config;
    if (update && (c.ack_wait !== cfg.ack_wait || c.max_deliver !== cfg.max_deliver)) {
      await jsm.consumers.update(stream, cfg.durable_name, { ack_wait: cfg.ack_wait, max_deliver: cfg.max_deliver });
    }
  } catch (e) {
    if (!/not found/i.test(String((e as Error).message))) throw e;
    try {
      await jsm.consumers.add(stream, cfg);
    } catch (e2) {
      if (!/already (in use|exists)|exists/i.test(String((e2 as Error).message))) throw e2;
    }
  }
}

export interface ProvisionResult {
  /** False when these credentials may not manage streams and the existing ones are used as they are. */
  provisioned: boolean;
  /** Why provisioning was skipped (the denied operation). */
  reason?: string;
  /**
   * Set when the default storage budget did not fit on the server and a smaller one was
   * reserved instead: a sentence for the operator's log.
   */
  shrunk?: string;
}

const isInsufficient = (e: unknown) => /insufficient (storage|memory) resources/i.test(String((e as Error)?.message));

/**
 * Provision with the default storage budget halved until the server can reserve it. Only a
 * budget nobody configured shrinks; a configured one that does not fit is an error.
 */
async function provisionFitted(nc: NatsConnection, n: Names, opts: ProvisionOptions): Promise<string | undefined> {
  const wanted = opts.retention ?? retentionFrom(process.env);
  for (let ret = wanted; ; ret = halveBudget(ret)) {
    try {
      await provisionAll(nc, n, { ...opts, retention: ret });
      if (ret === wanted) return undefined;
      return `the NATS server could not reserve the default storage budget of ${formatBytes(totalBytes(wanted))} for prefix "${n.prefix}"; reserved ${formatBytes(totalBytes(ret))} instead (set MR_STORAGE_BYTES to choose, docs/operations.md)`;
    } catch (e) {
      if (!isInsufficient(e) || !wanted.budgetDefaulted || totalBytes(ret) / 2 < MIN_FITTED_BUDGET) throw e;
    }
  }
}

/** The server refused an operation because of the connection's permissions. */
export function isPermissionError(e: unknown): boolean {
  return e instanceof errors.PermissionViolationError || /permissions violation/i.test(String((e as Error)?.message));
}

/**
 * Create or update everything under the prefix. A connection whose credentials may not manage
 * streams (a restricted role) gets `{ provisioned: false }` as long as an administrator already
 * provisioned the prefix; when something is missing it gets an error saying what to do.
 */
export async function provision(nc: NatsConnection, n: Names, opts: ProvisionOptions): Promise<ProvisionResult> {
  try {
    const shrunk = await provisionFitted(nc, n, opts);
    return { provisioned: true, ...(shrunk ? { shrunk } : {}) };
  } catch (e) {
    const r = opts.replicas ?? 1;
    if (r > 1 && /non-clustered|insufficient resources|no suitable peers/i.test(String((e as Error).message))) {
      throw new Error(
        `MR_REPLICAS=${r} needs JetStream in cluster mode over at least ${r} servers, and the NATS server answered: ` +
          `"${(e as Error).message}" (a cluster whose servers are still joining answers "no suitable peers" too; services retry). ` +
          `Run a NATS cluster of ${r} or more, or set MR_REPLICAS=1`,
      );
    }
    if (isInsufficient(e)) {
      throw new Error(
        `the NATS server cannot reserve the storage limits of prefix "${n.prefix}" ("${(e as Error).message}"): JetStream reserves every ` +
          "stream's max_bytes against the server's max_file_store (or max_memory_store). Lower MR_STORAGE_BYTES (or MR_STORAGE_LIMITS), " +
          'raise max_file_store in the server configuration, or remove unused prefixes (docs/operations.md, "Retention, quotas and gc")',
      );
    }
    if (!isPermissionError(e)) throw e;
    await checkProvisioned(nc, n);
    return { provisioned: false, reason: (e as Error).message };
  }
}

/** Fail clearly when a stream of the prefix does not exist (streams we may not inspect are skipped). */
async function checkProvisioned(nc: NatsConnection, n: Names): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const missing: string[] = [];
  let visible = 0;
  for (const s of streamNames(n)) {
    try {
      await jsm.streams.info(s);
      visible++;
    } catch (e) {
      if (isPermissionError(e)) continue;
      visible++;
      if (/not found/i.test(String((e as Error).message))) missing.push(s);
      else throw e;
    }
  }
  if (visible === 0) {
    throw new Error(
      `these NATS credentials may not see any stream of prefix "${n.prefix}": are MR_PREFIX and the credentials meant for the same cluster?`,
    );
  }
  if (missing.length) {
    throw new Error(
      `the cluster under prefix "${n.prefix}" is not provisioned (missing: ${missing.join(', ')}) and these NATS ` +
        'credentials may not create streams: run any llmxmr command or service once with administrator credentials',
    );
  }
}

async function provisionAll(nc: NatsConnection, n: Names, opts: ProvisionOptions): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const storage = opts.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const dup = 5 * 60 * 1000 * MS;
  const update = opts.updateExisting ?? true;
  const replicas = opts.replicas ?? 1;
  const ret = opts.retention ?? retentionFrom(process.env);
  const limits = (s: Store) => ({ max_bytes: ret.stores[s].maxBytes, max_age: ret.stores[s].maxAgeMs * MS });
  // Jobs and tasks: work queues with publish deduplication (the task id is the message id).
  // When full they refuse new messages (discard new): a queued task is never dropped.
  const workQueue = (name: string, subject: string | string[], s: Store, extra: Partial<StreamConfig> = {}) =>
    ensureStream(jsm, { name, subjects: Array.isArray(subject) ? subject : [subject], retention: RetentionPolicy.Workqueue, storage, num_replicas: replicas, duplicate_window: dup, max_msg_size: 1024 * 1024, discard: DiscardPolicy.New, ...limits(s), ...extra }, update);
  // Events and dead letters: kept for a while, for people and tools to read; the oldest go first.
  const kept = (name: string, subject: string, s: Store, extra: Partial<StreamConfig> = {}) =>
    ensureStream(jsm, { name, subjects: [subject], retention: RetentionPolicy.Limits, storage, num_replicas: replicas, discard: DiscardPolicy.Old, ...limits(s), ...extra }, update);
  const o = ownerNames(n.prefix);
  // The administrator's subject and one per publisher (the token is the authenticated owner).
  // A job's message stays in the stream until its run ends, so the messages on a user's subject
  // are that user's queued and running jobs: the server refuses one past the quota.
  await workQueue(n.streams.jobs, [n.subjects.submit, o.submitUsers], 'jobs', { max_msgs_per_subject: ret.userMaxJobs, discard_new_per_subject: true });
  await workQueue(n.streams.tasks, `${n.prefix}.tasks.>`, 'tasks');
  await kept(n.streams.events, n.subjects.eventsAll, 'events', { max_msgs_per_subject: 10_000 });
  await kept(n.streams.dlq, `${n.prefix}.dlq.>`, 'dlq');
  // Publishers' input documents, in parts, until a coordinator stages them for the job. A full
  // stream refuses a new upload rather than dropping parts of one being staged.
  await kept(o.uploadsStream, o.uploadsAll, 'uploads', { max_msg_size: 1024 * 1024, discard: DiscardPolicy.New });
  const ackWait = opts.ackWaitMs * MS;
  await ensureConsumer(jsm, n.streams.jobs, {
    durable_name: n.consumers.coordinator,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ackWait,
    max_deliver: (opts.jobMaxDeliver ?? 5) + 1,
  }, update);
  for (const kind of TASK_KINDS) {
    await ensureConsumer(jsm, n.streams.tasks, {
      durable_name: n.consumers[kind],
      filter_subject: n.subjects.taskFilter(kind),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ackWait,
      max_deliver: opts.maxDeliver,
      max_ack_pending: 1000,
    }, update);
  }
  const kvm = new Kvm(nc);
  const kv = (s: Store) => ({ history: 1, storage, replicas, max_bytes: ret.stores[s].maxBytes, ttl: ret.stores[s].maxAgeMs });
  const buckets: [string, Store, Record<string, unknown>?][] = [
    [n.buckets.jobs, 'status'],
    [n.buckets.results, 'results', { maxValueSize: 1024 * 1024 }],
    // Presence survives a server restart on disk (an existing bucket keeps the storage it has):
    // after a restart, restricted services, which may not create buckets, find it still there.
    [n.buckets.workers, 'workers'],
    [n.buckets.llmcache, 'llmcache'],
  ];
  for (const [bucket, s, extra] of buckets) {
    await kvm.create(bucket, { ...kv(s), ...extra });
    if (update) await ensureLimits(jsm, `KV_${bucket}`, limits(s));
  }
  // Task results and model replies are write-once: a worker can add an entry, never replace one.
  await writeOnce(jsm, `KV_${n.buckets.results}`);
  await writeOnce(jsm, `KV_${n.buckets.llmcache}`);
  const stores: [string, Store][] = [[n.objectStore, 'blobs'], [o.finalStore, 'final']];
  for (const [store, s] of stores) {
    await new Objm(nc).create(store, { storage, replicas, max_bytes: ret.stores[s].maxBytes, ttl: ret.stores[s].maxAgeMs * MS });
    if (update) await ensureLimits(jsm, `OBJ_${store}`, limits(s));
  }
}

/** Bring an existing stream's byte and age limits to these values (a no-op when they match). */
async function ensureLimits(jsm: JetStreamManager, stream: string, want: { max_bytes: number; max_age: number }): Promise<void> {
  const c = (await jsm.streams.info(stream)).config;
  if (c.max_bytes === want.max_bytes && c.max_age === want.max_age) return;
  await jsm.streams.update(stream, { ...c, ...want });
}

/**
 * Make every key of a bucket write-once on the server: a second message on a key's subject
 * (put, update, delete or purge marker) is refused with "maximum messages per subject
 * exceeded", whoever sends it. Only an administrator's stream purge removes a key.
 */
async function writeOnce(jsm: JetStreamManager, stream: string): Promise<void> {
  const info = await jsm.streams.info(stream);
  const c = info.config;
  if (c.discard_new_per_subject && c.discard === DiscardPolicy.New && c.max_msgs_per_subject === 1) return;
  await jsm.streams.update(stream, { ...c, discard: DiscardPolicy.New, max_msgs_per_subject: 1, discard_new_per_subject: true });
}

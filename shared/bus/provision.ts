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
}

const MS = 1_000_000; // nanoseconds per millisecond
const DAY_NS = 24 * 3600 * 1000 * MS;

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
    await provisionAll(nc, n, opts);
    return { provisioned: true };
  } catch (e) {
    const r = opts.replicas ?? 1;
    if (r > 1 && /non-clustered|insufficient resources|no suitable peers/i.test(String((e as Error).message))) {
      throw new Error(
        `MR_REPLICAS=${r} needs JetStream in cluster mode over at least ${r} servers, and the NATS server answered: ` +
          `"${(e as Error).message}" (a cluster whose servers are still joining answers "no suitable peers" too; services retry). ` +
          `Run a NATS cluster of ${r} or more, or set MR_REPLICAS=1`,
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
  // Jobs and tasks: work queues with publish deduplication (the task id is the message id).
  const workQueue = (name: string, subject: string | string[]) =>
    ensureStream(jsm, { name, subjects: Array.isArray(subject) ? subject : [subject], retention: RetentionPolicy.Workqueue, storage, num_replicas: replicas, duplicate_window: dup, max_msg_size: 1024 * 1024 }, update);
  // Events and dead letters: kept for a while, for people and tools to read.
  const kept = (name: string, subject: string, maxAge: number, extra: Partial<StreamConfig> = {}) =>
    ensureStream(jsm, { name, subjects: [subject], retention: RetentionPolicy.Limits, storage, num_replicas: replicas, max_age: maxAge, ...extra }, update);
  const o = ownerNames(n.prefix);
  // The administrator's subject and one per publisher (the token is the authenticated owner).
  await workQueue(n.streams.jobs, [n.subjects.submit, o.submitUsers]);
  await workQueue(n.streams.tasks, `${n.prefix}.tasks.>`);
  await kept(n.streams.events, n.subjects.eventsAll, DAY_NS, { max_msgs_per_subject: 10_000 });
  await kept(n.streams.dlq, `${n.prefix}.dlq.>`, 14 * DAY_NS);
  // Publishers' input documents, in parts, until a coordinator stages them for the job.
  await kept(o.uploadsStream, o.uploadsAll, DAY_NS, { max_msg_size: 1024 * 1024 });
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
  const kvStorage = storage;
  await kvm.create(n.buckets.jobs, { history: 1, storage: kvStorage, replicas });
  await kvm.create(n.buckets.results, { history: 1, storage: kvStorage, replicas, maxValueSize: 1024 * 1024 });
  await writeOnce(jsm, `KV_${n.buckets.results}`);
  await kvm.create(n.buckets.llmcache, { history: 1, storage: kvStorage, replicas, ttl: 30 * 24 * 3600 * 1000 });
  // Presence survives a server restart on disk (an existing bucket keeps the storage it has):
  // after a restart, restricted services, which may not create buckets, find it still there.
  await kvm.create(n.buckets.workers, { history: 1, storage: kvStorage, replicas, ttl: 20_000 });
  await new Objm(nc).create(n.objectStore, { storage: kvStorage, replicas });
  await new Objm(nc).create(o.finalStore, { storage: kvStorage, replicas });
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

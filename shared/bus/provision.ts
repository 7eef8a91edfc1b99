/**
 * Idempotent provisioning of everything the cluster needs on the NATS server: streams, durable
 * consumers, KV buckets and the Object Store, all under the configured prefix. Safe to run from
 * every process at start-up, concurrently.
 */
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type ConsumerConfig,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { jetstreamManager } from '@nats-io/jetstream';
import { TASK_KINDS, type Names } from '../protocol/names.ts';

export interface ProvisionOptions {
  /** Deliveries of a task before it is dead-lettered. */
  maxDeliver: number;
  /** Ack wait of tasks and jobs, in ms (heartbeats extend it while work runs). */
  ackWaitMs: number;
  /** Deliveries of a job before it is failed as poison (a coordinator died running it each time). */
  jobMaxDeliver?: number;
  /** Storage of streams (file in production, memory is fine for throwaway test servers). */
  storage?: 'file' | 'memory';
}

const MS = 1_000_000; // nanoseconds per millisecond
const DAY_NS = 24 * 3600 * 1000 * MS;

async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
    await jsm.streams.update(cfg.name, cfg);
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

async function ensureConsumer(jsm: JetStreamManager, stream: string, cfg: Partial<ConsumerConfig> & { durable_name: string }) {
  try {
    const info = await jsm.consumers.info(stream, cfg.durable_name);
    const c = info.config;
    if (c.ack_wait !== cfg.ack_wait || c.max_deliver !== cfg.max_deliver) {
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

export async function provision(nc: NatsConnection, n: Names, opts: ProvisionOptions): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const storage = opts.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const dup = 5 * 60 * 1000 * MS;
  await ensureStream(jsm, {
    name: n.streams.jobs,
    subjects: [n.subjects.submit],
    retention: RetentionPolicy.Workqueue,
    storage,
    duplicate_window: dup,
    max_msg_size: 1024 * 1024,
  });
  await ensureStream(jsm, {
    name: n.streams.tasks,
    subjects: [`${n.prefix}.tasks.>`],
    retention: RetentionPolicy.Workqueue,
    storage,
    duplicate_window: dup,
    max_msg_size: 1024 * 1024,
  });
  await ensureStream(jsm, {
    name: n.streams.events,
    subjects: [n.subjects.eventsAll],
    retention: RetentionPolicy.Limits,
    storage,
    max_age: DAY_NS,
    max_msgs_per_subject: 10_000,
  });
  await ensureStream(jsm, {
    name: n.streams.dlq,
    subjects: [`${n.prefix}.dlq.>`],
    retention: RetentionPolicy.Limits,
    storage,
    max_age: 14 * DAY_NS,
  });
  const ackWait = opts.ackWaitMs * MS;
  await ensureConsumer(jsm, n.streams.jobs, {
    durable_name: n.consumers.coordinator,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ackWait,
    max_deliver: (opts.jobMaxDeliver ?? 5) + 1,
  });
  for (const kind of TASK_KINDS) {
    await ensureConsumer(jsm, n.streams.tasks, {
      durable_name: n.consumers[kind],
      filter_subject: n.subjects.taskFilter(kind),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ackWait,
      max_deliver: opts.maxDeliver,
      max_ack_pending: 1000,
    });
  }
  const kvm = new Kvm(nc);
  const kvStorage = storage;
  await kvm.create(n.buckets.jobs, { history: 1, storage: kvStorage });
  await kvm.create(n.buckets.results, { history: 1, storage: kvStorage, maxValueSize: 1024 * 1024 });
  await kvm.create(n.buckets.llmcache, { history: 1, storage: kvStorage, ttl: 30 * 24 * 3600 * 1000 });
  await kvm.create(n.buckets.workers, { history: 1, storage: StorageType.Memory, ttl: 20_000 });
  await new Objm(nc).create(n.objectStore, { storage: kvStorage });
}

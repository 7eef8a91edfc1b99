/**
 * One process's handle on the cluster's shared state: JetStream, the KV buckets, the Object
 * Store, and typed helpers for events, results, blobs and presence.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { readObject } from './blob-read.ts';
import { names as makeNames, type Names } from '../protocol/names.ts';
import { decode, encode } from '../protocol/codec.ts';
import {
  EventSchema,
  JobStatusSchema,
  PROTOCOL_VERSION,
  TaskResultSchema,
  ZERO_USAGE,
  type JobEvent,
  type JobStatus,
  type TaskResult,
} from '../protocol/schemas.ts';

/** Results above this size go to the Object Store and KV keeps a reference. */
const INLINE_RESULT_LIMIT = 512 * 1024;

export class Bus {
  private constructor(
    readonly nc: NatsConnection,
    readonly names: Names,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly jobs: KV,
    readonly results: KV,
    readonly workers: KV,
    readonly llmcache: KV,
    readonly blobs: ObjectStore,
  ) {}

  /** Open handles on an already provisioned prefix. */
  static async open(nc: NatsConnection, prefix = 'mr'): Promise<Bus> {
    const n = makeNames(prefix);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const kvm = new Kvm(js);
    const [jobs, results, workers, llmcache] = await Promise.all([
      kvm.open(n.buckets.jobs),
      kvm.open(n.buckets.results),
      kvm.open(n.buckets.workers),
      kvm.open(n.buckets.llmcache),
    ]);
    const blobs = await new Objm(js).open(n.objectStore);
    return new Bus(nc, n, js, jsm, jobs, results, workers, llmcache, blobs);
  }

  // ---- events -------------------------------------------------------------------------------

  emit(jobId: string, e: Omit<JobEvent, 'v' | 'jobId' | 'ts'>): void {
    const event: JobEvent = { v: PROTOCOL_VERSION, jobId, ts: new Date().toISOString(), ...e };
    const subject = jobId === 'system' ? this.names.subjects.systemEvents : this.names.subjects.events(jobId);
    try {
      this.nc.publish(subject, encode(event));
    } catch {
      // The connection is closing; events are best effort, status lives in KV.
    }
  }

  static decodeEvent(data: Uint8Array) {
    return decode(EventSchema, data);
  }

  // ---- task results -------------------------------------------------------------------------

  async getResult(jobId: string, taskId: string): Promise<TaskResult | null> {
    const e = await this.results.get(this.names.resultKey(jobId, taskId));
    if (!e || e.operation !== 'PUT') return null;
    return this.decodeResult(e.value);
  }

  async decodeResult(data: Uint8Array): Promise<TaskResult | null> {
    const d = decode(TaskResultSchema, data);
    if (!d.ok) return null;
    const r = d.value;
    if (r.outputKey) {
      const bytes = await this.getBlob(r.outputKey);
      r.output = bytes ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
    }
    return r;
  }

  /** Store a result unless one exists (create-if-absent). Returns false when it already existed. */
  async putResult(r: TaskResult): Promise<boolean> {
    let payload = encode(r);
    if (payload.byteLength > INLINE_RESULT_LIMIT) {
      const outputKey = `results/${r.jobId}/${r.taskId}.json`;
      await this.putBlob(outputKey, JSON.stringify(r.output));
      payload = encode({ ...r, output: undefined, outputKey });
    }
    try {
      await this.results.create(this.names.resultKey(r.jobId, r.taskId), payload);
      return true;
    } catch (e) {
      if (/wrong last sequence|exists|10071/i.test(String((e as Error).message))) return false;
      throw e;
    }
  }

  /**
   * Record that a task failed for good (create-if-absent, like any result) and announce it on
   * the job's events. Returns false when a result already existed.
   */
  async putFailure(f: { jobId: string; taskId: string; op: string; reason: string; attempts: number; worker: string; durationMs: number }): Promise<boolean> {
    const fresh = await this.putResult({
      v: PROTOCOL_VERSION,
      jobId: f.jobId,
      taskId: f.taskId,
      op: f.op,
      status: 'failed',
      error: f.reason,
      attempts: f.attempts,
      worker: f.worker,
      durationMs: f.durationMs,
      usage: { ...ZERO_USAGE },
    });
    if (fresh) this.emit(f.jobId, { type: 'task.failed', stage: f.op, message: f.reason, data: { taskId: f.taskId, attempts: f.attempts } });
    return fresh;
  }

  // ---- job status ---------------------------------------------------------------------------

  async getStatus(jobId: string): Promise<JobStatus | null> {
    const e = await this.jobs.get(jobId);
    if (!e || e.operation !== 'PUT') return null;
    const d = decode(JobStatusSchema, e.value);
    return d.ok ? d.value : null;
  }

  async setStatus(s: JobStatus): Promise<void> {
    await this.jobs.put(s.jobId, encode(s));
  }

  /** Read-modify-write of a job's status. */
  async patchStatus(jobId: string, patch: Partial<JobStatus>, pipeline = 'unknown'): Promise<JobStatus> {
    const cur = (await this.getStatus(jobId)) ?? { jobId, pipeline, state: 'queued' as const, attempts: 0 };
    const next = { ...cur, ...patch };
    await this.setStatus(next);
    return next;
  }

  // ---- blobs --------------------------------------------------------------------------------

  async putBlob(key: string, data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await this.blobs.putBlob({ name: key }, bytes);
  }

  async getBlob(key: string): Promise<Uint8Array | null> {
    return readObject(this.blobs, this.jsm, this.names.objectStore, key);
  }

  async blobText(key: string): Promise<string> {
    const bytes = await this.getBlob(key);
    if (!bytes) throw new Error(`blob "${key}" not found in the Object Store`);
    return new TextDecoder().decode(bytes);
  }

  // ---- presence -----------------------------------------------------------------------------

  async announce(role: string, id: string, info: Record<string, unknown> = {}): Promise<void> {
    await this.workers.put(`${role}.${id}`, encode({ role, id, ts: Date.now(), ...info }));
  }

  /** Roles with a live process (announced within the last `withinMs`). */
  async liveRoles(withinMs = 15_000): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const keys = await this.workers.keys();
    for await (const k of keys) {
      const e = await this.workers.get(k);
      if (!e || e.operation !== 'PUT') continue;
      if (Date.now() - e.created.getTime() > withinMs) continue;
      const role = k.split('.')[0];
      out.set(role, (out.get(role) ?? 0) + 1);
    }
    return out;
  }
}

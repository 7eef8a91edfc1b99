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
/** `outputKey` of an output stored as that many parts in the results bucket. */
const PARTS_REF = 'kv-parts:';

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
      // A stored output that cannot be read is an error (the task is retried), never an "ok"
      // result without its output.
      const bytes = r.outputKey.startsWith(PARTS_REF) ? await this.readParts(r, Number(r.outputKey.slice(PARTS_REF.length))) : await this.getBlob(r.outputKey);
      if (!bytes) throw new Error(`the output of task ${r.taskId} (job ${r.jobId}) is missing from the store (${r.outputKey})`);
      r.output = JSON.parse(new TextDecoder().decode(bytes));
    }
    return r;
  }

  /** Key of one part of a large task output (outside `<jobId>.>`, which a job's watch covers). */
  partKey(jobId: string, taskId: string, i: number): string {
    return `_parts.${jobId}.${taskId}.${i}`;
  }

  private async readParts(r: TaskResult, count: number): Promise<Uint8Array | null> {
    if (!Number.isInteger(count) || count < 1) return null;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const e = await this.results.get(this.partKey(r.jobId, r.taskId, i));
      if (!e || e.operation !== 'PUT') return null;
      parts.push(e.value);
    }
    return Buffer.concat(parts);
  }

  /**
   * Remove a stored task result (an administrator's operation: results are write-once on the
   * server, so only a stream purge of the key removes one).
   */
  async removeResult(jobId: string, taskId: string): Promise<void> {
    const stream = `KV_${this.names.buckets.results}`;
    await this.jsm.streams.purge(stream, { filter: `$KV.${this.names.buckets.results}.${this.names.resultKey(jobId, taskId)}` });
  }

  /** Store a result unless one exists (create-if-absent). Returns false when it already existed. */
  async putResult(r: TaskResult): Promise<boolean> {
    let payload = encode(r);
    if (payload.byteLength > INLINE_RESULT_LIMIT) {
      // Large outputs go to write-once parts in the same bucket: workers never write the Object
      // Store. A part that exists already (a retry of the same task) is kept.
      const bytes = new TextEncoder().encode(JSON.stringify(r.output));
      const count = Math.ceil(bytes.byteLength / INLINE_RESULT_LIMIT);
      for (let i = 0; i < count; i++) {
        const part = bytes.subarray(i * INLINE_RESULT_LIMIT, (i + 1) * INLINE_RESULT_LIMIT);
        await this.results.create(this.partKey(r.jobId, r.taskId, i), part).catch((e: Error) => {
          if (!/wrong last sequence|exists|10071|maximum messages per subject/i.test(String(e.message))) throw e;
        });
      }
      payload = encode({ ...r, output: undefined, outputKey: `${PARTS_REF}${count}` });
    }
    try {
      await this.results.create(this.names.resultKey(r.jobId, r.taskId), payload);
      return true;
    } catch (e) {
      if (/wrong last sequence|exists|10071|maximum messages per subject/i.test(String((e as Error).message))) return false;
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

  /**
   * Read-modify-write of a job's status, as a compare-and-set on the entry's revision: a
   * concurrent patch (a cancel request landing while the coordinator marks the job running) is
   * re-read and kept, never overwritten.
   */
  async patchStatus(jobId: string, patch: Partial<JobStatus>, pipeline = 'unknown'): Promise<JobStatus> {
    for (let attempt = 0; ; attempt++) {
      const e = await this.jobs.get(jobId);
      const live = e && e.operation === 'PUT' ? decode(JobStatusSchema, e.value) : undefined;
      const cur = live?.ok ? live.value : { jobId, pipeline, state: 'queued' as const, attempts: 0 };
      const next = { ...cur, ...patch };
      try {
        if (e && e.operation === 'PUT') await this.jobs.update(jobId, encode(next), e.revision);
        else await this.jobs.create(jobId, encode(next));
        return next;
      } catch (err) {
        // Someone wrote in between (wrong last sequence / key exists): read again and reapply.
        if (attempt >= 8 || !/wrong last sequence|exists/i.test(String((err as Error).message))) throw err;
      }
    }
  }

  // ---- blobs --------------------------------------------------------------------------------

  async putBlob(key: string, data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await this.blobs.putBlob({ name: key }, bytes).catch((e: Error) => {
      if (!/maximum bytes exceeded/i.test(e.message)) throw e;
      throw new Error(
        `the Object Store "${this.names.objectStore}" is full (its max_bytes) and cannot take "${key}" (${bytes.byteLength} bytes): ` +
          'free space with `llmxmr gc --older-than 1d`, or raise MR_STORAGE_BYTES (or MR_STORAGE_LIMITS blobs=…) and restart the services (docs/operations.md)',
      );
    });
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

/**
 * Running ops as tasks on the cluster straight from a client, without a job script: the
 * evaluator publishes judge tasks under a deterministic pseudo-job id and waits for their
 * results in the results bucket, like a job script's context does. Task ids are hashes of
 * (job id, op, input), so a rerun finds finished tasks stored and publishes only the rest;
 * with `retryFailed`, results that failed in an earlier run are removed and tried again.
 */
import type { Bus } from '../bus/bus.ts';
import { encode } from '../protocol/codec.ts';
import { taskId as makeTaskId } from '../protocol/ids.ts';
import { PROTOCOL_VERSION, type EngineName, type TaskEnvelope, type TaskResult, type Usage } from '../protocol/schemas.ts';
import type { OpDef } from '../ops/op.ts';
import type { Settled } from '../jobs/types.ts';

/** What the evaluator needs from a task runner (the cluster client, or a local one in tests). */
export interface OpRunner {
  mapSettled<I, O>(op: OpDef<I, O>, inputs: I[]): Promise<Settled<O>[]>;
  putBlob(key: string, data: string): Promise<void>;
  /** Remove a blob this evaluation stored (best effort). */
  deleteBlob?(key: string): Promise<void>;
  usage(): Usage & { tasks: number };
}

export interface TaskClientOptions {
  jobId: string;
  engine: EngineName;
  /** Retry tasks whose stored result is a failure from an earlier run (once per run). */
  retryFailed?: boolean;
  signal?: AbortSignal;
}

type Waiter = { resolve(r: TaskResult): void; reject(e: Error): void };

export class TaskClient implements OpRunner {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly seen = new Map<string, TaskResult>();
  private readonly retried = new Set<string>();
  private total: Usage & { tasks: number } = { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0, tasks: 0 };
  private stopWatch: (() => void) | null = null;
  /** Tasks this client published (not found stored). */
  published = 0;

  private constructor(
    private readonly bus: Bus,
    private readonly o: TaskClientOptions,
  ) {}

  static async open(bus: Bus, o: TaskClientOptions): Promise<TaskClient> {
    const c = new TaskClient(bus, o);
    const iter = await bus.results.watch({ key: `${o.jobId}.>` });
    c.stopWatch = () => iter.stop();
    o.signal?.addEventListener('abort', () => c.failAll(new Error('evaluation interrupted')), { once: true });
    void (async () => {
      for await (const e of iter) {
        if (e.operation !== 'PUT') continue;
        const r = await bus.decodeResult(e.value);
        if (r) c.deliver(r);
      }
    })().catch(() => undefined);
    return c;
  }

  close(): void {
    this.stopWatch?.();
    this.failAll(new Error('task client closed'));
  }

  /** Failed results an earlier run stored and this one retries, by task id. */
  private readonly stale = new Map<string, string>();

  private failAll(err: Error): void {
    for (const ws of this.waiters.values()) for (const w of ws) w.reject(err);
    this.waiters.clear();
  }

  private deliver(r: TaskResult): void {
    // A failure stored by an earlier run is not an answer when it is to be retried.
    if (r.status === 'failed' && this.o.retryFailed && !this.retried.has(r.taskId)) return;
    // The failure being retried may still arrive through the watch after the retry began.
    if (r.status === 'failed' && this.stale.get(r.taskId) === signature(r)) return;
    this.seen.set(r.taskId, r);
    const ws = this.waiters.get(r.taskId);
    if (!ws) return;
    this.waiters.delete(r.taskId);
    this.total.tasks++;
    this.total.calls += r.usage.calls;
    this.total.promptTokens += r.usage.promptTokens;
    this.total.completionTokens += r.usage.completionTokens;
    this.total.cachedCalls += r.usage.cachedCalls;
    for (const w of ws) w.resolve(r);
  }

  private async publish(op: OpDef, id: string, input: unknown, attempt: number): Promise<void> {
    const env: TaskEnvelope = { v: PROTOCOL_VERSION, jobId: this.o.jobId, taskId: id, kind: op.kind, op: op.name, engine: this.o.engine, input };
    // A retry needs a fresh message id: JetStream drops a repeated id within its dedup window.
    await this.bus.js.publish(this.bus.names.subjects.task(op.kind, op.name), encode(env), { msgID: attempt ? `${id}.r${attempt}.${Date.now()}` : id });
    this.published++;
  }

  async result(op: OpDef, raw: unknown): Promise<TaskResult> {
    if (this.o.signal?.aborted) throw new Error('evaluation interrupted');
    const parsed = op.input.safeParse(raw);
    if (!parsed.success) throw new Error(`invalid ${op.name} input: ${parsed.error.issues[0]?.message}`);
    const input = parsed.data;
    const id = makeTaskId(this.o.jobId, op.name, input);
    const p = new Promise<TaskResult>((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(id, list);
    });
    let known = this.seen.get(id) ?? (await this.bus.getResult(this.o.jobId, id));
    if (known?.status === 'failed' && this.o.retryFailed && !this.retried.has(id)) {
      this.retried.add(id);
      this.stale.set(id, signature(known));
      this.seen.delete(id);
      await this.bus.removeResult(this.o.jobId, id); // results are write-once: only a purge removes one
      known = null;
      await this.publish(op, id, input, 1);
    } else if (!known) {
      this.retried.add(id);
      await this.publish(op, id, input, 0);
    }
    if (known) this.deliver(known);
    return p;
  }

  async mapSettled<I, O>(op: OpDef<I, O>, inputs: I[]): Promise<Settled<O>[]> {
    return Promise.all(
      inputs.map(async (input): Promise<Settled<O>> => {
        const r = await this.result(op, input);
        return r.status === 'ok' ? { ok: true, value: r.output as O } : { ok: false, error: r.error ?? 'unknown error', taskId: r.taskId };
      }),
    );
  }

  putBlob(key: string, data: string): Promise<void> {
    return this.bus.putBlob(key, data);
  }

  async deleteBlob(key: string): Promise<void> {
    await this.bus.blobs.delete(key).catch(() => undefined);
  }

  usage(): Usage & { tasks: number } {
    return { ...this.total };
  }
}

/**
 * A runner without a cluster: each op's offline implementation, called in this process on an
 * in-memory blob store. For unit tests and for checking the evaluator's arithmetic; benchmark
 * runs go through the cluster (TaskClient).
 */
export function localRunner(): OpRunner & { blobs: Map<string, string> } {
  const blobs = new Map<string, string>();
  const total: Usage & { tasks: number } = { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0, tasks: 0 };
  const env = {
    async blobText(key: string) {
      const v = blobs.get(key);
      if (v === undefined) throw new Error(`no blob "${key}"`);
      return v;
    },
  };
  return {
    blobs,
    async mapSettled<I, O>(op: OpDef<I, O>, inputs: I[]): Promise<Settled<O>[]> {
      return Promise.all(
        inputs.map(async (raw): Promise<Settled<O>> => {
          total.tasks++;
          try {
            const out = op.output.parse(await op.extractive(op.input.parse(raw), env));
            return { ok: true, value: out };
          } catch (e) {
            return { ok: false, error: (e as Error).message, taskId: 'local' };
          }
        }),
      );
    },
    async putBlob(key, data) {
      blobs.set(key, data);
    },
    usage: () => ({ ...total }),
  };
}

/** What tells one stored result from another of the same task. */
function signature(r: TaskResult): string {
  return `${r.worker}\u0000${r.attempts}\u0000${r.durationMs}\u0000${r.error ?? ''}`;
}

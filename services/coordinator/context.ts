/**
 * The JobContext a job script runs in. Tasks are memoized by id: before publishing, the
 * context looks for a stored result (a replay after a crash finds it and returns at once);
 * publishes are deduplicated by JetStream message id; results arrive through one KV watch
 * over the job's keys.
 */
import type { Logger } from 'pino';
import type { Bus } from '../../shared/bus/bus.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { taskId as makeTaskId } from '../../shared/protocol/ids.ts';
import { PROTOCOL_VERSION, type JobSpec, type TaskEnvelope, type TaskResult, type Usage } from '../../shared/protocol/schemas.ts';
import { createRng, seedFromString, type Rng } from '../../shared/algo/rng.ts';
import type { OpDef } from '../../shared/ops/op.ts';
import { TaskFailedError, type JobContext, type MapOptions, type Settled } from '../../shared/jobs/types.ts';

type Waiter = { resolve(r: TaskResult): void; reject(e: Error): void };

export class JobRun implements JobContext {
  readonly rng: Rng;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly seen = new Map<string, TaskResult>();
  private readonly counted = new Set<string>();
  private total: Usage & { tasks: number } = { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0, tasks: 0 };
  private watchStop: (() => void) | null = null;
  /** Tasks published by this run (not found already stored). */
  published = 0;

  constructor(
    private readonly bus: Bus,
    readonly spec: JobSpec,
    readonly log: Logger,
    readonly signal: AbortSignal,
  ) {
    this.rng = createRng(spec.seed ?? seedFromString(spec.jobId));
    signal.addEventListener('abort', () => this.failAll(new Error(`job ${spec.jobId} was cancelled`)));
  }

  get jobId(): string {
    return this.spec.jobId;
  }

  /** Start watching the job's results; call before running the script. */
  async start(): Promise<void> {
    const iter = await this.bus.results.watch({ key: `${this.jobId}.>` });
    this.watchStop = () => iter.stop();
    void (async () => {
      for await (const e of iter) {
        if (e.operation !== 'PUT') continue;
        const r = await this.bus.decodeResult(e.value);
        if (r) this.deliver(r);
      }
    })().catch((err) => this.log.warn({ err: (err as Error).message }, 'result watch ended'));
  }

  stop(): void {
    this.watchStop?.();
    this.failAll(new Error('job run stopped'));
  }

  private deliver(r: TaskResult): void {
    this.seen.set(r.taskId, r);
    if (!this.counted.has(r.taskId)) {
      this.counted.add(r.taskId);
      this.total.tasks++;
      this.total.calls += r.usage.calls;
      this.total.promptTokens += r.usage.promptTokens;
      this.total.completionTokens += r.usage.completionTokens;
      this.total.cachedCalls += r.usage.cachedCalls;
    }
    const ws = this.waiters.get(r.taskId);
    if (ws) {
      this.waiters.delete(r.taskId);
      for (const w of ws) w.resolve(r);
    }
  }

  private failAll(err: Error): void {
    for (const [, ws] of this.waiters) for (const w of ws) w.reject(err);
    this.waiters.clear();
  }

  private async result(op: OpDef, input: unknown): Promise<TaskResult> {
    if (this.signal.aborted) throw new Error(`job ${this.jobId} was cancelled`);
    const parsed = op.input.safeParse(input);
    if (!parsed.success) {
      throw new Error(`job script built an invalid ${op.name} input: ${parsed.error.issues[0]?.message}`);
    }
    const id = makeTaskId(this.jobId, op.name, input);
    const known = this.seen.get(id) ?? (await this.bus.getResult(this.jobId, id));
    if (known) {
      this.deliver(known);
      return known;
    }
    const p = new Promise<TaskResult>((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(id, list);
    });
    // A result may have landed between the lookup and the registration.
    const late = this.seen.get(id);
    if (late) this.deliver(late);
    else {
      const env: TaskEnvelope = { v: PROTOCOL_VERSION, jobId: this.jobId, taskId: id, kind: op.kind, op: op.name, engine: this.spec.engine, input };
      await this.bus.js.publish(this.bus.names.subjects.task(op.kind, op.name), encode(env), { msgID: id });
      this.published++;
    }
    return p;
  }

  private outputOf<O>(op: OpDef<any, O>, r: TaskResult): O {
    if (r.status === 'failed') throw new TaskFailedError(op.name, r.taskId, r.error ?? 'unknown error');
    return r.output as O;
  }

  async run<I, O>(op: OpDef<I, O>, input: I): Promise<O> {
    return this.outputOf(op, await this.result(op, input));
  }

  async mapSettled<I, O>(op: OpDef<I, O>, inputs: I[], opts: MapOptions = {}): Promise<Settled<O>[]> {
    const stage = opts.stage ?? op.name;
    const total = inputs.length;
    let done = 0;
    let lastEmit = 0;
    const progress = (force = false) => {
      const now = Date.now();
      if (force || now - lastEmit > 250) {
        lastEmit = now;
        this.bus.emit(this.jobId, { type: 'tasks.progress', stage, done, total });
      }
    };
    progress(true);
    const out = await Promise.all(
      inputs.map(async (input): Promise<Settled<O>> => {
        const r = await this.result(op, input);
        done++;
        progress(done === total);
        return r.status === 'ok'
          ? { ok: true, value: r.output as O }
          : { ok: false, error: r.error ?? 'unknown error', taskId: r.taskId };
      }),
    );
    return out;
  }

  async map<I, O>(op: OpDef<I, O>, inputs: I[], opts: MapOptions = {}): Promise<O[]> {
    const settled = await this.mapSettled(op, inputs, opts);
    const failed = settled.filter((s): s is Extract<Settled<O>, { ok: false }> => !s.ok);
    if (failed.length) {
      const f = failed[0];
      const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
      throw new TaskFailedError(op.name, f.taskId, `${f.error}${more}`);
    }
    return settled.map((s) => (s as { ok: true; value: O }).value);
  }

  emit(event: { type: 'stage.started' | 'stage.finished' | 'info'; stage?: string; message?: string; data?: Record<string, unknown> }): void {
    this.bus.emit(this.jobId, event);
  }

  blobText(key: string): Promise<string> {
    return this.bus.blobText(key);
  }

  putBlob(key: string, data: string | Uint8Array): Promise<void> {
    return this.bus.putBlob(key, data);
  }

  usage(): Usage & { tasks: number } {
    return { ...this.total };
  }
}

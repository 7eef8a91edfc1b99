/**
 * The JobContext a job script runs in. Tasks are memoized by id: before publishing, the
 * context looks for a stored result (a replay after a crash finds it and returns at once);
 * publishes are deduplicated by JetStream message id; results arrive through one KV watch
 * over the job's keys.
 */
import { oversizedTask } from './task-size.ts';
import type { Logger } from 'pino';
import type { Bus } from '../../shared/bus/bus.ts';
import { objectSize, readObjectText } from '../../shared/bus/blob-read.ts';
import { whileNatsUnavailable } from '../../shared/bus/retry.ts';
import { decode, encode } from '../../shared/protocol/codec.ts';
import { defaultJobSeed, taskId as makeTaskId } from '../../shared/protocol/ids.ts';
import { PROTOCOL_VERSION, TaskResultSchema, type JobSpec, type TaskEnvelope, type TaskResult, type Usage } from '../../shared/protocol/schemas.ts';
import { createRng, seedFromString, type Rng } from '../../shared/algo/rng.ts';
import type { OpDef } from '../../shared/ops/op.ts';
import { TaskFailedError, type JobContext, type MapOptions, type Settled } from '../../shared/jobs/types.ts';
import { REPLAY_MISS } from '../../shared/llm/cache.ts';
import { findReused, readFinalResult, type Memo } from './memo.ts';
import { waitAtGate } from './review-gate.ts';
import { dropResult, isMissingOutput, MAX_OUTPUT_RERUNS, missingOutputKey } from './reruns.ts';
import { backupConfig, Stragglers } from './backups.ts';
export { BackupConfigSchema, backupConfig } from './backups.ts';

type Waiter = { resolve(r: TaskResult): void; reject(e: Error): void };
type Totals = Usage & { tasks: number; costDollars: number; repairs: number; fallbacks: number };
const zero = (): Totals => ({ calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0, costDollars: 0, repairs: 0, fallbacks: 0, tasks: 0 });

/** The job was stopped on purpose: its budget is spent, or replay met a call that was never recorded. */
export class JobStopped extends Error {
  constructor(
    message: string,
    readonly reason: 'budget' | 'replay',
  ) {
    super(message);
    this.name = 'JobStopped';
  }
}

export class JobRun implements JobContext {
  readonly rng: Rng;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly seen = new Map<string, TaskResult>();
  /** Envelopes of the tasks awaited, and how often each ran again for a missing output (reruns.ts). */
  private readonly envs = new Map<string, TaskEnvelope>();
  private readonly reruns = new Map<string, number>();
  private readonly counted = new Set<string>();
  private total: Totals = zero();
  private readonly byOp = new Map<string, Totals>();
  private stopped: JobStopped | null = null;
  private watchStop: (() => void) | null = null;
  private statusStop: (() => void) | null = null;
  private ended = false;
  /** No result of this job was stored when the run started (see start()). */
  private fresh = false;
  /** Tasks published by this run (not found already stored). */
  published = 0;
  /** A rerun's reuse of earlier jobs' results (memo.ts), and how many tasks it served. */
  private memo: Memo | null = null;
  private reused = 0;
  /** Backup attempts sent, and how many stored the result first. */
  readonly backups = { sent: 0, won: 0 };
  /** Backup attempts of stragglers (backups.ts). */
  private readonly stragglers = new Stragglers(backupConfig(), async (id, env, why) => {
    this.backups.sent++;
    this.log.info({ taskId: id, op: env.op, ...why }, 'straggler: sending a backup attempt');
    await this.nats(() => this.bus.js.publish(this.bus.names.subjects.task(env.kind, env.op), encode(env), { msgID: `${this.memo ? `${this.jobId}.` : ''}${id}.backup` })).catch((e: Error) =>
      this.log.warn({ err: e.message, taskId: id }, 'backup attempt not sent'),
    );
  });

  constructor(
    private readonly bus: Bus,
    readonly spec: JobSpec,
    readonly log: Logger,
    readonly signal: AbortSignal,
  ) {
    this.rng = createRng(spec.seed ?? seedFromString(defaultJobSeed(spec)));
    signal.addEventListener('abort', () => this.failAll(new Error(`job ${spec.jobId} was cancelled`)));
  }

  get jobId(): string {
    return this.spec.jobId;
  }

  /** Start watching the job's results; call before running the script. */
  async start(): Promise<void> {
    await this.watch();
    this.stragglers.start();
    // With the watch open and nothing stored yet, every result of this job reaches this run
    // through the watch: the lookup before each publish (a round trip per task) is needed only
    // when the job has stored results already (a replay, a resumed or repeated job).
    this.fresh = (await this.nats(() => this.storedResults())) === 0;
    // After a reconnect (e.g. NATS restarted), look up the awaited results directly: a result
    // written while the watch was catching up must not leave the job waiting forever.
    const status = this.bus.nc.status() as AsyncIterable<{ type: string }> & { stop?(): void };
    this.statusStop = () => status.stop?.();
    void (async () => {
      for await (const s of status) {
        if (s.type !== 'reconnect') continue;
        this.fresh = false; // the watch may have missed something while the connection was down
        setTimeout(() => void this.sweep(), 1_000);
      }
    })().catch(() => undefined);
  }

  private async watch(): Promise<void> {
    const iter = await this.nats(() => this.bus.results.watch({ key: `${this.jobId}.>` }));
    this.watchStop = () => iter.stop();
    void (async () => {
      for await (const e of iter) {
        if (e.operation !== 'PUT') continue;
        const r = await this.readResult(e.value);
        if (r) this.deliver(r);
      }
    })()
      .catch((err) => this.log.warn({ err: (err as Error).message }, 'result watch failed'))
      .finally(() => {
        if (this.ended) return;
        this.log.warn('result watch ended; watching again');
        this.watch().then(() => this.sweep(), (err) => this.failAll(new Error(`cannot watch task results: ${(err as Error).message}`)));
      });
  }

  /** How many results of this job are stored (keys under the job's prefix). */
  private async storedResults(): Promise<number> {
    const bucket = this.bus.names.buckets.results;
    const info = await this.bus.jsm.streams.info(`KV_${bucket}`, { subjects_filter: `$KV.${bucket}.${this.jobId}.>` });
    return Object.keys(info.state.subjects ?? {}).length;
  }

  /** Fetch the results of every awaited task that is already stored. */
  private async sweep(): Promise<void> {
    for (const id of [...this.waiters.keys()]) {
      if (this.ended) return;
      const r = await this.lookup(id).catch(() => null);
      if (r) this.deliver(r);
    }
  }

  private async lookup(id: string): Promise<TaskResult | null> {
    const e = await this.bus.results.get(this.bus.names.resultKey(this.jobId, id));
    return e && e.operation === 'PUT' ? this.readResult(e.value) : null;
  }

  /**
   * A stored result. One whose output has gone missing is removed and its task runs again (null:
   * the new result comes through the watch), at most MAX_OUTPUT_RERUNS times; after that, or for
   * another unreadable output, a failed result that says why (a failed task is handled).
   */
  private async readResult(data: Uint8Array): Promise<TaskResult | null> {
    try {
      return await this.bus.decodeResult(data);
    } catch (err) {
      const d = decode(TaskResultSchema, data);
      if (!d.ok) return null;
      const r = d.value;
      const n = this.reruns.get(r.taskId) ?? 0;
      let why = (err as Error).message;
      if (isMissingOutput(err)) {
        if (n < MAX_OUTPUT_RERUNS) return this.rerun(r.taskId, n + 1, why).then(() => null);
        why = `the output of ${r.op} task ${r.taskId} is still missing after ${n} re-run(s): ${await this.nats(() => missingOutputKey(this.bus, r))} is gone`;
      }
      this.log.warn({ taskId: r.taskId, err: why }, 'a stored task output is unreadable; the task counts as failed');
      return { ...r, status: 'failed', output: undefined, outputKey: undefined, error: why };
    }
  }

  /** Remove a result whose output is missing and run its task again (published now if awaited, else when asked for). */
  private async rerun(id: string, n: number, why: string): Promise<void> {
    if (!(await this.nats(() => dropResult(this.bus, this.jobId, id)))) return; // another reader removed it and reruns the task
    this.reruns.set(id, n);
    this.log.warn({ taskId: id, err: why, rerun: n }, 'a stored task output is missing; result removed, the task runs again');
    const env = this.envs.get(id);
    if (env) await this.publish(env, id);
  }

  /** Publish a task (retrying is safe: JetStream drops a repeated message id within the duplicate window; a re-run has its own). */
  private async publish(env: TaskEnvelope, id: string, encoded?: Uint8Array): Promise<void> {
    const n = this.reruns.get(id);
    const msgID = `${this.memo ? `${this.jobId}.` : ''}${id}${n ? `.rerun${n}` : ''}`;
    const { fresh: _, ...looked } = env; // a re-run's worker looks for a stored result first
    const data = n ? encode(looked) : (encoded ?? encode(env));
    await this.nats(() => this.bus.js.publish(this.bus.names.subjects.task(env.kind, env.op), data, { msgID }));
  }

  /** A bus call that waits out a NATS outage instead of failing the job. */
  private nats<T>(f: () => Promise<T>): Promise<T> {
    return whileNatsUnavailable(f, {
      signal: this.signal,
      onRetry: (err, n) => n === 1 && this.log.warn({ err: err.message }, 'NATS unavailable; retrying'),
    });
  }

  stop(): void {
    this.ended = true;
    this.stragglers.stop();
    this.watchStop?.();
    this.statusStop?.();
    this.failAll(new Error('job run stopped'));
  }

  private deliver(r: TaskResult, reused = false): void {
    this.seen.set(r.taskId, r);
    this.envs.delete(r.taskId);
    this.stragglers.finished(r);
    if (reused && !this.counted.has(r.taskId) && this.counted.add(r.taskId)) this.reused++;
    if (!this.counted.has(r.taskId)) {
      this.counted.add(r.taskId);
      if (r.backup) this.backups.won++;
      if (!this.byOp.has(r.op)) this.byOp.set(r.op, zero());
      for (const t of [this.total, this.byOp.get(r.op)!]) {
        t.tasks++;
        t.calls += r.usage.calls;
        t.promptTokens += r.usage.promptTokens;
        t.completionTokens += r.usage.completionTokens;
        t.cachedCalls += r.usage.cachedCalls;
        t.costDollars += r.usage.costDollars ?? 0;
        t.repairs += r.usage.repairs ?? 0;
        t.fallbacks += r.usage.fallbacks ?? 0;
      }
      this.checkLimits(r);
    }
    const ws = this.waiters.get(r.taskId);
    if (ws) {
      this.waiters.delete(r.taskId);
      for (const w of ws) w.resolve(r);
    }
  }

  /** Stop the job when its budget is spent, or when replay could not serve a call. */
  private checkLimits(r: TaskResult): void {
    if (this.stopped) return;
    const b = this.spec.budget;
    const t = this.total;
    const tokens = t.promptTokens + t.completionTokens;
    const spent = `${tokens} tokens and $${t.costDollars.toFixed(4)} in ${t.calls} model calls`;
    if (b?.tokens !== undefined && tokens > b.tokens) {
      this.halt(new JobStopped(`budget exceeded: the job may use ${b.tokens} tokens and has used ${spent}; stopped, with the partial record stored`, 'budget'));
    } else if (b?.dollars !== undefined && t.costDollars > b.dollars) {
      this.halt(new JobStopped(`budget exceeded: the job may spend $${b.dollars} and has spent ${spent}; stopped, with the partial record stored`, 'budget'));
    } else if (this.spec.cache === 'replay' && r.status === 'failed' && r.error?.includes(REPLAY_MISS)) {
      this.halt(new JobStopped(`replay stopped: a ${r.op} call has no recorded reply (was the recorded run given the same input and --seed?): ${r.error}`, 'replay'));
    }
  }

  private halt(err: JobStopped): void {
    this.stopped = err;
    this.log.warn({ reason: err.reason }, err.message);
    this.failAll(err);
  }

  /** Why the job was stopped, if it was (budget or replay miss). */
  stoppedBy(): JobStopped | null {
    return this.stopped;
  }

  /** Every task result this run has seen, in arrival order (the partial record of a stopped job). */
  completed(): { op: string; taskId: string; status: string; output?: unknown; error?: string }[] {
    return [...this.seen.values()].map((r) => ({ op: r.op, taskId: r.taskId, status: r.status, ...(r.status === 'ok' ? { output: r.output } : { error: r.error }) }));
  }

  private failAll(err: Error): void {
    for (const [, ws] of this.waiters) for (const w of ws) w.reject(err);
    this.waiters.clear();
  }

  private async result(op: OpDef, input: unknown): Promise<TaskResult> {
    if (this.signal.aborted) throw new Error(`job ${this.jobId} was cancelled`);
    if (this.stopped) throw this.stopped;
    const parsed = op.input.safeParse(input);
    if (!parsed.success) {
      throw new Error(`job script built an invalid ${op.name} input: ${parsed.error.issues[0]?.message}`);
    }
    const id = makeTaskId(this.memo?.namespace ?? this.jobId, op.name, input);
    const known = this.seen.get(id) ?? (this.fresh ? null : await this.nats(() => this.lookup(id)));
    if (known) {
      this.deliver(known);
      return known;
    }
    const reused = this.memo && (await this.nats(() => findReused(this.bus, this.memo!, id)));
    if (reused) return this.deliver(reused, true), reused;
    const p = new Promise<TaskResult>((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(id, list);
    });
    void p.catch(() => undefined); // the caller gets the rejection; this only keeps it from being "unhandled" if the publish below throws
    // A result may have landed between the lookup and the registration.
    const late = this.seen.get(id);
    if (late) this.deliver(late);
    else {
      const env: TaskEnvelope = { v: PROTOCOL_VERSION, jobId: this.jobId, taskId: id, kind: op.kind, op: op.name, engine: this.spec.engine, input, ...(this.spec.cache ? { cache: this.spec.cache } : {}), ...(this.fresh ? { fresh: true as const } : {}) };
      const data = encode(env);
      const limit = this.bus.nc.info?.max_payload ?? 1024 * 1024;
      if (data.byteLength > limit) throw new Error(oversizedTask(op.name, data.byteLength, limit, input));
      this.envs.set(id, env);
      await this.publish(env, id, data);
      this.published++;
      if (!this.seen.has(id)) this.stragglers.published(id, env);
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

  private settle<O>(r: TaskResult): Settled<O> {
    return r.status === 'ok'
      ? { ok: true, value: r.output as O, ...(r.fallback ? { fallback: r.fallback } : {}) }
      : { ok: false, error: r.error ?? 'unknown error', taskId: r.taskId };
  }

  async runSettled<I, O>(op: OpDef<I, O>, input: I): Promise<Settled<O>> {
    return this.settle<O>(await this.result(op, input));
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
        const u = this.total;
        this.bus.emit(this.jobId, { type: 'tasks.progress', stage, done, total, data: { calls: u.calls, cachedCalls: u.cachedCalls, tokens: u.promptTokens + u.completionTokens, promptTokens: u.promptTokens, completionTokens: u.completionTokens, costDollars: u.costDollars } });
      }
    };
    progress(true);
    const ids = inputs.map((input) => makeTaskId(this.memo?.namespace ?? this.jobId, op.name, input));
    const pending = new Set(ids);
    const ran: number[] = []; // run times of this barrier's finished tasks
    const unwatch = this.stragglers.watchBarrier({ pending, ran, total, tailSince: 0 });
    const out = await Promise.all(
      inputs.map(async (input, index): Promise<Settled<O>> => {
        const r = await this.result(op, input).finally(() => pending.delete(ids[index]));
        if (r.status === 'ok') ran.push(r.durationMs);
        done++;
        progress(done === total);
        const settled = this.settle<O>(r);
        opts.onSettled?.(index, settled);
        return settled;
      }),
    ).finally(unwatch);
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
    return this.nats(() => this.bus.blobText(key));
  }

  blobSize(key: string): Promise<number | null> {
    return this.nats(() => objectSize(this.bus.blobs, key));
  }

  blobTextStream(key: string): AsyncIterable<string> {
    return readObjectText(this.bus.blobs, this.bus.jsm, this.bus.names.objectStore, key);
  }

  putBlob(key: string, data: string | Uint8Array): Promise<void> {
    return this.nats(() => this.bus.putBlob(key, data));
  }

  /** Outline review gates (review-gate.ts), a finished job's result, and reuse of earlier jobs' results (memo.ts). */
  readonly reviewGate: NonNullable<JobContext['reviewGate']> = (gate, outline, maxDepth) => waitAtGate(this.bus, this, gate, outline, maxDepth);
  readonly finalResult = (jobId: string) => this.nats(() => readFinalResult(this.bus, jobId));
  readonly reuseResults = (memo: Memo): void => void (this.memo = memo);

  /** Usage over the job so far, with a breakdown per op. */
  usage(): Totals & { byOp: Record<string, Totals>; backups: { sent: number; won: number }; reused: number } {
    return { ...this.total, backups: { ...this.backups }, reused: this.reused, byOp: Object.fromEntries([...this.byOp].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, { ...v }])) };
  }
}

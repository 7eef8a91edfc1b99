/**
 * What a job script sees. A job script is plain async TypeScript that reads like the
 * algorithm; `run` and `map` publish tasks and wait for their results, memoized by task id,
 * so re-running the script after a crash resumes without redoing finished tasks.
 */
import type { Logger } from 'pino';
import type { OpDef } from '../ops/op.ts';
import type { JobSpec, Usage } from '../protocol/schemas.ts';
import type { Rng } from '../algo/rng.ts';
import type { OutlineNode } from '../algo/outline.ts';

export interface MapOptions {
  /** Stage name used in progress events (defaults to the op name). */
  stage?: string;
  /** Called as each task settles, with its index in the inputs (pipelining on partial results). */
  onSettled?(index: number, settled: Settled<unknown>): void;
}

/** A task's outcome; `fallback` says why an ok value came from the offline implementation instead of the model. */
export type Settled<O> = { ok: true; value: O; fallback?: string } | { ok: false; error: string; taskId: string };

export interface JobContext<S extends JobSpec = JobSpec> {
  readonly jobId: string;
  readonly spec: S;
  /** The job's seeded generator: every random choice must go through it, in a fixed order. */
  readonly rng: Rng;
  readonly log: Logger;
  /** Aborted when the job is cancelled. */
  readonly signal: AbortSignal;
  /** One task; rejects with TaskFailedError when the task failed terminally. */
  run<I, O>(op: OpDef<I, O>, input: I): Promise<O>;
  /** One task, its failure returned instead of thrown, and an offline fallback named. */
  runSettled<I, O>(op: OpDef<I, O>, input: I): Promise<Settled<O>>;
  /** Many tasks of one op as a barrier; rejects if any failed (after all have settled). */
  map<I, O>(op: OpDef<I, O>, inputs: I[], opts?: MapOptions): Promise<O[]>;
  /** Like map, but failures are returned per item instead of failing the barrier. */
  mapSettled<I, O>(op: OpDef<I, O>, inputs: I[], opts?: MapOptions): Promise<Settled<O>[]>;
  /** Publish a progress event on the job's event subject. */
  emit(event: { type: 'stage.started' | 'stage.finished' | 'info'; stage?: string; message?: string; data?: Record<string, unknown> }): void;
  /** Read a UTF-8 blob from the Object Store. */
  blobText(key: string): Promise<string>;
  /** Size in bytes of a blob from its metadata, without reading it (null when absent). */
  blobSize?(key: string): Promise<number | null>;
  /** A UTF-8 blob as text pieces, never held whole (contexts without it read blobText). */
  blobTextStream?(key: string): AsyncIterable<string>;
  /** Write a blob (idempotent for the same key and content). */
  putBlob(key: string, data: string | Uint8Array): Promise<void>;
  /**
   * Pause for a person's outline review at `gate` until the job is resumed; returns the outline to
   * go on with (shared/jobs/review-store.ts). Contexts without it cannot pause.
   */
  reviewGate?(gate: 'draft' | 'refined', outline: OutlineNode, maxDepth: number): Promise<{ outline: OutlineNode; edited: boolean; changes: string[] }>;
  /** The stored final result of another, finished job (what a rerun builds on). */
  finalResult?(jobId: string): Promise<Record<string, unknown>>;
  /** From now on, compute task ids in `namespace` and reuse the results stored by `jobs` (a rerun; call before any task). */
  reuseResults?(memo: { namespace: string; jobs: string[] }): void;
  /** Model usage summed over the job's tasks so far. */
  usage(): Usage & { tasks: number };
}

/** A job script: returns the JSON-serialisable result of the job. */
export type JobScript<S extends JobSpec = JobSpec> = (ctx: JobContext<S>) => Promise<Record<string, unknown>>;

/**
 * The job did its work but the result is not usable (a survey that cites too few of its papers,
 * an empty section): the job fails with this reason, and its result is still stored for a look.
 */
export class UnusableResultError extends Error {
  constructor(
    message: string,
    readonly result: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'UnusableResultError';
  }
}

export class TaskFailedError extends Error {
  constructor(
    readonly op: string,
    readonly taskId: string,
    readonly reason: string,
  ) {
    super(`task ${op} (${taskId.slice(0, 8)}) failed: ${reason}`);
    this.name = 'TaskFailedError';
  }
}

/**
 * The worker runtime (an "activity" host): pulls tasks of one kind, runs each op on the chosen
 * engine with heartbeats, and makes effects exactly-once: skip when the result exists, write
 * the result create-if-absent before acking, nak transient failures with backoff, and after the
 * last delivery write a terminal failure result and move the task to the dead-letter stream.
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { Bus } from './bus.ts';
import { deadLetter } from './dlq.ts';
import { BlobTextCache } from './blob-cache.ts';
import { startPullLoop, withHeartbeat, type PullLoop } from './pull.ts';
import { decode, decodeLoose } from '../protocol/codec.ts';
import { JobIdSchema, PROTOCOL_VERSION, TaskEnvelopeSchema, type EngineName, type JobStatus, type TaskEnvelope } from '../protocol/schemas.ts';
import { WORKER_OF, type TaskKind } from '../protocol/names.ts';
import type { OpDef } from '../ops/op.ts';
import { PermanentError, TransientError, type Engine } from '../llm/engine.ts';
import { extractiveEngine } from '../llm/extractive.ts';
import type { Metrics } from '../obs/metrics.ts';

export interface WorkerOptions {
  bus: Bus;
  kind: TaskKind;
  ops: OpDef[];
  engineFor(name: EngineName): Engine;
  concurrency: number;
  maxDeliver: number;
  ackWaitMs: number;
  log: Logger;
  id: string;
  metrics?: Metrics;
}

export interface Worker {
  stop(): Promise<void>;
  inFlight(): number;
}

/**
 * A task may run twice at once (the coordinators send a backup attempt of a straggler): an
 * attempt running longer than this looks for a stored result every so often and stops its
 * model call when the other attempt has stored one.
 */
export const WINNER_CHECK_MS = 1_000;
/** After WINNER_CHECK_MS, how often the check repeats (a lost attempt holds a model slot meanwhile). */
export const WINNER_RECHECK_MS = 250;
/** How long a worker trusts a job status it read (a cancel stops new tasks at most this late). */
export const STATUS_TTL_MS = 500;

/** Backoff before redelivery of a transient failure: 1 s, 2 s, 4 s… capped at 30 s, with jitter. */
export function redeliveryDelay(deliveryCount: number, retryAfterMs?: number): number {
  const base = Math.min(30_000, 1_000 * 2 ** Math.max(0, deliveryCount - 1));
  const jittered = base * (0.75 + Math.random() * 0.5);
  return Math.round(Math.min(60_000, Math.max(jittered, retryAfterMs ?? 0)));
}

type LogCall = (objOrMsg: object | string, msg?: string) => void;
/**
 * A task's logger, made only when something is logged at an enabled level: most tasks log
 * nothing above debug, and a pino child per task (with its redaction set-up) was a visible
 * share of the worker's CPU time on short tasks.
 */
export function taskLog(parent: Logger, bindings: Record<string, unknown>): Record<'debug' | 'info' | 'warn' | 'error', LogCall> {
  let child: Logger | undefined;
  const at = (level: 'debug' | 'info' | 'warn' | 'error'): LogCall => (objOrMsg, msg) => {
    if (!parent.isLevelEnabled(level)) return;
    child ??= parent.child(bindings);
    if (typeof objOrMsg === 'string') child[level](objOrMsg);
    else child[level](objOrMsg, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function startWorker(o: WorkerOptions): Worker {
  const ops = new Map(o.ops.filter((op) => op.kind === o.kind).map((op) => [op.name, op]));
  const heartbeatMs = Math.max(250, Math.floor(o.ackWaitMs / 3));
  let loop: PullLoop;
  const blobs = new BlobTextCache(o.bus);
  // A job's status, read at most once per STATUS_TTL_MS: a fan-out of a thousand tasks asks once
  // or twice instead of a thousand times.
  const statuses = new Map<string, { at: number; status: Promise<JobStatus | null> }>();
  function jobStatus(jobId: string): Promise<JobStatus | null> {
    const now = Date.now();
    const c = statuses.get(jobId);
    if (c && now - c.at < STATUS_TTL_MS) return c.status;
    if (statuses.size > 1_000) for (const [k, v] of statuses) if (now - v.at >= STATUS_TTL_MS) statuses.delete(k);
    const status = o.bus.getStatus(jobId);
    statuses.set(jobId, { at: now, status });
    status.catch(() => statuses.delete(jobId));
    return status;
  }

  async function fail(msg: JsMsg, env: Partial<TaskEnvelope>, reason: string, startedAt: number, exhausted = false) {
    const attempts = msg.info.deliveryCount;
    const log = o.log.child({ jobId: env.jobId, taskId: env.taskId, op: env.op });
    log.error({ attempts, reason }, 'task failed terminally; dead-lettered');
    if (env.jobId && env.taskId && env.op) {
      await o.bus.putFailure({ jobId: env.jobId, taskId: env.taskId, op: env.op, reason, attempts, worker: o.id, durationMs: Date.now() - startedAt });
    } else {
      o.bus.emit('system', { type: 'error', message: `malformed task on ${msg.subject}: ${reason}`, data: { subject: msg.subject, seq: msg.seq } });
    }
    await deadLetter(o.bus, o.kind, { jobId: env.jobId, taskId: env.taskId, op: env.op, reason, attempts, subject: msg.subject, data: msg.data });
    o.metrics?.taskFailed(env.op ?? 'unknown', o.kind, exhausted ? 'exhausted' : 'permanent', (Date.now() - startedAt) / 1000);
    msg.term(); // no reason: NATS 2.9 ignores a term that carries one (the reason is in the dead letter)
  }

  async function handle(msg: JsMsg): Promise<void> {
    const startedAt = Date.now();
    const d = decode(TaskEnvelopeSchema, msg.data);
    if (!d.ok) {
      const loose = decodeLoose(msg.data) as Partial<TaskEnvelope> | undefined;
      const partial = loose && typeof loose === 'object' ? loose : {};
      // Ids are used only when valid: a result under a malformed key could not be written, and
      // the failure would then be retried instead of dead-lettered with its reason.
      const ids = JobIdSchema.safeParse(partial.jobId).success && TaskEnvelopeSchema.shape.taskId.safeParse(partial.taskId).success && typeof partial.op === 'string';
      return fail(msg, ids ? partial : {}, d.error, startedAt);
    }
    const env = d.value;
    const log = taskLog(o.log, { jobId: env.jobId, taskId: env.taskId, op: env.op });
    const op = ops.get(env.op);
    if (!op) return fail(msg, env, `unknown op "${env.op}" for the ${WORKER_OF[o.kind]} (known: ${[...ops.keys()].join(', ')})`, startedAt);
    if (msg.info.deliveryCount > 1) o.metrics?.taskRedelivered(env.op, o.kind);

    // A task the coordinator published as fresh (it knew of no stored result then) starts at
    // once on its first delivery, without a lookup on the way: the winner check below finds a
    // result stored meanwhile by another attempt within WINNER_CHECK_MS, and such a result makes
    // this attempt's create-if-absent write a no-op. The job's status, read at most every
    // STATUS_TTL_MS, is looked at beside the work and stops it when the job was cancelled. Any
    // other delivery waits for both lookups first, and is skipped when its result exists.
    const first = msg.info.deliveryCount === 1 && env.fresh === true && !env.backup;
    const lookups = Promise.all([
      first
        ? null
        : // A result whose stored output has gone missing is no result: run the task again (its
          // output parts are written create-if-absent, so the missing ones come back).
          o.bus.getResult(env.jobId, env.taskId).catch((e: Error) => {
            if (!/is missing from the store/.test(e.message)) throw e;
            log.warn({ err: e.message }, 'stored output missing; running the task again');
            return null;
          }),
      jobStatus(env.jobId),
    ]);
    const cancelled = (st: JobStatus | null) => st !== null && (st.state === 'cancelled' || st.cancelRequested === true);
    if (!first) {
      const [stored, status] = await lookups;
      if (stored) {
        log.debug('result already stored; skipping');
        msg.ack();
        return;
      }
      if (cancelled(status)) {
        log.info('job cancelled; dropping task');
        msg.ack();
        return;
      }
    }
    const input = op.input.safeParse(env.input);
    if (!input.success) return fail(msg, env, `invalid input for ${op.name}: ${input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 3).join('; ')}`, startedAt);

    const abort = new AbortController();
    o.metrics?.inFlight(env.op, o.kind, 1);
    let lost = false;
    let dropped = false;
    let finished = false;
    if (first) {
      lookups.then(
        ([, status]) => {
          if (!cancelled(status)) return;
          dropped = true;
          abort.abort();
        },
        (e: Error) => log.debug({ err: e.message }, 'status lookup failed; the task runs on'),
      );
    }
    // A task's run time counts from its first model call (time queued for a model slot is not
    // running: the coordinator compares run times to spot stragglers).
    let ranFrom = 0;
    const callStarted = () => void (ranFrom ||= Date.now());
    let checking = false;
    const winnerCheck = setInterval(() => {
      if (checking || lost || Date.now() - startedAt < WINNER_CHECK_MS) return;
      checking = true;
      o.bus
        .getResult(env.jobId, env.taskId)
        .then((r) => {
          if (r && !lost) {
            lost = true;
            abort.abort(); // the other attempt won: free the model slot now
          }
        }, () => undefined)
        .finally(() => (checking = false));
    }, WINNER_RECHECK_MS);
    try {
      // A tool op (search, fetch) calls no model: its implementation runs whatever engine the job asked for.
      const engine = op.tool ? extractiveEngine : o.engineFor(env.engine);
      log.debug({ attempt: msg.info.deliveryCount }, 'task started');
      const { output, usage, fallback } = await withHeartbeat(msg, heartbeatMs, () =>
        engine.execute(op, input.data, { blobText: (k) => blobs.text(k), signal: abort.signal, callStarted }, { jobId: env.jobId, taskId: env.taskId, cache: env.cache }),
      );
      finished = true;
      await o.bus.putResult({
        v: PROTOCOL_VERSION,
        jobId: env.jobId,
        taskId: env.taskId,
        op: env.op,
        status: 'ok',
        output,
        attempts: msg.info.deliveryCount,
        worker: o.id,
        durationMs: Date.now() - (ranFrom || startedAt),
        usage,
        ...(fallback ? { fallback } : {}),
        ...(env.backup ? { backup: true as const } : {}),
      }).then((stored) => {
        if (env.backup) o.metrics?.taskBackup?.(env.op, o.kind, stored ? 'won' : 'lost');
      });
      msg.ack();
      o.metrics?.taskDone(env.op, o.kind, (Date.now() - startedAt) / 1000);
      log.debug({ ms: Date.now() - startedAt }, 'task done');
    } catch (e) {
      const err = e as Error;
      if (dropped && !lost) {
        log.info('job cancelled; task stopped');
        msg.ack();
        return;
      }
      if (lost) {
        log.debug('the other attempt of this task stored its result first; stopped');
        o.metrics?.taskBackup?.(env.op, o.kind, 'lost');
        msg.ack();
        return;
      }
      const transient = err instanceof TransientError || !(err instanceof PermanentError || err.name === 'ZodError');
      const last = msg.info.deliveryCount >= o.maxDeliver;
      if (transient && !last) {
        const delay = redeliveryDelay(msg.info.deliveryCount, (err as TransientError).retryAfterMs);
        log.warn({ err: err.message, attempt: msg.info.deliveryCount, delayMs: delay }, 'task failed; will be redelivered');
        msg.nak(delay);
        o.metrics?.taskFailed(env.op, o.kind, 'transient', (Date.now() - startedAt) / 1000);
        return;
      }
      if (env.backup) {
        // The first attempt still runs and answers for the task: a backup that fails for good
        // leaves no failed result behind.
        log.warn({ err: err.message }, 'backup attempt failed; the first attempt goes on');
        msg.term();
        return;
      }
      const reason = transient ? `${err.message} (gave up after ${msg.info.deliveryCount} deliveries)` : err.message;
      await fail(msg, env, reason, startedAt, transient);
    } finally {
      clearInterval(winnerCheck);
      if (!finished) abort.abort(); // stop whatever the failed work left running
      o.metrics?.inFlight(env.op, o.kind, -1);
    }
  }

  loop = startPullLoop({
    js: o.bus.js,
    stream: o.bus.names.streams.tasks,
    consumer: o.bus.names.consumers[o.kind],
    concurrency: o.concurrency,
    log: o.log,
    handle,
  });
  return { stop: () => loop.stop(), inFlight: () => loop.inFlight() };
}

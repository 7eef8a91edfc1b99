/**
 * Job intake: jobs arrive on a work-queue stream and are held, with heartbeats, by the
 * coordinator that runs them. If a coordinator dies, the job message is redelivered to another
 * one, which replays the script (finished tasks come back from KV at once). A job whose
 * coordinator keeps dying is failed as poison after a bounded number of deliveries.
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Bus } from '../../shared/bus/bus.ts';
import { deadLetter } from '../../shared/bus/dlq.ts';
import { HAND_BACK_DELAY_MS, startPullLoop, withHeartbeat } from '../../shared/bus/pull.ts';
import { decode, decodeLoose } from '../../shared/protocol/codec.ts';
import { JobIdSchema, JobSpecSchema, type JobSpec } from '../../shared/protocol/schemas.ts';
import type { JobScript } from '../../shared/jobs/types.ts';
import { JobRun } from './context.ts';
import { isNatsUnavailable } from '../../shared/bus/retry.ts';
import { TaskFailedError, UnusableResultError } from '../../shared/jobs/types.ts';
import { watchMaxDeliveries } from './dead-letters.ts';
import type { Metrics } from '../../shared/obs/metrics.ts';
import { ownerOfSubmission } from '../../shared/security/owners.ts';
import { putFinalResult, relayEvents, serveJobApi, stageInputs } from './job-api.ts';

export interface CoordinatorOptions {
  bus: Bus;
  scripts: Record<string, JobScript<any>>;
  maxJobs: number;
  ackWaitMs: number;
  /** Deliveries of one job before it is failed as poison. */
  jobMaxDeliver?: number;
  log: Logger;
  id: string;
  metrics?: Metrics;
}

export interface Coordinator {
  stop(): Promise<void>;
  running(): number;
}

export function startCoordinator(o: CoordinatorOptions): Coordinator {
  const jobMaxDeliver = o.jobMaxDeliver ?? 5;
  const heartbeatMs = Math.max(250, Math.floor(o.ackWaitMs / 3));
  const ackWaitBackoff = Math.min(o.ackWaitMs, 5_000);
  const stopping = new AbortController();
  const dlWatch = watchMaxDeliveries(o.bus, o.log);
  const api = serveJobApi(o.bus, o.log);

  async function reject(msg: JsMsg, reason: string) {
    const raw = decodeLoose(msg.data) as { jobId?: unknown } | undefined;
    const jobId = raw && typeof raw === 'object' && JobIdSchema.safeParse(raw.jobId).success ? (raw.jobId as string) : undefined;
    const owner = ownerOfSubmission(o.bus.names.prefix, msg.subject);
    o.log.warn({ jobId, reason }, 'rejected a malformed job');
    o.bus.emit('system', { type: 'error', message: `rejected job on ${msg.subject}: ${reason}`, data: { jobId } });
    const existing = jobId ? await o.bus.getStatus(jobId) : null;
    // Another user's job is never touched by a bad submission that names it.
    if (jobId && (!existing || existing.owner === owner)) {
      o.bus.emit(jobId, { type: 'job.failed', message: `invalid job: ${reason}` });
      if (!existing || existing.state === 'queued') {
        await o.bus.patchStatus(jobId, { state: 'failed', error: `invalid job: ${reason}`, finishedAt: new Date().toISOString(), ...(owner ? { owner } : {}) });
      }
    }
    await deadLetter(o.bus, 'jobs', { jobId, reason, attempts: msg.info.deliveryCount, subject: msg.subject, data: msg.data });
    msg.term(); // no reason: NATS 2.9 ignores a term that carries one (the reason is in the dead letter)
  }

  /**
   * The server redelivered a job that this process is still running (its heartbeats were lost,
   * e.g. while NATS restarted). Running it a second time here would only repeat work: keep the
   * new delivery alive until the run ends, then settle it the same way.
   */
  const runningHere = new Map<string, Promise<void>>();
  async function holdRedelivery(msg: JsMsg, jobId: string, running: Promise<void>) {
    o.log.info({ jobId, delivery: msg.info.deliveryCount }, 'job redelivered while running here; holding the new delivery');
    await withHeartbeat(msg, heartbeatMs, () => running.catch(() => undefined));
    const st = await o.bus.getStatus(jobId).catch(() => null);
    if (st && ['succeeded', 'failed', 'cancelled'].includes(st.state)) msg.ack();
    else msg.nak(0);
  }

  async function runJob(msg: JsMsg, submitted: JobSpec) {
    // The owner is the authenticated user whose submission subject carried the job.
    const owner = ownerOfSubmission(o.bus.names.prefix, msg.subject);
    let spec = submitted;
    const log = o.log.child({ jobId: spec.jobId, pipeline: spec.pipeline, ...(owner ? { owner } : {}) });
    const status = await o.bus.getStatus(spec.jobId);
    if (status && status.owner !== owner) {
      const reason = `not your job: ${spec.jobId} belongs to ${status.owner ? 'another user' : 'an administrator'}`;
      log.warn({ by: owner ?? 'administrator' }, 'refused a submission under a job id owned by someone else');
      await deadLetter(o.bus, 'jobs', { jobId: spec.jobId, reason, attempts: msg.info.deliveryCount, subject: msg.subject, data: msg.data });
      msg.term();
      return;
    }
    if (status && ['succeeded', 'failed', 'cancelled'].includes(status.state)) {
      msg.ack();
      return;
    }
    const fin = async (state: 'succeeded' | 'failed' | 'cancelled', extra: { error?: string; resultKey?: string; cancelRequested?: boolean }) => {
      await o.bus.patchStatus(spec.jobId, { state, finishedAt: new Date().toISOString(), ...extra, ...(owner ? { owner } : {}) }, spec.pipeline);
      o.metrics?.jobFinished(state);
    };
    if (status?.cancelRequested) {
      await fin('cancelled', {});
      o.bus.emit(spec.jobId, { type: 'job.cancelled', message: 'cancelled before it started' });
      msg.ack();
      return;
    }
    if (msg.info.deliveryCount > jobMaxDeliver) {
      const error = `job abandoned: its coordinator stopped ${msg.info.deliveryCount - 1} times while running it`;
      await fin('failed', { error });
      o.bus.emit(spec.jobId, { type: 'job.failed', message: error });
      await deadLetter(o.bus, 'jobs', { jobId: spec.jobId, reason: error, attempts: msg.info.deliveryCount, subject: msg.subject, data: msg.data });
      msg.term();
      return;
    }
    const script = o.scripts[spec.pipeline];
    await o.bus.patchStatus(
      spec.jobId,
      { state: 'running', coordinator: o.id, attempts: msg.info.deliveryCount, startedAt: status?.startedAt ?? new Date().toISOString(), ...(owner ? { owner } : {}) },
      spec.pipeline,
    );
    const stopRelay = relayEvents(o.bus, owner, spec.jobId);
    try {
      spec = await stageInputs(o.bus, spec, owner);
    } catch (e) {
      stopRelay();
      if (isNatsUnavailable(e)) {
        log.warn({ err: (e as Error).message }, 'NATS unavailable while staging inputs; handing the job back');
        msg.nak(ackWaitBackoff);
        return;
      }
      const error = `invalid job: ${(e as Error).message}`;
      await fin('failed', { error });
      o.bus.emit(spec.jobId, { type: 'job.failed', message: error });
      msg.ack();
      return;
    }
    const cancel = new AbortController();
    const onStop = () => cancel.abort();
    stopping.signal.addEventListener('abort', onStop);
    const sub = o.bus.nc.subscribe(o.bus.names.subjects.cancel(spec.jobId), { callback: () => cancel.abort() });
    // A cancel sent before the subscription existed is only in the status: look once more.
    if ((await o.bus.getStatus(spec.jobId).catch(() => null))?.cancelRequested) cancel.abort();
    const run = new JobRun(o.bus, spec, log, cancel.signal);
    o.bus.emit(spec.jobId, { type: 'job.started', message: msg.info.deliveryCount > 1 ? `resumed (delivery ${msg.info.deliveryCount})` : undefined, data: { coordinator: o.id } });
    log.info({ delivery: msg.info.deliveryCount }, 'job started');
    const t0 = Date.now();
    o.metrics?.setJobs('running', loop.inFlight());
    try {
      await run.start();
      const result = await withHeartbeat(msg, heartbeatMs, () => script(run));
      if (run.stoppedBy()) throw run.stoppedBy(); // a script that swallowed the stop still stops
      const usage = run.usage();
      const full = { jobId: spec.jobId, pipeline: spec.pipeline, ...result, usage, wallMs: Date.now() - t0 };
      const resultKey = `results/${spec.jobId}.json`;
      await putFinalResult(o.bus, resultKey, JSON.stringify(full));
      await fin('succeeded', { resultKey });
      o.bus.emit(spec.jobId, { type: 'job.succeeded', data: { resultKey, usage, wallMs: Date.now() - t0, tasksPublished: run.published } });
      log.info({ ms: Date.now() - t0, tasks: usage.tasks, published: run.published }, 'job succeeded');
      msg.ack();
    } catch (e) {
      const err = e as Error;
      if (stopping.signal.aborted) {
        log.info('coordinator stopping; handing the job back');
        msg.nak(HAND_BACK_DELAY_MS);
      } else if (!(err instanceof TaskFailedError) && !cancel.signal.aborted && isNatsUnavailable(err)) {
        // NATS was unreachable for longer than the job run waits: not the job's fault. Another
        // delivery replays it (finished tasks come back from KV); the delivery bound still applies.
        log.warn({ err: err.message, stack: err.stack }, 'NATS unavailable; handing the job back');
        msg.nak(ackWaitBackoff);
      } else if (cancel.signal.aborted) {
        await fin('cancelled', {});
        o.bus.emit(spec.jobId, { type: 'job.cancelled', message: 'cancelled on request' });
        msg.ack();
      } else if (run.stoppedBy()) {
        // Budget spent or replay miss: keep what was paid for, and let workers drop queued tasks.
        const stop = run.stoppedBy()!;
        const usage = run.usage();
        const resultKey = `results/${spec.jobId}.json`;
        const partial = { jobId: spec.jobId, pipeline: spec.pipeline, partial: true, stopped: stop.reason, error: stop.message, budget: spec.budget, usage, tasks: run.completed(), wallMs: Date.now() - t0 };
        await putFinalResult(o.bus, resultKey, JSON.stringify(partial));
        await fin('failed', { error: stop.message, resultKey, cancelRequested: true });
        o.bus.emit(spec.jobId, { type: 'job.failed', message: stop.message, data: { resultKey, usage, stopped: stop.reason } });
        log.warn({ reason: stop.reason, tasks: usage.tasks }, 'job stopped; partial record stored');
        msg.ack();
      } else if (err instanceof UnusableResultError) {
        // The work was done but the result falls short: fail, and keep the result to look at.
        const resultKey = `results/${spec.jobId}.json`;
        await o.bus.putBlob(resultKey, JSON.stringify({ jobId: spec.jobId, pipeline: spec.pipeline, ...err.result, usable: false, error: err.message, usage: run.usage(), wallMs: Date.now() - t0 }));
        log.error({ err: err.message }, 'job failed: unusable result');
        await fin('failed', { error: err.message, resultKey });
        o.bus.emit(spec.jobId, { type: 'job.failed', message: err.message, data: { resultKey } });
        msg.ack();
      } else {
        log.error({ err: err.message }, 'job failed');
        await fin('failed', { error: err.message });
        o.bus.emit(spec.jobId, { type: 'job.failed', message: err.message });
        msg.ack();
      }
    } finally {
      o.metrics?.setJobs('running', Math.max(0, loop.inFlight() - 1));
      run.stop();
      sub.unsubscribe();
      setTimeout(stopRelay, 1_000).unref?.(); // let the last events reach the owner
      stopping.signal.removeEventListener('abort', onStop);
    }
  }

  const loop = startPullLoop({
    js: o.bus.js,
    stream: o.bus.names.streams.jobs,
    consumer: o.bus.names.consumers.coordinator,
    concurrency: o.maxJobs,
    log: o.log,
    handle: async (msg) => {
      const d = decode(JobSpecSchema, msg.data);
      if (!d.ok) return reject(msg, d.error);
      if (!o.scripts[d.value.pipeline]) return reject(msg, `no job script for pipeline "${d.value.pipeline}"`);
      const jobId = d.value.jobId;
      const here = runningHere.get(jobId);
      if (here) return holdRedelivery(msg, jobId, here);
      const run = runJob(msg, d.value);
      runningHere.set(jobId, run);
      await run.finally(() => runningHere.delete(jobId));
    },
  });

  return {
    async stop() {
      stopping.abort();
      api.stop();
      await loop.stop();
      dlWatch.stop();
    },
    running: () => loop.inFlight(),
  };
}

/**
 * A task whose worker died (or hung) on every delivery never reaches the worker's own failure
 * path: the server just stops delivering it and leaves it in the work queue. NATS 2.9 announces
 * that with a MAX_DELIVERIES advisory; the coordinators (one of them, via a queue group) turn it
 * into a terminal failure result, a dead letter, and remove the message from the stream.
 */
import type { Logger } from 'pino';
import type { Bus } from '../../shared/bus/bus.ts';
import { deadLetter } from '../../shared/bus/dlq.ts';
import { decode } from '../../shared/protocol/codec.ts';
import { JobSpecSchema, TaskEnvelopeSchema } from '../../shared/protocol/schemas.ts';
import { TASK_KINDS, type TaskKind } from '../../shared/protocol/names.ts';

export function watchMaxDeliveries(bus: Bus, log: Logger): { stop(): void } {
  const stream = bus.names.streams.tasks;
  const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`;
  const handle = async (data: Uint8Array) => {
    const adv = JSON.parse(new TextDecoder().decode(data)) as { stream_seq?: number; deliveries?: number };
    if (!adv.stream_seq) return;
    const stored = await bus.jsm.streams.getMessage(stream, { seq: adv.stream_seq }).catch(() => null);
    if (!stored) return;
    const d = decode(TaskEnvelopeSchema, stored.data);
    const reason = `no worker finished this task in ${adv.deliveries ?? '?'} deliveries (workers crashed or timed out)`;
    const fromSubject = stored.subject.split('.')[2] as TaskKind; // <prefix>.tasks.<kind>.<op>
    const kind = d.ok ? d.value.kind : TASK_KINDS.includes(fromSubject) ? fromSubject : 'map';
    if (d.ok) {
      const env = d.value;
      await bus.putFailure({ jobId: env.jobId, taskId: env.taskId, op: env.op, reason, attempts: adv.deliveries ?? 0, worker: 'coordinator', durationMs: 0 });
      log.warn({ jobId: env.jobId, taskId: env.taskId, op: env.op }, 'task exhausted its deliveries; dead-lettered');
    }
    await deadLetter(bus, kind, {
      jobId: d.ok ? d.value.jobId : undefined,
      taskId: d.ok ? d.value.taskId : undefined,
      op: d.ok ? d.value.op : undefined,
      reason,
      attempts: adv.deliveries ?? 0,
      subject: stored.subject,
      data: stored.data,
    });
    await bus.jsm.streams.deleteMessage(stream, adv.stream_seq).catch(() => undefined);
  };
  const sub = bus.nc.subscribe(subject, {
    queue: `${bus.names.prefix}_coordinators`,
    callback: (err, msg) => {
      if (err) return;
      handle(msg.data).catch((e) => log.error({ err: (e as Error).message }, 'dead-letter advisory handling failed'));
    },
  });
  const jobsSub = watchJobMaxDeliveries(bus, log);
  return {
    stop: () => {
      sub.unsubscribe();
      jobsSub.unsubscribe();
    },
  };
}

/**
 * The same for jobs: a job whose coordinator died on its last allowed delivery would otherwise
 * stay "running" forever. It is failed with the reason and dead-lettered.
 */
function watchJobMaxDeliveries(bus: Bus, log: Logger) {
  const stream = bus.names.streams.jobs;
  const handle = async (data: Uint8Array) => {
    const adv = JSON.parse(new TextDecoder().decode(data)) as { stream_seq?: number; deliveries?: number };
    if (!adv.stream_seq) return;
    const stored = await bus.jsm.streams.getMessage(stream, { seq: adv.stream_seq }).catch(() => null);
    if (!stored) return;
    const d = decode(JobSpecSchema, stored.data);
    const reason = `job abandoned: no coordinator finished it in ${adv.deliveries ?? '?'} deliveries (coordinators crashed or lost their connection)`;
    if (d.ok) {
      const st = await bus.getStatus(d.value.jobId);
      if (!st || !['succeeded', 'failed', 'cancelled'].includes(st.state)) {
        await bus.patchStatus(d.value.jobId, { state: 'failed', error: reason, finishedAt: new Date().toISOString() }, d.value.pipeline);
        bus.emit(d.value.jobId, { type: 'job.failed', message: reason });
      }
      log.warn({ jobId: d.value.jobId }, 'job exhausted its deliveries; failed and dead-lettered');
    }
    await deadLetter(bus, 'jobs', { jobId: d.ok ? d.value.jobId : undefined, reason, attempts: adv.deliveries ?? 0, subject: stored.subject, data: stored.data });
    await bus.jsm.streams.deleteMessage(stream, adv.stream_seq).catch(() => undefined);
  };
  return bus.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`, {
    queue: `${bus.names.prefix}_coordinators`,
    callback: (err, msg) => {
      if (err) return;
      handle(msg.data).catch((e) => log.error({ err: (e as Error).message }, 'job dead-letter advisory handling failed'));
    },
  });
}

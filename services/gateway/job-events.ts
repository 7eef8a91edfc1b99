/**
 * A job's events as the EVENTS stream holds them: read once (for summaries), or replayed from a
 * sequence and then followed live (for Server-Sent Events). Both use an ordered consumer
 * filtered to the job's subject, so nothing durable is left on the server.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { Bus } from '../../shared/bus/bus.ts';
import type { JobEvent } from '../../shared/protocol/schemas.ts';

export interface StoredEvent {
  /** Stream sequence: the SSE event id. */
  seq: number;
  event: JobEvent;
  /** Stored events of the job not yet delivered to this reader. */
  pending: number;
}

/** How many events the stream holds for this job (0 when none, or the job is unknown). */
export async function storedEventCount(bus: Bus, jobId: string): Promise<number> {
  const subject = bus.names.subjects.events(jobId);
  const info = await bus.jsm.streams.info(bus.names.streams.events, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

async function orderedConsumer(bus: Bus, jobId: string, afterSeq?: number) {
  return bus.js.consumers.get(bus.names.streams.events, {
    filter_subjects: bus.names.subjects.events(jobId),
    ...(afterSeq ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 } : { deliver_policy: DeliverPolicy.All }),
  });
}

/** Every stored event of the job, in stream order (undecodable messages are skipped). */
export async function readJobEvents(bus: Bus, jobId: string): Promise<StoredEvent[]> {
  if ((await storedEventCount(bus, jobId)) === 0) return [];
  const consumer = await orderedConsumer(bus, jobId);
  const out: StoredEvent[] = [];
  const iter = await consumer.consume({ max_messages: 512 });
  try {
    for await (const m of iter) {
      const d = Bus.decodeEvent(m.data);
      if (d.ok) out.push({ seq: m.seq, event: d.value, pending: m.info.pending });
      if (m.info.pending === 0) break;
    }
  } finally {
    iter.stop();
  }
  return out;
}

/** The job's latest stored event, or null. */
export async function lastJobEvent(bus: Bus, jobId: string): Promise<StoredEvent | null> {
  const sm = await bus.jsm.streams.getMessage(bus.names.streams.events, { last_by_subj: bus.names.subjects.events(jobId) }).catch(() => null);
  if (!sm) return null;
  const d = Bus.decodeEvent(sm.data);
  return d.ok ? { seq: sm.seq, event: d.value, pending: 0 } : null;
}

export interface FollowOptions {
  /** Resume after this stream sequence (the SSE Last-Event-ID). */
  afterSeq?: number;
  signal: AbortSignal;
}

/**
 * The job's stored events after `afterSeq`, then live ones as they are stored, until the
 * signal aborts. The caller decides when to stop (after the terminal event).
 */
export async function* followJobEvents(bus: Bus, jobId: string, o: FollowOptions): AsyncGenerator<StoredEvent> {
  const consumer = await orderedConsumer(bus, jobId, o.afterSeq);
  const iter = await consumer.consume({ max_messages: 256 });
  const stop = () => iter.stop();
  o.signal.addEventListener('abort', stop, { once: true });
  try {
    if (o.signal.aborted) return;
    for await (const m of iter) {
      const d = Bus.decodeEvent(m.data);
      if (d.ok) yield { seq: m.seq, event: d.value, pending: m.info.pending };
      if (o.signal.aborted) return;
    }
  } finally {
    o.signal.removeEventListener('abort', stop);
    iter.stop();
  }
}

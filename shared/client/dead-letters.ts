/**
 * Dead letters, read and retried: the operations behind `llmxmr dlq` and the gateway's
 * `/api/dlq`. A retry republishes the original message to its original subject under a fresh
 * message id, removes the task's stored failure (so the worker runs it instead of skipping it)
 * and deletes the dead letter. Retrying a task of a job that has already ended does not resume
 * the job, and retrying a finished job resets its status: both need `force`.
 */
import { nuid } from '@nats-io/transport-node';
import { DeadLetterSchema, type DeadLetter } from '../bus/dlq.ts';
import type { Bus } from '../bus/bus.ts';
import { decode, decodeLoose } from '../protocol/codec.ts';
import { TASK_KINDS } from '../protocol/names.ts';
import { TaskResultSchema } from '../protocol/schemas.ts';
import { TERMINAL } from './client.ts';

/** A request that cannot be carried out as asked (nothing was changed): the caller's to fix. */
export class DeadLetterRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadLetterRefusal';
  }
}

export const KINDS = [...TASK_KINDS, 'jobs'] as const;
export type Kind = (typeof KINDS)[number];

export interface DeadLetterEntry {
  seq: number;
  kind: Kind;
  jobId?: string;
  taskId?: string;
  op?: string;
  reason: string;
  attempts: number;
  subject: string;
  /** When the message was dead-lettered (ISO time). */
  ts: string;
  /** Size of the original message in bytes. */
  bytes: number;
  /** Not a dead-letter record (listed, never retried). */
  unreadable?: true;
}

export interface ListFilter {
  kind?: Kind;
  jobId?: string;
}

function entryOf(bus: Bus, seq: number, subject: string, data: Uint8Array, storedAt: string): DeadLetterEntry & { letter?: DeadLetter } {
  const d = decode(DeadLetterSchema, data);
  if (d.ok) {
    const { data: original, ...rest } = d.value;
    return { seq, ...rest, bytes: original.byteLength, letter: d.value };
  }
  // Something other than our dead-letter record on a DLQ subject: show it, never retry it.
  const kind = subject.slice(bus.names.prefix.length + '.dlq.'.length) as Kind;
  return { seq, kind, reason: `unreadable dead letter (${d.error})`, attempts: 0, subject, ts: storedAt, bytes: data.byteLength };
}

/** Every dead letter matching the filter, oldest first. */
export async function listDeadLetters(bus: Bus, f: ListFilter = {}): Promise<DeadLetterEntry[]> {
  const stream = bus.names.streams.dlq;
  const filter = f.kind ? bus.names.subjects.dlq(f.kind) : `${bus.names.prefix}.dlq.>`;
  const info = await bus.jsm.streams.info(stream, { subjects_filter: filter });
  const expected = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  if (expected === 0) return [];
  const consumer = await bus.js.consumers.get(stream, { filter_subjects: filter });
  const out: DeadLetterEntry[] = [];
  const iter = await consumer.consume({ max_messages: 256 });
  try {
    for await (const m of iter) {
      const { letter, ...e } = entryOf(bus, m.seq, m.subject, m.data, m.timestamp);
      if (!letter) e.unreadable = true;
      if (!f.jobId || e.jobId === f.jobId) out.push(e);
      if (m.info.pending === 0) break;
    }
  } finally {
    iter.stop();
  }
  return out;
}

export interface RetryOutcome {
  seq: number;
  kind: Kind;
  jobId?: string;
  taskId?: string;
  op?: string;
  subject: string;
  /** What was done besides republishing. */
  note?: string;
}

async function loadLetter(bus: Bus, seq: number): Promise<DeadLetter & { seq: number }> {
  const sm = await bus.jsm.streams.getMessage(bus.names.streams.dlq, { seq }).catch(() => null);
  if (!sm) throw new DeadLetterRefusal(`no dead letter #${seq} in ${bus.names.streams.dlq} (see \`llmxmr dlq list\`)`);
  const e = entryOf(bus, seq, sm.subject, sm.data, sm.time.toISOString());
  if (!e.letter) throw new DeadLetterRefusal(`dead letter #${seq} cannot be retried: ${e.reason}`);
  return { ...e.letter, seq };
}

/** Where a dead letter may be republished: only this prefix's task and submit subjects. */
function allowedTarget(bus: Bus, dl: DeadLetter): boolean {
  if (dl.kind === 'jobs') return dl.subject === bus.names.subjects.submit;
  return dl.subject.startsWith(`${bus.names.prefix}.tasks.${dl.kind}.`);
}

/**
 * Retry the dead letters with these sequence numbers. Checks all of them first and refuses the
 * whole batch (nothing changed) when one cannot be retried without --force.
 */
export async function retryDeadLetters(bus: Bus, seqs: number[], o: { force?: boolean } = {}): Promise<RetryOutcome[]> {
  const letters = [];
  const refusals: string[] = [];
  for (const seq of seqs) {
    const dl = await loadLetter(bus, seq);
    if (!allowedTarget(bus, dl)) throw new DeadLetterRefusal(`dead letter #${seq} names subject "${dl.subject}", which is not a ${dl.kind} subject of this cluster; not retrying it`);
    const status = dl.jobId ? await bus.getStatus(dl.jobId) : null;
    if (status && TERMINAL.has(status.state) && !o.force) {
      refusals.push(
        dl.kind === 'jobs'
          ? `#${seq}: job ${dl.jobId} is already ${status.state}; --force resets it to queued and runs it again`
          : `#${seq}: job ${dl.jobId} is already ${status.state}, so re-running its ${dl.op ?? 'task'} task would not resume it; --force runs the task anyway`,
      );
    }
    letters.push({ dl, status });
  }
  if (refusals.length) throw new DeadLetterRefusal(`not retrying (nothing was changed):\n  ${refusals.join('\n  ')}`);

  const out: RetryOutcome[] = [];
  for (const { dl, status } of letters) {
    const notes: string[] = [];
    let republish = true;
    if (dl.kind !== 'jobs' && dl.jobId && dl.taskId) {
      const key = bus.names.resultKey(dl.jobId, dl.taskId);
      const stored = await bus.results.get(key);
      if (stored && stored.operation === 'PUT') {
        const r = decode(TaskResultSchema, stored.value);
        if (r.ok && r.value.status === 'ok') {
          republish = false;
          notes.push('the task has a successful result already; only the dead letter was removed');
        } else {
          await bus.removeResult(dl.jobId, dl.taskId); // results are write-once: only a purge removes one
          notes.push('removed the stored failure');
        }
      }
    }
    if (dl.kind === 'jobs' && dl.jobId && status && TERMINAL.has(status.state)) {
      const loose = decodeLoose(dl.data) as { pipeline?: unknown } | undefined;
      const pipeline = typeof loose?.pipeline === 'string' ? loose.pipeline : status.pipeline;
      await bus.setStatus({ jobId: dl.jobId, pipeline, state: 'queued', attempts: 0, submittedAt: status.submittedAt, owner: status.owner });
      notes.push(`job status reset from ${status.state} to queued`);
    } else if (dl.kind !== 'jobs' && status && TERMINAL.has(status.state)) {
      notes.push(`job is ${status.state}: the task runs again but the job is not resumed`);
    }
    if (republish) await bus.js.publish(dl.subject, dl.data, { msgID: `dlq-retry-${dl.seq}-${nuid.next()}` });
    await bus.jsm.streams.deleteMessage(bus.names.streams.dlq, dl.seq);
    out.push({ seq: dl.seq, kind: dl.kind, jobId: dl.jobId, taskId: dl.taskId, op: dl.op, subject: dl.subject, note: notes.join('; ') || undefined });
  }
  return out;
}

/**
 * A review gate in a running job: store the drafted outline, mark the job paused (status and
 * event say why and what to do), and wait until a person resumes it; then go on with the outline
 * the decision names. Everything lives on the bus (shared/jobs/review-store.ts), so a replay
 * after a coordinator restart reaches the gate again, finds the draft and any decision, and
 * either waits again or goes straight on. Cancel works while paused.
 */
import type { Logger } from 'pino';
import type { Bus } from '../../shared/bus/bus.ts';
import type { OutlineNode } from '../../shared/algo/outline.ts';
import { pausedMessage, putDraft, readGate, resumedOutline, type ReviewGate } from '../../shared/jobs/review-store.ts';

/** How often a paused job looks for a decision. */
const POLL_MS = 400;

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Set the job's state and review note (absent: removed). */
async function mark(bus: Bus, jobId: string, state: 'paused' | 'running', review?: { gate: string; since: string; message: string }): Promise<void> {
  const cur = await bus.getStatus(jobId);
  if (!cur || ['succeeded', 'failed', 'cancelled'].includes(cur.state)) return;
  const { review: _old, ...rest } = cur;
  await bus.setStatus({ ...rest, state, ...(review ? { review } : {}) });
}

export async function waitAtGate(
  bus: Bus,
  run: { jobId: string; log: Logger; signal: AbortSignal },
  gate: ReviewGate,
  outline: OutlineNode,
  maxDepth: number,
): Promise<{ outline: OutlineNode; edited: boolean; changes: string[] }> {
  const { jobId, signal } = run;
  await putDraft(bus, jobId, gate, outline, maxDepth);
  let announced = false;
  for (;;) {
    if (signal.aborted) {
      await mark(bus, jobId, 'running').catch(() => undefined); // the cancellation that follows sets the final state
      throw new Error(`job ${jobId} was cancelled`);
    }
    const s = await readGate(bus, jobId, gate);
    if (s?.resumed) {
      const used = await resumedOutline(bus, jobId, gate, s);
      await mark(bus, jobId, 'running');
      const what = used.edited ? `with the edited outline (${used.changes.length} change(s))` : 'with the drafted outline';
      bus.emit(jobId, { type: 'job.resumed', stage: 'review', message: `outline review done: going on ${what}`, data: { gate, edited: used.edited, changes: used.changes } });
      run.log.info({ gate, edited: used.edited }, 'resumed after outline review');
      return used;
    }
    if (!announced) {
      const message = pausedMessage(jobId);
      await mark(bus, jobId, 'paused', { gate, since: new Date().toISOString(), message });
      bus.emit(jobId, { type: 'job.paused', stage: 'review', message, data: { gate, sections: outline.children.length } });
      run.log.info({ gate }, 'paused for outline review');
      announced = true;
    }
    await pause(POLL_MS, signal);
  }
}

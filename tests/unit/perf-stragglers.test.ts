import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Stragglers } from '../../services/coordinator/backups.ts';
import { PROTOCOL_VERSION, ZERO_USAGE, type TaskEnvelope, type TaskResult } from '../../shared/protocol/schemas.ts';

const env = (i: number, op = 'v1.reduce'): TaskEnvelope => ({ v: PROTOCOL_VERSION, jobId: 'j1', taskId: i.toString(16).padStart(32, '0'), kind: 'reduce', op, engine: 'openai', input: { i }, fresh: true });
const done = (e: TaskEnvelope, ms: number): TaskResult => ({ v: PROTOCOL_VERSION, jobId: e.jobId, taskId: e.taskId, op: e.op, status: 'ok', output: {}, attempts: 1, worker: 'w', durationMs: ms, usage: { ...ZERO_USAGE } });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function tracker() {
  const sent: { id: string; env: TaskEnvelope }[] = [];
  const s = new Stragglers({ on: true, after: 2, tail: 0.25 }, async (id, e) => void sent.push({ id, env: e }));
  return { s, sent };
}

describe('backup attempts of tasks outside a barrier (a lone reduce, a pipelined collapse)', () => {
  it('a lone task out (after + 1) times the median run time of its op gets one backup, without the fresh mark', async () => {
    const { s, sent } = tracker();
    s.start();
    const es = [1, 2, 3, 4].map((i) => env(i));
    for (const e of es) s.published(e.taskId, e);
    for (const e of es.slice(0, 3)) s.finished(done(e, 100));
    // Checked every 100 ms; the job's tail begins at the first check (100 ms).
    await vi.advanceTimersByTimeAsync(350);
    expect(sent).toEqual([]); // 3 × 100 ms not yet passed since the tail began
    await vi.advanceTimersByTimeAsync(250);
    expect(sent.map((x) => x.id)).toEqual([es[3].taskId]);
    expect(sent[0].env.backup).toBe(true);
    expect(sent[0].env.fresh).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sent).toHaveLength(1); // once
    s.stop();
  });

  it('sends nothing for an op with no finished peers (a reduce after the maps)', async () => {
    const { s, sent } = tracker();
    s.start();
    const maps = [1, 2, 3, 4, 5].map((i) => env(i, 'v1.map'));
    for (const e of maps) s.published(e.taskId, e);
    for (const e of maps) s.finished(done(e, 100));
    const reduce = env(9, 'v1.reduce');
    s.published(reduce.taskId, reduce);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent).toEqual([]);
    s.stop();
  });

  it('sends nothing while many tasks are out, nor without three finished run times to compare with', async () => {
    const { s, sent } = tracker();
    s.start();
    const es = Array.from({ length: 12 }, (_, i) => env(i + 1));
    for (const e of es) s.published(e.taskId, e);
    for (const e of es.slice(0, 2)) s.finished(done(e, 100));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent).toEqual([]); // 10 of 12 still out: not the tail of the work
    for (const e of es.slice(2, 10)) s.finished(done(e, 100));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent.map((x) => x.id).sort()).toEqual([es[10].taskId, es[11].taskId].sort());
    s.stop();
  });

  it('leaves the tasks of a watched barrier to the barrier rule (after × the median of its peers)', async () => {
    const { s, sent } = tracker();
    s.start();
    const es = [1, 2, 3, 4].map((i) => env(i, 'v1.map'));
    for (const e of es) s.published(e.taskId, e);
    const pending = new Set(es.map((e) => e.taskId));
    const ran: number[] = [];
    const unwatch = s.watchBarrier({ pending, ran, total: 4, tailSince: 0 });
    for (const e of es.slice(0, 3)) {
      s.finished(done(e, 100));
      pending.delete(e.taskId);
      ran.push(100);
    }
    await vi.advanceTimersByTimeAsync(250);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(200); // past 2 × 100 ms after the tail began: the barrier rule (the lone one would wait 3 ×)
    expect(sent.map((x) => x.id)).toEqual([es[3].taskId]);
    unwatch();
    s.stop();
  });

  it('a straggler of the first wave gets its backup as soon as the work fits the slots, counted from its publish', async () => {
    const { s, sent } = tracker();
    s.start();
    const es = Array.from({ length: 12 }, (_, i) => env(i + 1, 'v1.map'));
    for (const e of es) s.published(e.taskId, e);
    const pending = new Set(es.map((e) => e.taskId));
    const ran: number[] = [];
    const unwatch = s.watchBarrier({ pending, ran, total: 12, tailSince: 0 });
    const finish = (from: number, to: number) => {
      for (const e of es.slice(from, to)) {
        s.finished(done(e, 100));
        pending.delete(e.taskId);
        ran.push(100);
      }
    };
    // Three calls at a time: es[0] straggles from the start, the others take 100 ms each.
    for (const step of [1, 4, 7]) {
      await vi.advanceTimersByTimeAsync(100);
      finish(step, step + 3);
    }
    expect(sent).toEqual([]); // until now more tasks were out than the three slots seen
    await vi.advanceTimersByTimeAsync(150);
    // Three out, three slots: es[0] ran 400 ms (> 2 × 100); es[10] and es[11] waited for a slot.
    expect(sent.map((x) => x.id)).toEqual([es[0].taskId]);
    unwatch();
    s.stop();
  });
});

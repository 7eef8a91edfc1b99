/**
 * Backup tasks for stragglers (MapReduce §3.6), for one job run.
 *
 * A backup is sent only while nothing waits for model capacity: the job has no more tasks out
 * than the slots it has been seen to use at once (estimated from finished tasks: a worker's
 * run time counts from its model call, so [stored − run time, stored] is when a call held a
 * slot, and the most such intervals overlapping is the capacity seen). From then on every task
 * out is running, and one running `after` times longer than the median run time of its
 * finished peers gets a second attempt (once). A task's time out counts from its publish when
 * it was published with free slots (no more tasks out, itself included, than the capacity),
 * else from the moment the job's work fell to the capacity (it may have queued until then).
 *
 * Peers: the other tasks of its barrier (ctx.map). A task outside any barrier (a ctx.run: a
 * pipelined collapse, a refinement step) is compared with the finished tasks of its op in this
 * run, once three have finished, and waits `after` + 1 times their median. An op seen for the
 * first time (the reduce) gets none: other ops' run times say little about it (a V1 reduce
 * writes several times the text of a map), and a backup of every reduce cost 2-3% more calls
 * for nothing in bench:perf (f).
 *
 * The first result stored wins: results are create-if-absent, and the slower attempt stops its
 * model call when it sees the result (shared/bus/worker.ts). MR_BACKUP_TASKS=off turns them off.
 */
import { z } from 'zod';
import type { TaskEnvelope, TaskResult } from '../../shared/protocol/schemas.ts';

export const BackupConfigSchema = z.object({
  MR_BACKUP_TASKS: z.enum(['on', 'off']).default('on'),
  MR_BACKUP_AFTER: z.coerce.number().min(1).max(100).default(2),
  MR_BACKUP_TAIL: z.coerce.number().min(0).max(1).default(0.25),
});
export type BackupConfig = { on: boolean; after: number; tail: number };
export function backupConfig(env: Record<string, string | undefined> = process.env): BackupConfig {
  const c = BackupConfigSchema.safeParse(env);
  if (!c.success) throw new Error(`bad backup task setting: ${c.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { on: c.data.MR_BACKUP_TASKS === 'on', after: c.data.MR_BACKUP_AFTER, tail: c.data.MR_BACKUP_TAIL };
}
export const BACKUP_CHECK_MS = 100;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

interface Out {
  env: TaskEnvelope;
  at: number;
  /** Tasks of the job out when it was published, itself included. */
  rank: number;
  backedUp: boolean;
}

/** A barrier being watched: its tasks not yet settled, and its finished run times. */
export interface Barrier {
  pending: Set<string>;
  ran: number[];
  total: number;
  tailSince: number;
}

/** How many finished call intervals are kept to estimate the slots in use. */
const INTERVALS_KEPT = 512;

export class Stragglers {
  private readonly outstanding = new Map<string, Out>();
  private readonly barriers = new Set<Barrier>();
  private readonly ranByOp = new Map<string, number[]>();
  /** [start, end] of finished model calls (end = when the result was seen). */
  private readonly intervals: [number, number][] = [];
  /** The most tasks seen running at once: the job's model capacity, as far as it shows. */
  private capacity = 0;
  private peak = 0;
  /** Since when the job's work has fitted its capacity (0: it does not now). */
  private freeSince = 0;
  private loneTailSince = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cfg: BackupConfig,
    /** Publish a backup attempt (a copy of the task's envelope marked as a backup). */
    private readonly send: (id: string, env: TaskEnvelope, why: { outMs: number; referenceMs: number }) => Promise<void>,
  ) {}

  get on(): boolean {
    return this.cfg.on;
  }

  /** Watch lone tasks (outside barriers) until stop(). */
  start(): void {
    if (this.cfg.on) this.timer ??= setInterval(() => void this.checkLone(), BACKUP_CHECK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  published(id: string, env: TaskEnvelope): void {
    this.outstanding.set(id, { env, at: Date.now(), rank: this.outstanding.size + 1, backedUp: false });
    this.peak = Math.max(this.peak, this.outstanding.size);
  }

  finished(r: TaskResult): void {
    if (!this.outstanding.delete(r.taskId) || r.status !== 'ok') return;
    const list = this.ranByOp.get(r.op) ?? [];
    list.push(r.durationMs);
    this.ranByOp.set(r.op, list);
    const end = Date.now();
    const begin = end - r.durationMs;
    let running = 1;
    for (const [s, e] of this.intervals) if (s <= begin && begin < e) running++;
    this.capacity = Math.max(this.capacity, running);
    this.intervals.push([begin, end]);
    if (this.intervals.length > INTERVALS_KEPT) this.intervals.shift();
  }

  /** Whether every task out is running (no more out than the capacity seen); notes since when. */
  private fits(now: number): boolean {
    const n = this.outstanding.size;
    if (n === 0 || n > this.capacity) return (this.freeSince = 0), false;
    this.freeSince ||= now;
    return true;
  }

  /** When a task out began running, at the latest. */
  private startedBy(o: Out, tailSince: number): number {
    return o.rank <= this.capacity ? o.at : Math.max(o.at, tailSince);
  }

  /** Watch a barrier's tasks; returns the function that ends the watch. */
  watchBarrier(b: Barrier): () => void {
    if (!this.cfg.on || b.total < 2) return () => undefined;
    this.barriers.add(b);
    const t = setInterval(() => void this.checkBarrier(b), BACKUP_CHECK_MS);
    return () => {
      clearInterval(t);
      this.barriers.delete(b);
    };
  }

  private async checkBarrier(b: Barrier): Promise<void> {
    if (b.pending.size === 0 || b.ran.length === 0) return;
    const now = Date.now();
    const free = this.fits(now);
    const inTail = b.pending.size <= Math.max(1, Math.floor(b.total * this.cfg.tail));
    if (!free && !inTail) return;
    if (inTail) b.tailSince ||= now;
    const since = free ? Math.min(this.freeSince, b.tailSince || Infinity) : b.tailSince;
    const m = median(b.ran);
    for (const id of b.pending) await this.maybeSend(id, now, since, this.cfg.after * m, m);
  }

  private async checkLone(): Promise<void> {
    const now = Date.now();
    const free = this.fits(now);
    const n = this.outstanding.size;
    if (n === 0 || (!free && n > Math.max(1, Math.floor(this.peak * this.cfg.tail)))) {
      this.loneTailSince = 0;
      return;
    }
    this.loneTailSince ||= now;
    const since = free ? Math.min(this.freeSince, this.loneTailSince) : this.loneTailSince;
    for (const [id, o] of this.outstanding) {
      if ([...this.barriers].some((b) => b.pending.has(id))) continue;
      const own = this.ranByOp.get(o.env.op) ?? [];
      if (own.length >= 3) await this.maybeSend(id, now, since, (this.cfg.after + 1) * median(own), median(own));
    }
  }

  private async maybeSend(id: string, now: number, tailSince: number, limitMs: number, referenceMs: number): Promise<void> {
    const o = this.outstanding.get(id);
    if (!o || o.backedUp || now - this.startedBy(o, tailSince) <= limitMs) return;
    o.backedUp = true;
    const { fresh: _, ...first } = o.env;
    await this.send(id, { ...first, backup: true }, { outMs: now - o.at, referenceMs });
  }
}

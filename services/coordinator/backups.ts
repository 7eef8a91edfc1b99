/**
 * Backup tasks for stragglers (MapReduce §3.6), for one job run.
 *
 * In a barrier (ctx.map): near its end (at most `tail` of its tasks left, at least one), a task
 * still out `after` times longer than the median run time of its finished peers gets a second
 * attempt (once). A task's time out counts from the moment the barrier entered its tail (by then
 * the queue is empty, every task left has started) or from its publish if later: time spent
 * waiting in the queue behind its peers is not straggling.
 *
 * A task outside any barrier (a ctx.run: a pipelined collapse, a refinement step) has no peers
 * in a barrier: near the end of the job's current wave of work (at most `tail` of the most tasks
 * it had out at once), it gets a second attempt when it has been out `after` + 1 times the
 * median run time of its op in this run, once three of them have finished. An op seen for the
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
  backedUp: boolean;
}

/** A barrier being watched: its tasks not yet settled, and its finished run times. */
export interface Barrier {
  pending: Set<string>;
  ran: number[];
  total: number;
  tailSince: number;
}

export class Stragglers {
  private readonly outstanding = new Map<string, Out>();
  private readonly barriers = new Set<Barrier>();
  private readonly ranByOp = new Map<string, number[]>();
  private peak = 0;
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
    this.outstanding.set(id, { env, at: Date.now(), backedUp: false });
    this.peak = Math.max(this.peak, this.outstanding.size);
  }

  finished(r: TaskResult): void {
    if (!this.outstanding.delete(r.taskId) || r.status !== 'ok') return;
    const list = this.ranByOp.get(r.op) ?? [];
    list.push(r.durationMs);
    this.ranByOp.set(r.op, list);
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
    if (b.pending.size === 0 || b.pending.size > Math.max(1, Math.floor(b.total * this.cfg.tail)) || b.ran.length === 0) return;
    const now = Date.now();
    b.tailSince ||= now;
    const m = median(b.ran);
    for (const id of b.pending) await this.maybeSend(id, now, b.tailSince, this.cfg.after * m, m);
  }

  private async checkLone(): Promise<void> {
    const n = this.outstanding.size;
    if (n === 0 || n > Math.max(1, Math.floor(this.peak * this.cfg.tail))) {
      this.loneTailSince = 0;
      return;
    }
    const now = Date.now();
    this.loneTailSince ||= now;
    for (const [id, o] of this.outstanding) {
      if ([...this.barriers].some((b) => b.pending.has(id))) continue;
      const own = this.ranByOp.get(o.env.op) ?? [];
      if (own.length >= 3) await this.maybeSend(id, now, this.loneTailSince, (this.cfg.after + 1) * median(own), median(own));
    }
  }

  private async maybeSend(id: string, now: number, tailSince: number, limitMs: number, referenceMs: number): Promise<void> {
    const o = this.outstanding.get(id);
    if (!o || o.backedUp || now - Math.max(o.at, tailSince) <= limitMs) return;
    o.backedUp = true;
    const { fresh: _, ...first } = o.env;
    await this.send(id, { ...first, backup: true }, { outMs: now - o.at, referenceMs });
  }
}

/** Small display helpers of the console (durations, counts, money, stage progress). Pure. */

export function formatMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function formatCount(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function formatDollars(d: number | undefined | null): string {
  if (d === undefined || d === null || !Number.isFinite(d)) return '—';
  return d === 0 ? '$0' : d < 0.01 ? `$${d.toFixed(4)}` : `$${d.toFixed(2)}`;
}

export function formatTime(iso: string | undefined | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Wall time of a job: finished − started, or now − started while it runs. */
export function wallMs(job: { wallMs?: number | null; startedAt?: string | null; finishedAt?: string | null }, now = Date.now()): number | undefined {
  if (typeof job.wallMs === 'number') return job.wallMs;
  if (!job.startedAt) return undefined;
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  return end - Date.parse(job.startedAt);
}

export interface StageView {
  name: string;
  state: string;
  done: number;
  total: number;
  etaMs?: number | null;
}

/** Percent done of a stage, 0–100 (a finished stage is 100 even when it had no counted tasks). */
export function stagePercent(s: StageView): number {
  if (s.state === 'done' || s.state === 'finished' || s.state === 'succeeded') return 100;
  if (!s.total) return 0;
  return Math.max(0, Math.min(100, Math.round((100 * s.done) / s.total)));
}

export const TERMINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);

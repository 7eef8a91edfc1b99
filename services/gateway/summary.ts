/**
 * What the API says about a job beyond its status, derived from the job's events alone: stages
 * with counts and an ETA from the observed rate, usage (calls, tokens, cost), failures and
 * repairs, and the refinement blocks' entropy scores per layer. Pure: no I/O.
 */
import type { JobEvent, JobStatus } from '../../shared/protocol/schemas.ts';

export interface StageSummary {
  name: string;
  state: 'running' | 'done';
  done: number;
  total: number;
  /** Milliseconds left at the rate observed so far; null when there is no rate yet. */
  etaMs: number | null;
}

export interface UsageSummary {
  calls: number;
  /** The split: progress events carry it as the job runs (older ones the sum only), end events the final one. */
  promptTokens?: number;
  completionTokens?: number;
  tokens: number;
  cachedCalls?: number;
  costDollars?: number;
  repairs?: number;
  fallbacks?: number;
}

export interface RefinementLayer {
  /** 0, 1, … for kernel layers; "self-refine N" for the self-refine rounds. */
  layer: number | string;
  label: string;
  /** Entropy-based scores of every candidate of the layer. */
  scores: number[];
  best: number;
}

export interface RefinementBlock {
  block: number;
  layers: RefinementLayer[];
  initial?: number;
  accepted?: { score: number; origin?: string };
}

export interface EventDigest {
  stages: StageSummary[];
  usage: UsageSummary | null;
  /** Tasks that failed for good (each `task.failed` event). */
  failures: { stage?: string; message?: string; taskId?: string; ts: string }[];
  repairs: number;
  refinement: RefinementBlock[];
  /** The last event's type, and whether it ended the job. */
  last?: { type: string; ts: string; message?: string };
  wallMs?: number;
}

interface Track {
  stage: StageSummary;
  first?: { t: number; done: number };
  lastT?: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const TERMINAL_EVENTS = new Set(['job.succeeded', 'job.failed', 'job.cancelled']);

export function isTerminalEvent(e: Pick<JobEvent, 'type'>): boolean {
  return TERMINAL_EVENTS.has(e.type);
}

/** Usage from a progress event (sum of tokens) or an end event (the full usage record). */
export function usageOf(e: Pick<JobEvent, 'type' | 'data'>): UsageSummary | null {
  const d = e.data;
  if (!d) return null;
  const u = d.usage as Record<string, unknown> | undefined;
  if (u && typeof u === 'object' && num(u.calls) !== undefined) {
    const p = num(u.promptTokens) ?? 0;
    const c = num(u.completionTokens) ?? 0;
    return {
      calls: num(u.calls)!,
      promptTokens: p,
      completionTokens: c,
      tokens: p + c,
      ...(num(u.cachedCalls) !== undefined ? { cachedCalls: num(u.cachedCalls) } : {}),
      costDollars: num(u.costDollars) ?? 0,
      ...(num(u.repairs) !== undefined ? { repairs: num(u.repairs) } : {}),
      ...(num(u.fallbacks) !== undefined ? { fallbacks: num(u.fallbacks) } : {}),
    };
  }
  if (e.type === 'tasks.progress' && num(d.calls) !== undefined) {
    const split = num(d.promptTokens) !== undefined && num(d.completionTokens) !== undefined ? { promptTokens: num(d.promptTokens)!, completionTokens: num(d.completionTokens)! } : {};
    return { calls: num(d.calls)!, ...split, tokens: num(d.tokens) ?? 0, ...(num(d.cachedCalls) !== undefined ? { cachedCalls: num(d.cachedCalls) } : {}), costDollars: num(d.costDollars) ?? 0 };
  }
  return null;
}

function refinementOf(events: readonly JobEvent[]): RefinementBlock[] {
  const blocks = new Map<number, RefinementBlock & { byLabel: Map<string, RefinementLayer> }>();
  for (const e of events) {
    if (e.stage !== 'refine' || !e.data) continue;
    const block = num(e.data.block);
    if (block === undefined) continue;
    let b = blocks.get(block);
    if (!b) blocks.set(block, (b = { block, layers: [], byLabel: new Map() }));
    if (e.data.phase === 'accepted') {
      const score = num(e.data.best);
      if (score !== undefined) b.accepted = { score, ...(typeof e.data.origin === 'string' ? { origin: e.data.origin } : {}) };
      if (num(e.data.initial) !== undefined) b.initial = num(e.data.initial);
      continue;
    }
    const best = num(e.data.best);
    const layer = e.data.layer;
    if (best === undefined || (typeof layer !== 'number' && typeof layer !== 'string')) continue;
    const label = typeof layer === 'number' ? `layer ${layer}` : layer;
    const scores = Array.isArray(e.data.scores) ? e.data.scores.filter((s): s is number => num(s) !== undefined) : [];
    b.byLabel.set(label, { layer, label, scores, best }); // a replayed layer replaces the earlier report
  }
  return [...blocks.values()]
    .sort((a, b) => a.block - b.block)
    .map(({ byLabel, ...b }) => ({ ...b, layers: [...byLabel.values()] }));
}

/** Digest a job's events, in stream order. `now` is the time ETAs are computed at. */
export function digestEvents(events: readonly JobEvent[], now = Date.now()): EventDigest {
  const tracks = new Map<string, Track>();
  const track = (name: string): Track => {
    let t = tracks.get(name);
    if (!t) tracks.set(name, (t = { stage: { name, state: 'running', done: 0, total: 0, etaMs: null } }));
    return t;
  };
  let usage: UsageSummary | null = null;
  let repairs = 0;
  let wallMs: number | undefined;
  const failures: EventDigest['failures'] = [];
  for (const e of events) {
    const t = Date.parse(e.ts);
    if (e.type === 'stage.started' && e.stage) {
      const tr = track(e.stage);
      tr.stage.state = 'running';
    } else if (e.type === 'stage.finished' && e.stage) {
      const s = track(e.stage).stage;
      s.state = 'done';
      s.done = Math.max(s.done, s.total);
      s.etaMs = 0;
    } else if (e.type === 'tasks.progress' && e.stage) {
      const tr = track(e.stage);
      const done = num(e.done) ?? 0;
      const total = num(e.total) ?? 0;
      if (tr.stage.total !== total) tr.first = undefined; // a new barrier of the same stage name
      tr.stage.done = done;
      tr.stage.total = total;
      if (!tr.first) tr.first = { t, done };
      tr.lastT = t;
      if (done >= total && total > 0) tr.stage.state = 'done';
      else if (tr.stage.state === 'done') tr.stage.state = 'running';
    } else if (e.type === 'task.failed') {
      failures.push({ stage: e.stage, message: e.message, ...(typeof e.data?.taskId === 'string' ? { taskId: e.data.taskId } : {}), ts: e.ts });
    } else if (e.type === 'info' && e.stage === 'group' && e.data && /repaired/.test(e.message ?? '')) {
      repairs++;
    }
    const u = usageOf(e);
    if (u) usage = u;
    if (isTerminalEvent(e) && num(e.data?.wallMs) !== undefined) wallMs = num(e.data!.wallMs);
  }
  for (const { stage: s, first, lastT } of tracks.values()) {
    if (s.state === 'done') {
      s.etaMs = 0;
      continue;
    }
    if (!first || lastT === undefined || s.total <= 0) continue;
    const gained = s.done - first.done;
    const elapsed = lastT - first.t;
    if (gained > 0 && elapsed > 0) {
      const left = ((s.total - s.done) * elapsed) / gained;
      s.etaMs = Math.max(0, Math.round(left - Math.max(0, now - lastT)));
    }
  }
  if (usage?.repairs !== undefined) repairs = Math.max(repairs, usage.repairs);
  const lastE = events.at(-1);
  return {
    stages: [...tracks.values()].map((t) => t.stage),
    usage,
    failures,
    repairs,
    refinement: refinementOf(events),
    ...(lastE ? { last: { type: lastE.type, ts: lastE.ts, ...(lastE.message ? { message: lastE.message } : {}) } } : {}),
    ...(wallMs !== undefined ? { wallMs } : {}),
  };
}

/** Wall time of a job: the run's own figure when it ended, else from its status times. */
export function wallTime(s: JobStatus, digestWall: number | undefined, now = Date.now()): number | null {
  if (digestWall !== undefined) return digestWall;
  if (!s.startedAt) return null;
  const end = s.finishedAt ? Date.parse(s.finishedAt) : now;
  return Math.max(0, end - Date.parse(s.startedAt));
}

/**
 * What `bench:fleet` reads off its samples of the simulated fleet: per job stage, the calls made,
 * the busy slot-time, the rounds of dependent calls, and the cluster's own time around the calls.
 * Pure functions over the samples; no I/O.
 */

/** The fleet at one instant: calls running, calls started so far, busy slot-time so far (ms). */
export interface Sample {
  t: number;
  running: number;
  started: number;
  busy: number;
}

export interface StageTimes {
  started: number;
  finished?: number;
}

export interface StageRow {
  stage: string;
  calls: number;
  /** Stage wall time. */
  ms: number;
  /** Dependent rounds of calls seen in this run (see roundsOf). */
  rounds: number;
  /** max(the stage's critical path, ⌈calls / slots⌉) × L. */
  boundMs: number;
  /** From the first to the last instant with a call running. */
  activeMs: number;
  activeBusyMs: number;
  activeUtilisation: number;
  /** Stage start to first call; first to last call start; last call end to stage end. */
  leadMs: number;
  spreadMs: number;
  tailMs: number;
}

/**
 * Rounds of dependent calls, from a run with unlimited slots and constant latency L: calls of
 * one round start together (within the cluster's dispatch spread), a call that depends on
 * another starts at least L after it. A call starting 0.9 L or more after the current round's
 * first call opens a new round.
 */
export function roundsOf(samples: readonly Sample[], latencyMs: number): number {
  let rounds = 0;
  let roundStart = -Infinity;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].started > samples[i - 1].started && samples[i].t - roundStart >= 0.9 * latencyMs) {
      rounds++;
      roundStart = samples[i].t;
    }
  }
  return rounds;
}

/** The row of one stage, from the samples inside [from, to]. */
export function stageRow(stage: string, samples: readonly Sample[], from: number, to: number, slots: number, latencyMs: number, criticalRounds?: number): StageRow {
  const inside = samples.filter((x) => x.t >= from && x.t <= to);
  const empty = { stage, calls: 0, ms: to - from, rounds: 0, boundMs: 0, activeMs: 0, activeBusyMs: 0, activeUtilisation: 0, leadMs: 0, spreadMs: 0, tailMs: 0 };
  if (inside.length < 2) return empty;
  // Calls are counted from the last sample before the stage (none: the window's start).
  const first = [...samples].reverse().find((x) => x.t < from) ?? { t: from, running: 0, started: 0, busy: 0 };
  const last = inside[inside.length - 1];
  const calls = last.started - first.started;
  if (calls === 0) return empty;
  const firstOn = inside.find((x) => x.running > 0);
  const lastOn = [...inside].reverse().find((x) => x.running > 0);
  const firstCall = inside.find((x) => x.started > first.started);
  const allStarted = inside.find((x) => x.started === last.started);
  const activeMs = firstOn && lastOn ? lastOn.t - firstOn.t : 0;
  const activeBusyMs = firstOn && lastOn ? lastOn.busy - firstOn.busy : 0;
  const rounds = roundsOf([first, ...inside], latencyMs);
  return {
    stage,
    calls,
    ms: to - from,
    rounds,
    boundMs: Math.max(criticalRounds ?? rounds, Math.ceil(calls / slots)) * latencyMs,
    activeMs,
    activeBusyMs,
    activeUtilisation: activeMs > 0 ? Number((activeBusyMs / (slots * activeMs)).toFixed(4)) : 0,
    leadMs: firstCall ? firstCall.t - from : 0,
    spreadMs: firstCall && allStarted ? allStarted.t - firstCall.t : 0,
    tailMs: lastOn ? to - lastOn.t : 0,
  };
}

/**
 * One row per stage, in the order the stages started. `criticalRounds` gives each stage's
 * critical path in rounds (from a run with unlimited slots); without it, the run's own rounds.
 */
export function stageReport(samples: readonly Sample[], stages: ReadonlyMap<string, StageTimes>, slots: number, latencyMs: number, criticalRounds?: ReadonlyMap<string, number>): StageRow[] {
  return [...stages].map(([name, t]) => stageRow(name, samples, t.started, t.finished ?? t.started, slots, latencyMs, criticalRounds?.get(name)));
}

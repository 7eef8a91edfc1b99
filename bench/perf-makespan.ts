/**
 * Perf part (b): V2 makespan on the fleet simulator against its lower bound. It is the narrow
 * fleet of `bench:fleet` (fleet-run.ts): a calibration with unlimited slots gives the critical
 * path in rounds of dependent calls, then the job runs on R replicas × S slots.
 * Lower bound = max(critical path × L, calls × L / slots); the ratio is makespan / bound. V2's
 * stages are barriers, so the stage-aware bound is also given:
 * Σ over stages of max(the stage's critical path, ⌈stage calls / slots⌉) × L.
 */
import { measureFleet } from './fleet-run.ts';
import { say } from './perf-common.ts';

export interface MakespanResult {
  papers: number;
  replicas: number;
  slots: number;
  latencyMs: number;
  calls: number;
  /** Rounds of calls that must follow one another. */
  criticalPathCalls: number;
  calibrationMs: number;
  makespanMs: number;
  lowerBoundMs: number;
  ratio: number;
  stageBoundMs: number;
  stageRatio: number;
  slotUtilisation: number;
}

export async function measureMakespan(natsUrl: string, input: { title: string; papers: unknown[] }, o: { replicas: number; slots: number; latencyMs: number }): Promise<MakespanResult> {
  say(`(b) V2 on ${input.papers.length} papers, every call ${o.latencyMs} ms: calibration with unlimited slots, then ${o.replicas} × ${o.slots} slots`);
  const r = await measureFleet({ natsUrl, input, replicas: o.replicas, slots: o.slots, latencyMs: o.latencyMs, seed: 1, mappers: 1, prefetch: 2, fleets: ['narrow'], say: (line) => say(`(b) ${line.trim()}`) });
  const run = r.runs[0];
  return {
    papers: r.papers, replicas: o.replicas, slots: o.slots, latencyMs: o.latencyMs, calls: run.calls, criticalPathCalls: r.criticalPathRounds,
    calibrationMs: r.calibrationMs, makespanMs: run.makespanMs, lowerBoundMs: run.boundMs, ratio: run.ratio,
    stageBoundMs: run.stageBoundMs, stageRatio: run.stageRatio, slotUtilisation: run.slotUtilisation,
  };
}

import { describe, expect, it } from 'vitest';
import { roundsOf, stageReport, stageRow, type Sample } from '../../bench/fleet-stats.ts';

/** Samples every 10 ms of a fleet whose calls (start, end in ms) are given; busy = slot-ms so far. */
function samplesOf(calls: [number, number][], until: number): Sample[] {
  const out: Sample[] = [];
  for (let t = 0; t <= until; t += 10) {
    const running = calls.filter(([s, e]) => s <= t && t < e).length;
    const started = calls.filter(([s]) => s <= t).length;
    const busy = calls.reduce((n, [s, e]) => n + Math.max(0, Math.min(t, e) - s), 0);
    out.push({ t, running, started, busy });
  }
  return out;
}

describe('fleet benchmark statistics', () => {
  it('counts dependent rounds by call starts, not by busy periods', () => {
    // Round 1: three calls starting within 40 ms; round 2 starts when the first call of round 1
    // ends (no idle gap in between); round 3 after a pause.
    const calls: [number, number][] = [[0, 1000], [20, 1020], [40, 1040], [1000, 2000], [2500, 3500]];
    expect(roundsOf(samplesOf(calls, 3600), 1000)).toBe(3);
  });

  it('reads calls, slot use and the cluster time around the calls of one stage', () => {
    // A stage from 0 to 2300 ms on 4 slots: 8 calls of 1 s in two rounds, the first starting at 100 ms.
    const calls: [number, number][] = [...[100, 110, 120, 130].map((s) => [s, s + 1000] as [number, number]), ...[1100, 1110, 1120, 1130].map((s) => [s, s + 1000] as [number, number])];
    const row = stageRow('digest', samplesOf(calls, 2400), 0, 2300, 4, 1000);
    expect(row.calls).toBe(8);
    expect(row.rounds).toBe(2);
    expect(row.boundMs).toBe(2000); // max(2 rounds, ⌈8 / 4⌉) × L
    expect(row.leadMs).toBe(100);
    expect(row.spreadMs).toBe(1030);
    expect(row.tailMs).toBeGreaterThanOrEqual(160);
    expect(row.activeUtilisation).toBeGreaterThan(0.95);
    expect(row.activeUtilisation).toBeLessThanOrEqual(1);
  });

  it('bounds a stage by its calls over the slots when that exceeds its critical path', () => {
    const calls: [number, number][] = Array.from({ length: 10 }, (_, i) => [Math.floor(i / 4) * 1000, Math.floor(i / 4) * 1000 + 1000]);
    const rows = stageReport(samplesOf(calls, 3100), new Map([['digest', { started: 0, finished: 3050 }]]), 4, 1000, new Map([['digest', 1]]));
    expect(rows[0].calls).toBe(10);
    expect(rows[0].boundMs).toBe(3000); // ⌈10 / 4⌉ rounds, although the stage's own critical path is one call
  });

  it('gives an empty row for a stage without calls', () => {
    const row = stageRow('group', samplesOf([], 100), 0, 50, 4, 1000);
    expect(row).toMatchObject({ calls: 0, boundMs: 0, activeUtilisation: 0 });
  });
});

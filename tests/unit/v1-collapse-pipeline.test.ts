import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { groupByBudget, settledGroups, type CostFn } from '../../shared/algo/collapse.ts';

type Rec = { id: number; tokens: number };
// The label "Record i" grows with the position, as the real cost does.
const cost: CostFn<Rec> = (r, position) => r.tokens + String(position).length;
const recs = (tokens: number[]): Rec[] => tokens.map((t, id) => ({ id, tokens: t }));
const ids = (groups: Rec[][]) => groups.map((g) => g.map((r) => r.id));

describe('pipelined collapse grouping (settledGroups)', () => {
  it('the groups settled from any prefix are the leading groups of the grouping of all records', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 200 }),
        fc.array(fc.integer({ min: 1, max: 260 }), { minLength: 1, maxLength: 80 }),
        fc.nat(),
        (budget, tokens, cut) => {
          const all = recs(tokens.map((t) => Math.max(1, Math.round((t * budget) / 200))));
          const full = ids(groupByBudget(all, budget, cost));
          const k = cut % (all.length + 1);
          const settled = ids(settledGroups(all.slice(0, k), false, budget, cost));
          expect(settled).toEqual(full.slice(0, settled.length));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('lone over-budget records, which merge with their neighbours, never change a settled group', () => {
    // Alternating huge and small records force the fan-in repairs on every other group.
    const budget = 100;
    const all = recs(Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 95 : i % 3 === 1 ? 40 : 70)));
    const full = ids(groupByBudget(all, budget, cost));
    let before: number[][] = [];
    for (let k = 0; k <= all.length; k++) {
      const settled = ids(settledGroups(all.slice(0, k), false, budget, cost));
      expect(settled).toEqual(full.slice(0, settled.length));
      expect(settled.slice(0, before.length)).toEqual(before); // settled groups only ever grow
      before = settled;
    }
  });

  it('settles groups while records are still arriving, and all of them once the prefix is complete', () => {
    const all = recs(Array.from({ length: 40 }, () => 30));
    const budget = 100;
    const half = settledGroups(all.slice(0, 20), false, budget, cost);
    expect(half.length).toBeGreaterThanOrEqual(3);
    expect(half.flat().every((r) => r.id < 20)).toBe(true);
    expect(ids(settledGroups(all, true, budget, cost))).toEqual(ids(groupByBudget(all, budget, cost)));
  });

  it('settles nothing from a prefix too short to have closed groups after it', () => {
    const all = recs([30, 30, 30, 30, 30, 30]);
    expect(settledGroups(all, false, 100, cost)).toEqual([]);
    expect(settledGroups([], false, 100, cost)).toEqual([]);
  });
});

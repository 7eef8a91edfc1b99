import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng } from '../../shared/algo/rng.ts';
import { acceptBest, bestOf, combinations, poolGroups, poolingTriggered, sampleGroups, topKResidual } from '../../shared/algo/sampling.ts';

const scoreArb = fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constant(0), fc.constant(-1), fc.constant(Number.NaN));

describe('sampleGroups', () => {
  it('draws groups of min(k, n) distinct indices, with no repeated group until every combination is used', () => {
    fc.assert(
      fc.property(fc.array(scoreArb, { maxLength: 9 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 40 }), fc.integer(), (scores, k, count, seed) => {
        const groups = sampleGroups(createRng(seed), scores, k, count);
        const n = scores.length;
        if (n === 0) {
          expect(groups).toEqual([]);
          return;
        }
        const width = Math.min(k, n);
        expect(groups).toHaveLength(count);
        for (const g of groups) {
          expect(g).toHaveLength(width);
          expect(new Set(g).size).toBe(width);
          expect([...g].sort((a, b) => a - b)).toEqual(g);
          for (const i of g) expect(i >= 0 && i < n).toBe(true);
        }
        // The first C(n, width) groups are all different.
        const firstAll = groups.slice(0, combinations(n, width)).map((g) => g.join(','));
        expect(new Set(firstAll).size).toBe(firstAll.length);
      }),
      { numRuns: 300 },
    );
  });

  it('is safe with all-zero scores (uniform) and with fewer positive scores than k', () => {
    const zero = sampleGroups(createRng(3), [0, 0, 0, 0, 0], 3, 10);
    expect(new Set(zero.map((g) => g.join(','))).size).toBe(10); // C(5,3) = 10: every combination once
    // The weighted candidate comes first in every group while unused groups with it remain.
    const few = sampleGroups(createRng(4), [5, 0, 0, 0], 3, 4);
    expect(few.slice(0, 3).every((g) => g.includes(0))).toBe(true);
    expect(few[3]).toEqual([1, 2, 3]);
  });

  it('handles a pool smaller than the kernel width: the whole pool, repeated once all combinations are used', () => {
    expect(sampleGroups(createRng(1), [2, 7], 3, 4)).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(sampleGroups(createRng(1), [0], 3, 2)).toEqual([[0], [0]]);
  });

  it('draws in proportion to score', () => {
    const counts = [0, 0, 0];
    for (const g of sampleGroups(createRng(9), [8, 1, 1], 1, 3)) counts[g[0]]++;
    expect(counts).toEqual([1, 1, 1]); // only 3 combinations: each used once
    const many = [0, 0];
    const rng = createRng(10);
    for (let t = 0; t < 400; t++) many[sampleGroups(rng, [9, 1], 1, 1)[0][0]]++;
    expect(many[0]).toBeGreaterThan(300);
    expect(many[1]).toBeGreaterThan(10);
  });

  it('ends even when the weights make the unused combinations very unlikely', () => {
    const scores = [10, 10, 10, ...Array(7).fill(1e-12)];
    const groups = sampleGroups(createRng(2), scores, 3, 12);
    expect(new Set(groups.map((g) => g.join(','))).size).toBe(12);
  });

  it('is a function of the seed', () => {
    fc.assert(
      fc.property(fc.array(scoreArb, { minLength: 1, maxLength: 8 }), fc.integer(), (scores, seed) => {
        expect(sampleGroups(createRng(seed), scores, 3, 10)).toEqual(sampleGroups(createRng(seed), scores, 3, 10));
      }),
    );
  });
});

describe('pooling', () => {
  it('triggers when there are more than k × resultNum suggestions', () => {
    expect(poolingTriggered(30, 3, 10)).toBe(false);
    expect(poolingTriggered(31, 3, 10)).toBe(true);
    fc.assert(fc.property(fc.nat(200), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 20 }), (n, k, r) => poolingTriggered(n, k, r) === n / k > r));
  });

  it('cuts a shuffle of all indices into runs of k', () => {
    fc.assert(
      fc.property(fc.nat(60), fc.integer({ min: 1, max: 6 }), fc.integer(), (n, k, seed) => {
        const groups = poolGroups(createRng(seed), n, k);
        expect(groups).toHaveLength(Math.ceil(n / k));
        expect(groups.slice(0, -1).every((g) => g.length === k)).toBe(true);
        expect(
          groups
            .flat()
            .sort((a, b) => a - b),
        ).toEqual([...Array(n).keys()]);
      }),
    );
  });
});

describe('topKResidual', () => {
  const item = fc.record({ id: fc.nat(), score: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(Number.NaN)) });
  it('keeps the k best of previous ∪ new, previous first among equals', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), fc.array(item, { maxLength: 12 }), fc.integer({ min: 0, max: 10 }), (prev, fresh, k) => {
        const tagged = [...prev.map((p, i) => ({ ...p, from: 'prev', i })), ...fresh.map((p, i) => ({ ...p, from: 'new', i }))];
        const kept = topKResidual(
          tagged.filter((t) => t.from === 'prev'),
          tagged.filter((t) => t.from === 'new'),
          k,
          (t) => t.score,
        );
        const rank = (s: number) => (Number.isNaN(s) ? -Infinity : s);
        expect(kept).toHaveLength(Math.min(k, tagged.length));
        for (let i = 1; i < kept.length; i++) expect(rank(kept[i - 1].score)).toBeGreaterThanOrEqual(rank(kept[i].score));
        const worstKept = kept.length ? rank(kept[kept.length - 1].score) : Infinity;
        for (const t of tagged) if (!kept.includes(t)) expect(rank(t.score)).toBeLessThanOrEqual(worstKept);
        // Stable: among equal scores, input order (previous before new) is kept.
        for (let i = 1; i < kept.length; i++)
          if (rank(kept[i - 1].score) === rank(kept[i].score)) expect(tagged.indexOf(kept[i - 1])).toBeLessThan(tagged.indexOf(kept[i]));
      }),
    );
  });

  it('keeps a strong previous candidate against weaker new ones (the residual)', () => {
    const kept = topKResidual([{ s: 9 }], [{ s: 1 }, { s: 2 }, { s: 3 }], 2, (x) => x.s);
    expect(kept.map((x) => x.s)).toEqual([9, 3]);
  });
});

describe('monotonic acceptance', () => {
  it('never accepts a lower score and keeps the incumbent on ties', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 10, noNaN: true }), fc.array(fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constant(Number.NaN)), { maxLength: 10 }), (inc, pool) => {
        const incumbent = { s: inc };
        const cands = pool.map((s) => ({ s }));
        const got = acceptBest(incumbent, cands, (x) => x.s);
        expect(got.s).toBeGreaterThanOrEqual(inc);
        const top = Math.max(inc, ...pool.filter((s) => !Number.isNaN(s)));
        expect(got.s).toBe(top);
        if (top === inc) expect(got).toBe(incumbent);
      }),
    );
  });

  it('bestOf picks the first of the highest', () => {
    expect(bestOf([{ s: 1, n: 'a' }, { s: 3, n: 'b' }, { s: 3, n: 'c' }], (x) => x.s)?.n).toBe('b');
    expect(bestOf([], (x: { s: number }) => x.s)).toBeUndefined();
  });
});

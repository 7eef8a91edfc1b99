import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { batches, chunk, parseGroupReply, randomGroups, rebalance } from '../../shared/algo/grouping.ts';
import { createRng } from '../../shared/algo/rng.ts';
import { groupOp } from '../../shared/ops/v2/group.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `P${String(i + 1).padStart(3, '0')}`);

/** Arbitrary "model replies": groups mixing known ids, repeats and made-up ids. */
const reply = fc.integer({ min: 0, max: 60 }).chain((n) =>
  fc.record({
    known: fc.constant(ids(n)),
    size: fc.integer({ min: 1, max: 8 }),
    groups: fc.array(
      fc.array(fc.oneof(fc.integer({ min: 1, max: Math.max(1, n) }).map((i) => ids(Math.max(1, n))[i - 1]), fc.constantFrom('P999', 'X1', ' P001 ', '')), { maxLength: 12 }),
      { maxLength: 20 },
    ),
  }),
);

describe('rebalance', () => {
  it('puts every known paper in exactly one group, whatever the reply', () => {
    fc.assert(
      fc.property(reply, ({ known, size, groups }) => {
        const out = rebalance(groups, size, known).groups.flat();
        expect(out.slice().sort()).toEqual(known.slice().sort());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every group between 1 and the group size', () => {
    fc.assert(
      fc.property(reply, ({ known, size, groups }) => {
        for (const g of rebalance(groups, size, known).groups) {
          expect(g.length).toBeGreaterThanOrEqual(1);
          expect(g.length).toBeLessThanOrEqual(size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves no two groups that would fit together in one group', () => {
    fc.assert(
      fc.property(reply, ({ known, size, groups }) => {
        const sizes = rebalance(groups, size, known).groups.map((g) => g.length).sort((a, b) => a - b);
        if (sizes.length >= 2) expect(sizes[0] + sizes[1]).toBeGreaterThan(size);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a full group of valid, first-listed ids exactly as given', () => {
    fc.assert(
      fc.property(fc.integer({ min: 6, max: 40 }), fc.integer({ min: 2, max: 5 }), (n, size) => {
        const known = ids(n);
        const first = known.slice(0, size);
        const out = rebalance([first, ['P999', known[n - 1]]], size, known).groups;
        expect(out).toContainEqual(first);
      }),
    );
  });

  it('reports unknown, repeated and missing ids', () => {
    const { report, groups } = rebalance([['P001', 'P002', 'NOPE'], ['P002', 'P003']], 3, ['P001', 'P002', 'P003', 'P004']);
    expect(report.unknown).toEqual(['NOPE']);
    expect(report.duplicates).toEqual(['P002']);
    expect(report.missing).toEqual(['P004']);
    expect(groups.flat().sort()).toEqual(['P001', 'P002', 'P003', 'P004']);
  });

  it('splits an oversized group into groups of the requested size', () => {
    const known = ids(7);
    const { groups, report } = rebalance([known], 3, known);
    expect(report.split).toBe(1);
    expect(groups.map((g) => g.length)).toEqual([3, 3, 1]);
  });

  it('rejects a group size below 1', () => {
    expect(() => rebalance([], 0, ['P001'])).toThrow(/at least 1/);
  });
});

describe('random grouping and batches', () => {
  it('cuts a seeded shuffle into groups, the same for the same seed', () => {
    const a = randomGroups(createRng(7), ids(10), 3);
    const b = randomGroups(createRng(7), ids(10), 3);
    expect(a).toEqual(b);
    expect(a.map((g) => g.length)).toEqual([3, 3, 3, 1]);
    expect(a.flat().sort()).toEqual(ids(10));
  });

  it('batches groups without losing any', () => {
    const groups = chunk(ids(20), 3);
    const out = batches(createRng(1), groups, 3);
    expect(out.length).toBe(3);
    expect(out.flat(2).sort()).toEqual(ids(20));
  });
});

describe('parseGroupReply', () => {
  it('harvests bracketed lists of ids from prose', () => {
    const text = 'Group 1 — Papers: [P001, P004]\nReason: both prune heads.\nGroup 2: ["P002", \'P003\'] same idea';
    expect(parseGroupReply(text)).toEqual([
      ['P001', 'P004'],
      ['P002', 'P003'],
    ]);
  });

  it('falls back to one group per line when there are no brackets', () => {
    expect(parseGroupReply('1. P001 P002\n2. P003\nno ids here')).toEqual([['P001', 'P002'], ['P003']]);
  });
});

describe('v2.group offline', () => {
  it('groups papers on shared title words into groups that rebalance to a partition', async () => {
    const titles = [
      'Quantizing the KV cache to two bits',
      'Low-bit KV cache quantization with outliers',
      'Vector quantization of key caches',
      'Evicting tokens by attention score',
      'Token eviction with recency windows',
      'Attention-guided token eviction for long prompts',
      'Retrieval of cached blocks for RAG',
    ];
    const papers = titles.map((title, i) => ({ id: ids(7)[i], title }));
    const out = await groupOp.extractive({ title: 'KV cache', groupSize: 3, papers }, { blobText: async () => '' });
    const fixed = rebalance(out.groups.map((g) => g.ids), 3, ids(7)).groups;
    expect(fixed.flat().sort()).toEqual(ids(7));
    const quant = out.groups.find((g) => g.ids.includes('P001'))!;
    expect(quant.ids).toContain('P002');
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ASPECTS, WEIGHTS, analyseOutline, combine, scoreOutline, sourceProfiles, weakestFirst, type SourceProfile } from '../../shared/algo/entropy.ts';
import { cloneOutline, type OutlineNode } from '../../shared/algo/outline.ts';
import { DIGESTS_SPREAD, DIGESTS_UNBALANCED, OUTLINE, OUTLINE_SPREAD, PAPERS } from './conv-fixture.ts';

const spread = sourceProfiles(DIGESTS_SPREAD, OUTLINE_SPREAD);
const unbalanced = sourceProfiles(DIGESTS_UNBALANCED, OUTLINE);
const noFilings = (ss: SourceProfile[]) => ss.map((s) => ({ ...s, filed: [] }));

describe('source profiles', () => {
  it('summarise each digest by its distinctive terms and where it was filed', () => {
    expect(spread.map((s) => s.id)).toEqual(PAPERS.map((p) => p.id));
    expect(spread[0].filed).toEqual([{ id: 'S1', title: 'Quantization of the Cache' }]);
    expect(spread[4].filed).toEqual([{ id: 'S2', title: 'Token Eviction' }]);
    for (const s of spread) {
      const n = Object.keys(s.terms).length;
      expect(n).toBeGreaterThan(3);
      expect(n).toBeLessThanOrEqual(24);
    }
    expect(Object.keys(spread[0].terms).some((t) => t.includes('quantization'))).toBe(true);
  });

  it('describe a paper whose digest filed nothing by its suggestion', () => {
    const [p] = sourceProfiles([{ paperId: 'P100', sections: {}, suggestion: 'Speculative decoding with draft models deserves a section.' }], OUTLINE);
    expect(p.filed).toEqual([]);
    expect(Object.keys(p.terms)).toContain('speculative');
  });
});

describe('the entropy score', () => {
  it('rates a well-spread outline above one with every paper in one section', () => {
    const good = scoreOutline(OUTLINE_SPREAD, spread);
    const bad = scoreOutline(OUTLINE, unbalanced);
    expect(good.score).toBeGreaterThan(bad.score);
    expect(good.subScores.balance).toBeGreaterThan(bad.subScores.balance);
    expect(bad.analysis.leaves.find((l) => l.id === 'S1')!.sources).toHaveLength(12);
    expect(bad.analysis.emptyLeaves).toEqual(['S2', 'S3']);
    expect(good.analysis.leaves.map((l) => l.sources.length)).toEqual([4, 4, 4]);
  });

  it('is lowered by empty sections', () => {
    const withEmpty = cloneOutline(OUTLINE_SPREAD);
    withEmpty.children.push({ id: 'S4', title: 'Hardware Accelerator Design', construction: 'From each paper, note the accelerator architecture.', analysis: 'Compare designs on area and power.', children: [] });
    const base = scoreOutline(OUTLINE_SPREAD, spread);
    const worse = scoreOutline(withEmpty, spread);
    expect(worse.analysis.emptyLeaves).toEqual(['S4']);
    expect(worse.subScores.structure).toBeLessThan(base.subScores.structure);
    expect(worse.score).toBeLessThan(base.score);
  });

  it('counts sources that fit no section against coverage', () => {
    const off: OutlineNode = {
      ...OUTLINE_SPREAD,
      children: [
        { id: 'S1', title: 'Quantization of the Cache', construction: 'Bit widths and grouping.', analysis: 'Compare [@P001; @P002; @P003; @P004].', children: [] },
        { id: 'S2', title: 'Photonic Interconnects', construction: 'Optical links and lasers.', analysis: 'Contrast waveguide losses.', children: [] },
      ],
    };
    const r = scoreOutline(off, noFilings(spread));
    expect(r.analysis.unplaced.length).toBeGreaterThan(0);
    expect(r.subScores.coverage).toBeLessThan(10);
    expect(r.rationale).toContain(`${r.analysis.unplaced.length} of 12 sources fit no section`);
  });

  it('is lowered when two sections cover the same ground', () => {
    const dup = cloneOutline(OUTLINE_SPREAD);
    dup.children[2] = { ...dup.children[1], id: 'S3', analysis: 'Compare [@P009; @P010; @P011; @P012] on which tokens they keep.' };
    expect(scoreOutline(dup, noFilings(spread)).subScores.distinctness).toBeLessThan(scoreOutline(OUTLINE_SPREAD, noFilings(spread)).subScores.distinctness);
  });

  it('places a source filed under a section into that section’s subtree when the section is split', () => {
    const split = cloneOutline(OUTLINE);
    split.children[0].children = [
      { id: 'S1.1', title: 'Quantization', construction: 'Bits.', analysis: 'Compare [@P001; @P002].', children: [] },
      { id: 'S1.2', title: 'Eviction', construction: 'Budgets.', analysis: 'Compare [@P005].', children: [] },
    ];
    const a = analyseOutline(split, unbalanced);
    expect(a.unplaced).toEqual([]);
    expect(a.leaves.find((l) => l.id === 'S1.1')!.sources).toEqual(expect.arrayContaining(['P001', 'P002']));
  });

  it('keeps every score within 0–10 and the score the weighted mean of the sub-scores', () => {
    const pick = fc.subarray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    fc.assert(
      fc.property(fc.array(fc.record({ title: fc.constantFrom('Quantization', 'Eviction', 'Paging', 'Benchmarks', 'Hardware'), cites: pick }), { minLength: 1, maxLength: 5 }), (secs) => {
        const outline: OutlineNode = {
          id: 'S0',
          title: 'T',
          construction: '',
          analysis: '',
          children: secs.map((s, i) => ({ id: `S${i + 1}`, title: s.title, construction: `Note the ${s.title.toLowerCase()}.`, analysis: s.cites.length ? `Compare [${s.cites.map((c) => `@${PAPERS[c].id}`).join('; ')}].` : '', children: [] })),
        };
        const r = scoreOutline(outline, unbalanced);
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(10);
        for (const a of ASPECTS) expect(r.subScores[a] >= 0 && r.subScores[a] <= 10).toBe(true);
        const recombined = combine(Object.fromEntries(ASPECTS.map((a) => [a, r.subScores[a] / 10])) as Record<(typeof ASPECTS)[number], number>);
        expect(Math.abs(recombined - r.score)).toBeLessThan(1e-3);
        if (outline.children.length < 2) expect(r.subScores.structure).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('orders aspects weakest first and writes a rationale from the numbers', () => {
    expect(weakestFirst({ balance: 5, distinctness: 9, coverage: 2, structure: 5, description: 10 })).toEqual(['coverage', 'balance', 'structure', 'distinctness', 'description']);
    expect(Object.values(WEIGHTS).reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    const r = scoreOutline(OUTLINE, unbalanced);
    expect(r.rationale).toContain('the fullest is S1 "Cache Memory Reduction" with 12');
    expect(r.rationale).toContain('2 leaf section(s) hold no source (S2, S3)');
    expect(r.rationale).toContain(`Weakest aspect: ${weakestFirst(r.subScores)[0]}`);
  });
});

import { describe, expect, it } from 'vitest';
import { joinTables, writingParts } from '../../shared/algo/write-parts.ts';
import { verifyBatches } from '../../shared/algo/verify.ts';

const topics = ['quantization of the key value cache to two bits', 'token eviction by attention scores', 'paged memory allocation for serving'];
const papers = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ paperId: `P${String(i + 1).padStart(3, '0')}`, paperTitle: `${topics[i % 3]} study ${i}`, text: `We study ${topics[i % 3]} and report results on benchmark ${i}.` }));

describe('writing a crowded leaf in parts', () => {
  it('keeps a leaf that fits one reply as one part, in order', () => {
    const ps = papers(12);
    expect(writingParts(ps, 40)).toEqual([ps]);
  });

  it('splits a crowded leaf into parts of at most the limit that cover every paper once, each in input order', () => {
    const ps = papers(87);
    const parts = writingParts(ps, 40);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(40);
      expect(p.map((x) => ps.indexOf(x))).toEqual([...p.map((x) => ps.indexOf(x))].sort((a, b) => a - b));
    }
    expect(parts.flat().map((p) => p.paperId).sort()).toEqual(ps.map((p) => p.paperId));
  });

  it('puts papers on the same approach together', () => {
    const parts = writingParts(papers(90), 30);
    // Each part is mostly one of the three topics (titles and texts share their words).
    for (const p of parts) {
      const counts = topics.map((t) => p.filter((x) => x.paperTitle.startsWith(t)).length);
      expect(Math.max(...counts) / p.length).toBeGreaterThan(0.8);
    }
  });

  it('gives the same parts for the same papers (task ids survive a replay)', () => {
    expect(writingParts(papers(70), 25)).toEqual(writingParts(papers(70), 25));
  });

  it('refuses a part size under one', () => {
    expect(() => writingParts(papers(3), 0)).toThrow(/at least one paper/);
  });

  it('joins the parts’ tables with the same header into one table', () => {
    const head = '| Paper | Year | Approach | What it reports |\n|---|---|---|---|';
    const joined = joinTables([`${head}\n| [@P001] | 2024 | a | x |`, '', `${head}\n| [@P002] | 2025 | b | y |`]);
    expect(joined).toBe(`${head}\n| [@P001] | 2024 | a | x |\n| [@P002] | 2025 | b | y |`);
    expect(joinTables(['', ''])).toBe('');
  });
});

describe('verification batches', () => {
  const sent = (k: number) => ({ keys: Array.from({ length: k }, (_, i) => `P${i}`) });

  it('cuts a long section into tasks of at most the given number of checks, in order', () => {
    const cited = Array.from({ length: 100 }, () => sent(1));
    const b = verifyBatches(cited, 40);
    expect(b.map((x) => x.batch.length)).toEqual([40, 40, 20]);
    expect(b.map((x) => x.from)).toEqual([0, 40, 80]);
  });

  it('counts a sentence citing several sources as several checks, and gives one over the limit a task of its own', () => {
    const b = verifyBatches([sent(3), sent(3), sent(9), sent(1)], 6);
    expect(b.map((x) => x.batch.length)).toEqual([2, 1, 1]);
    expect(b.map((x) => x.from)).toEqual([0, 2, 3]);
  });
});

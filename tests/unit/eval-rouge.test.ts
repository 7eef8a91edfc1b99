import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lcsIndices, rougeLsum, rougeLsumBest, rougeSentences, rougeTokens, summaryLevelLcs, unionLcs } from '../../shared/eval/rouge.ts';

/** LCS length by the textbook recurrence, to check lcsIndices against. */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) t[i][j] = a[i - 1] === b[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
  return t[a.length][b.length];
}

describe('ROUGE tokens and sentences', () => {
  it('keep only lower-cased ASCII letter and digit runs', () => {
    expect(rougeTokens("Don't STOP-me, 42x!")).toEqual(['don', 't', 'stop', 'me', '42x']);
    expect(rougeTokens('café naïve')).toEqual(['caf', 'na', 've']);
    expect(rougeTokens('…')).toEqual([]);
  });
  it('split sentences on newlines only, dropping empty lines but keeping lines with no tokens', () => {
    expect(rougeSentences('A b. C d.\n\nE\n!!!')).toEqual([['a', 'b', 'c', 'd'], ['e'], []]);
  });
});

describe('LCS back-tracking', () => {
  it('steps up on a tie, so [a b] against [b a] keeps the a', () => {
    // T[2][1] = T[1][2] = 1 at the first mismatch: the tie sends the walk up, to the a.
    expect(lcsIndices(['a', 'b'], ['b', 'a'])).toEqual([0]);
  });
  it('steps left when the left cell is strictly larger', () => {
    expect(lcsIndices(['x', 'a'], ['a', 'y'])).toEqual([1]);
  });
  it('returns increasing indices of one longest common subsequence', () => {
    const tok = fc.constantFrom('a', 'b', 'c', 'd');
    fc.assert(
      fc.property(fc.array(tok, { maxLength: 12 }), fc.array(tok, { maxLength: 12 }), (ref, can) => {
        const idx = lcsIndices(ref, can);
        expect(idx.length).toBe(lcsLength(ref, can));
        for (let k = 1; k < idx.length; k++) expect(idx[k]).toBeGreaterThan(idx[k - 1]);
        expect(lcsLength(idx.map((i) => ref[i]), can)).toBe(idx.length);
      }),
    );
  });
});

describe('summary-level union LCS', () => {
  it('reproduces the ROUGE paper example: union of w1 w2 and w1 w3 w5 gives 4 hits', () => {
    const ref = [['w1', 'w2', 'w3', 'w4', 'w5']];
    const can = [
      ['w1', 'w2', 'w6', 'w7', 'w8'],
      ['w1', 'w3', 'w8', 'w9', 'w5'],
    ];
    expect(unionLcs(ref[0], can)).toEqual(['w1', 'w2', 'w3', 'w5']);
    const s = summaryLevelLcs(ref, can);
    expect(s.recall).toBeCloseTo(4 / 5, 12);
    expect(s.precision).toBeCloseTo(4 / 10, 12);
    expect(s.fmeasure).toBeCloseTo(8 / 15, 12);
  });
  it('depends on the tie rule: reference "a b" against "b a" + "a" scores 0.4, not 0.8', () => {
    // Up-on-tie picks a in both sentences: union {a}, 1 hit -> P 1/3, R 1/2, F 0.4.
    // A left-on-tie walk would pick b in the first: union {a, b}, 2 hits -> F 0.8.
    expect(unionLcs(['a', 'b'], [['b', 'a'], ['a']])).toEqual(['a']);
    const s = rougeLsum('b a\na', 'a b');
    expect(s.precision).toBeCloseTo(1 / 3, 12);
    expect(s.recall).toBeCloseTo(1 / 2, 12);
    expect(s.fmeasure).toBeCloseTo(0.4, 12);
  });
  it('counts a token no more often than it occurs on either side', () => {
    // Each reference line finds "a" in the one-line candidate, but the candidate has one "a": one hit.
    const s = rougeLsum('a', 'a\na');
    expect(s.precision).toBe(1);
    expect(s.recall).toBeCloseTo(1 / 2, 12);
  });
  it('scores a sentence split of the reference as a full match', () => {
    expect(rougeLsum('The cat sat.\nOn the mat', 'the cat sat on the mat').fmeasure).toBe(1);
  });
  it('gives zero for empty or token-free sides', () => {
    expect(rougeLsum('', 'a b').fmeasure).toBe(0);
    expect(rougeLsum('a b', '...').fmeasure).toBe(0);
    expect(rougeLsum('x y', 'a b').fmeasure).toBe(0);
  });
  it('takes the reference with the best F, the first one on a tie', () => {
    const best = rougeLsumBest('the cat sat', ['a dog ran', 'the cat sat down', 'cat']);
    expect(best.fmeasure).toBeCloseTo(rougeLsum('the cat sat', 'the cat sat down').fmeasure, 12);
    // Both references give F = 1/3 with different precision and recall: the first one wins.
    expect(rougeLsumBest('a b c d', ['a x', 'a b z z z z z z'])).toMatchObject({ precision: 1 / 4, recall: 1 / 2 });
    expect(rougeLsumBest('a b c d', ['a b z z z z z z', 'a x'])).toMatchObject({ precision: 1 / 2, recall: 1 / 4 });
    expect(rougeLsumBest('a b', []).fmeasure).toBe(0);
  });
  it('stays within 0..1 and gives 1 for a prediction equal to its reference', () => {
    const text = fc.array(fc.constantFrom('the', 'cat', 'sat', '\n', 'Mat.', 'on'), { maxLength: 20 }).map((w) => w.join(' '));
    fc.assert(
      fc.property(text, text, (a, b) => {
        const f = rougeLsum(a, b).fmeasure;
        expect(f).toBeGreaterThanOrEqual(0);
        expect(f).toBeLessThanOrEqual(1);
        if (rougeTokens(a).length > 0) expect(rougeLsum(a, a).fmeasure).toBeCloseTo(1, 12);
      }),
    );
  });
});

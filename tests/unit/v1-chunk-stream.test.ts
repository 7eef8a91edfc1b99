/** The streaming chunker (shared/algo/chunk-stream.ts) against the whole-text chunker. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunkText } from '../../shared/algo/chunk.ts';
import { MAX_PENDING_LINE, RangeSlicer, StreamChunker, type ChunkRange } from '../../shared/algo/chunk-stream.ts';
import { countTokens } from '../../shared/algo/tokens.ts';
import { feedInPieces } from '../helpers/pieces.ts';

/** Feed `text` cut at the given sizes (cycled) and collect every chunk. */
const streamed = (text: string, budget: number, sizes: number[]): ChunkRange[] => feedInPieces(text, sizes, new StreamChunker(budget));

// Multi-byte words longer than small budgets ('漢字…🙂🙂', 'привет…мир') force hard cuts whose
// token prefixes can end inside a character.
const word = fc.constantFrom('the', 'grass', 'is', 'green', 'déjà', 'x', '漢字', '🙂', '<|endoftext|>', 'key: 7', 'ab1ab1ab1ab1ab1ab1ab1', '漢字…🙂🙂', 'привет…мир');
const sep = fc.constantFrom(' ', ' ', '  ', '. ', '! ', '\n', '\n\n', '。', '…', '\t');
const textArb = fc.array(fc.tuple(word, sep).map(([w, s]) => w + s), { maxLength: 400 }).map((ps) => ps.join(''));

describe('StreamChunker', () => {
  it('returns the same chunks as chunkText whatever the pieces the text arrives in', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: 4, max: 120 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }), (text, budget, sizes) => {
        const whole = chunkText(text, budget).map(({ index, start, end, tokens }) => ({ index, start, end, tokens }));
        expect(streamed(text, budget, sizes)).toEqual(whole);
      }),
      { numRuns: 150 },
    );
  });

  it('returns chunkText\'s chunks on every call for a word hard-cut inside an emoji (shrunk from seed -1255020490)', () => {
    // The word " 漢字…🙂" is over the budget; its best 6-token prefix ends inside the emoji, and
    // the tokenizer's decoder used to carry those bytes into the next call, so the cut (and so
    // the chunks) alternated between calls.
    const text = ' 漢字…🙂\n';
    for (let round = 0; round < 3; round++) {
      const whole = chunkText(text, 6).map(({ index, start, end, tokens }) => ({ index, start, end, tokens }));
      expect(whole).toEqual([
        { index: 0, start: 0, end: 4, tokens: 5 },
        { index: 1, start: 4, end: 7, tokens: 3 },
      ]);
      expect(streamed(text, 6, [3])).toEqual(whole);
    }
  });

  it('matches chunkText on a long multi-line document fed in object-store-sized pieces', () => {
    const para = 'The pass key is hidden somewhere. Keep reading; it is not here! 漢字も少し。\n';
    const text = Array.from({ length: 6000 }, (_, i) => `${i}: ${para}`).join('');
    const whole = chunkText(text, 500).map(({ index, start, end, tokens }) => ({ index, start, end, tokens }));
    expect(whole.length).toBeGreaterThan(50);
    expect(streamed(text, 500, [128 * 1024, 7, 40_000])).toEqual(whole);
  });

  it('cuts a line longer than the pending limit early and still covers the text within budget', () => {
    const text = 'word '.repeat(Math.ceil((MAX_PENDING_LINE * 1.5) / 5)) + 'end.';
    const chunks = streamed(text, 2000, [64 * 1024]);
    let pos = 0;
    for (const [i, c] of chunks.entries()) {
      expect(c.index).toBe(i);
      expect(c.start).toBe(pos);
      expect(c.tokens).toBe(countTokens(text.slice(c.start, c.end)));
      expect(c.tokens).toBeLessThanOrEqual(2000);
      pos = c.end;
    }
    expect(pos).toBe(text.length);
  });

  it('returns nothing for an empty text and refuses a budget too small for one code point', () => {
    expect(streamed('', 10, [5])).toEqual([]);
    expect(() => new StreamChunker(3)).toThrow(/at least 4 tokens/);
  });
});

describe('RangeSlicer', () => {
  it('cuts each range out of text arriving in pieces', () => {
    const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(20);
    const ranges = [
      { start: 0, end: 3 },
      { start: 3, end: 100 },
      { start: 150, end: 151 },
      { start: 200, end: 520 },
    ];
    const s = new RangeSlicer(ranges);
    const got: Array<[number, string]> = [];
    for (let pos = 0; pos < text.length; pos += 33) got.push(...s.push(text.slice(pos, pos + 33)));
    expect(got).toEqual(ranges.map((r, i) => [i, text.slice(r.start, r.end)]));
  });
});

/** Token counting and chunking by token budget (shared/algo/tokens.ts, shared/algo/chunk.ts). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { budgetFor, chunkText, type Chunk } from '../../shared/algo/chunk.ts';
import { countMessageTokens, countTokens, tokenPrefixLength } from '../../shared/algo/tokens.ts';

const NOISE = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n';
const passkeyDoc = (key: string, before: number, after: number) =>
  NOISE.repeat(before) + `The pass key is ${key}. Remember it. ${key} is the pass key.\n` + NOISE.repeat(after);

/** The structural guarantees every chunking must meet. */
function expectValidChunks(text: string, budget: number, chunks: Chunk[]): void {
  expect(chunks.map((c) => c.text).join('')).toBe(text);
  let pos = 0;
  chunks.forEach((c, i) => {
    expect(c.index).toBe(i);
    expect(c.start).toBe(pos);
    expect(c.end).toBeGreaterThan(c.start);
    expect(c.text).toBe(text.slice(c.start, c.end));
    expect(c.tokens).toBe(countTokens(c.text));
    expect(c.tokens).toBeLessThanOrEqual(budget);
    pos = c.end;
  });
  expect(pos).toBe(text.length);
}

// Text built from pieces that stress every split level: words, sentence ends, line breaks,
// blank lines, long spaceless runs, special-token strings, CJK, emoji, lone surrogates.
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('the', 'grass', 'is', 'green', 'pass', 'key', '71432', 'déjà', 'naïve', 'x') },
  { weight: 3, arbitrary: fc.constantFrom(' ', ' ', '  ', '\t') },
  { weight: 2, arbitrary: fc.constantFrom('. ', '! ', '? ', '; ', '.', '\n', '\n\n', '。', '…') },
  { weight: 1, arbitrary: fc.constantFrom('<|endoftext|>', '<|im_start|>', '漢字仮名交じり文', '🙂🙃', '{question}') },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 1500 }).map((n) => 'ab1'.repeat(n)) },
);
const textArb = fc.array(piece, { maxLength: 300 }).map((ps) => ps.join(''));

describe('countTokens', () => {
  it('counts special-token strings in a document as plain text instead of throwing', () => {
    expect(() => countTokens('before <|endoftext|> after <|im_start|>')).not.toThrow();
    expect(countTokens('<|endoftext|>')).toBeGreaterThan(1);
  });

  it('counts a 1 MB run without spaces in linear time and close to its length in tokens', () => {
    const t0 = performance.now();
    const n = countTokens('a'.repeat(1_000_000));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(n).toBeGreaterThan(100_000);
    expect(n).toBeLessThan(200_000);
  });

  it('counts chat messages with their framing tokens on top of the contents', () => {
    const msgs = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'What is the pass key?' },
    ];
    expect(countMessageTokens(msgs)).toBeGreaterThan(countTokens('Be brief.') + countTokens('What is the pass key?'));
  });

  it('finds a prefix at a token boundary that fits the given number of tokens', () => {
    const s = 'supercalifragilisticexpialidocious'.repeat(4);
    const n = tokenPrefixLength(s, 5);
    expect(n).toBeGreaterThan(0);
    expect(countTokens(s.slice(0, n))).toBeLessThanOrEqual(5);
  });

  it('finds the same prefix on every call when the best token prefix would end inside a character', () => {
    // The 6-token prefix of " 漢字…🙂" ends inside the emoji's UTF-8 bytes; the tokenizer's
    // shared decoder used to keep those bytes and prepend them to the next decode.
    const cuts = Array.from({ length: 4 }, () => tokenPrefixLength(' 漢字…🙂', 6));
    expect(cuts).toEqual([4, 4, 4, 4]);
  });
});

describe('chunkText', () => {
  it('returns no chunks for an empty text', () => {
    expect(chunkText('', 100)).toEqual([]);
  });

  it('rejects a budget too small to hold one character', () => {
    expect(() => chunkText('abc', 3)).toThrow(RangeError);
    expect(() => chunkText('abc', 10.5)).toThrow(RangeError);
  });

  it('covers any text exactly, in order, with every chunk within the budget (property)', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: 4, max: 300 }), (text, budget) => {
        expectValidChunks(text, budget, chunkText(text, budget));
      }),
      { numRuns: 250 },
    );
  });

  it('never leaves a tiny last chunk: with two or more chunks the last holds at least a third of the budget (property)', () => {
    const prose = fc
      .array(fc.constantFrom('word ', 'other ', 'longerword ', 'x. ', 'end.\n', 'a ', '\n'), { minLength: 50, maxLength: 1500 })
      .map((ps) => ps.join(''));
    fc.assert(
      fc.property(prose, fc.integer({ min: 16, max: 400 }), (text, budget) => {
        const chunks = chunkText(text, budget);
        expectValidChunks(text, budget, chunks);
        if (chunks.length >= 2) expect(chunks[chunks.length - 1].tokens).toBeGreaterThanOrEqual(Math.floor(budget / 3));
      }),
      { numRuns: 200 },
    );
  });

  it('rebalances a small remainder into two roughly equal final chunks', () => {
    // 100 lines of ~10 tokens with a budget of 600: greedy packing would leave ~400 tokens last.
    const text = Array.from({ length: 100 }, (_, i) => `line ${i} has a few plain words in it.\n`).join('');
    const chunks = chunkText(text, 600);
    expectValidChunks(text, 600, chunks);
    const [a, b] = chunks.slice(-2).map((c) => c.tokens);
    expect(Math.abs(a - b)).toBeLessThan(0.2 * (a + b));
    expect(chunks.every((c) => c.text.endsWith('\n'))).toBe(true);
  });

  it('cuts at line ends when lines fit, at sentence ends inside an over-long line, at word boundaries inside an over-long sentence', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `Line number ${i} says something short.\n`).join('');
    for (const c of chunkText(lines, 50)) expect(c.text.endsWith('\n')).toBe(true);

    const oneLine = Array.from({ length: 80 }, (_, i) => `Sentence ${i} is here.`).join(' ');
    const bySentence = chunkText(oneLine, 40);
    expect(bySentence.length).toBeGreaterThan(2);
    for (const c of bySentence.slice(0, -1)) expect(c.text).toMatch(/\.$/);

    const oneSentence = Array.from({ length: 400 }, (_, i) => `w${i % 7}ord`).join(' ');
    const byWord = chunkText(oneSentence, 30);
    for (const c of byWord.slice(1)) expect(c.text.startsWith(' ')).toBe(true);
  });

  // About 0.4 s on an idle machine; the bound only catches quadratic behaviour (minutes).
  it('chunks a 1 MB line with no spaces in linear time, cutting it hard within the budget', () => {
    const text = 'x7Q'.repeat(350_000);
    const t0 = performance.now();
    const chunks = chunkText(text, 3000);
    const ms = performance.now() - t0;
    console.log(`1 MB spaceless line: ${chunks.length} chunks in ${ms.toFixed(0)} ms`);
    expectValidChunks(text, 3000, chunks);
    expect(ms).toBeLessThan(15_000);
    expect(chunks.length).toBeGreaterThan(10);
  });

  it('chunks text full of special-token strings without throwing', () => {
    const text = 'Start <|endoftext|> middle <|fim_prefix|> and <|im_end|>.\n'.repeat(300);
    expectValidChunks(text, 64, chunkText(text, 64));
  });

  it('chunks a 128k-token passkey haystack in well under two seconds, keeping the needle line whole', () => {
    const text = passkeyDoc('71432', 2610, 2610);
    expect(countTokens(text)).toBeGreaterThan(120_000);
    const t0 = performance.now();
    const chunks = chunkText(text, 3400);
    const ms = performance.now() - t0;
    console.log(`128k-token passkey haystack: ${chunks.length} chunks in ${ms.toFixed(0)} ms`);
    expectValidChunks(text, 3400, chunks);
    expect(ms).toBeLessThan(2000);
    const withNeedle = chunks.filter((c) => c.text.includes('71432'));
    expect(withNeedle).toHaveLength(1);
    expect(withNeedle[0].text).toContain('The pass key is 71432. Remember it. 71432 is the pass key.\n');
  });

  it('does not part a JSON key from its value when a word boundary nearby will do', () => {
    const pairs = Array.from({ length: 400 }, (_, i) => `"key-${i}-${(i * 7919) % 10007}": "value-${(i * 104729) % 99991}"`);
    const text = `JSON data:\n{${pairs.join(', ')}}`;
    const chunks = chunkText(text, 200);
    expectValidChunks(text, 200, chunks);
    for (const c of chunks.slice(0, -1)) expect(c.text).not.toMatch(/:\s*$/);
  });
});

describe('budgetFor', () => {
  it('leaves window − prompt − reserved output − question tokens for the document', () => {
    expect(budgetFor({ window: 4096, promptTokens: 450, maxOutputTokens: 300, questionTokens: 46 })).toBe(3300);
  });

  it('throws a clear error naming the window to raise when nothing is left', () => {
    expect(() => budgetFor({ window: 1000, promptTokens: 600, maxOutputTokens: 300, questionTokens: 100 })).toThrow(
      /window 1000 .* Raise the window above 1000/,
    );
    expect(() => budgetFor({ window: 512, promptTokens: 450, maxOutputTokens: 1500, questionTokens: 10 })).toThrow(/above 1960/);
  });
});

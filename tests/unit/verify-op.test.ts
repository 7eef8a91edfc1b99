/** The v2.verify op: offline verdicts and rewrites from the source texts it reads by key, and the model-facing parts. */
import { describe, expect, it } from 'vitest';
import { verifyOp, rewriteFrom, pairsOf, type VerifyInput } from '../../shared/ops/v2/verify.ts';

const TEXTS: Record<string, string> = {
  'jobs/j/papers/P1.txt':
    '# Introduction\nWe study key-value cache quantization for long prompts. KIVI stores keys per channel and values per token in 2 bits. ' +
    'On LLaMA-2-7B the method reduces peak memory by 2.6 times with less than 1% accuracy loss on LongBench.',
  'jobs/j/papers/P2.txt': 'Token eviction keeps a small budget of important entries. The policy scores tokens by accumulated attention and keeps heavy hitters with a recent window.',
};
const read: string[] = [];
const env = {
  blobText: async (k: string) => {
    read.push(k);
    if (!(k in TEXTS)) throw new Error(`no blob ${k}`);
    return TEXTS[k];
  },
};

const input = (sentences: string[]): VerifyInput =>
  verifyOp.input.parse({
    section: '1.1',
    sentences: sentences.map((text, id) => ({ id, text })),
    sources: [
      { id: 'P1', key: 'jobs/j/papers/P1.txt' },
      { id: 'P2', key: 'jobs/j/papers/P2.txt' },
    ],
  });

describe('v2.verify offline', () => {
  it('reads the cited sources by key and supports a sentence taken from its source', async () => {
    read.length = 0;
    const out = await verifyOp.extractive(input(['KIVI stores keys per channel and values per token in 2 bits [@P1].']), env);
    expect(read.sort()).toEqual(['jobs/j/papers/P1.txt', 'jobs/j/papers/P2.txt']);
    expect(out.checks).toEqual([expect.objectContaining({ sentence: 0, key: 'P1', supported: true })]);
    expect(verifyOp.output.safeParse(out).success).toBe(true);
  });

  it('flags a wrong number and offers the source sentence that says what the claim is about', async () => {
    const out = await verifyOp.extractive(input(['On LLaMA-2-7B the method reduces peak memory by 5 times [@P1].']), env);
    expect(out.checks[0]).toMatchObject({ key: 'P1', supported: false, missing: ['5'] });
    expect(out.checks[0].rewrite).toBe('On LLaMA-2-7B the method reduces peak memory by 2.6 times with less than 1% accuracy loss on LongBench.');
  });

  it('never offers a first-person or heading sentence as a rewrite', () => {
    expect(rewriteFrom('We quantize the cache to 2 bits per channel. Other text follows here about nothing.', 'The cache is quantized to 3 bits per channel')).toBeNull();
  });
});

describe('v2.verify with a model', () => {
  it('shows each sentence with the best passage of its source, fenced as data', async () => {
    const msgs = await verifyOp.prompt(input(['KIVI stores keys per channel in 2 bits [@P1], while eviction keeps heavy hitters [@P2].']), env);
    const user = msgs[1].content;
    expect(user).toMatch(/Check: sentence 0, key P1/);
    expect(user).toMatch(/Check: sentence 0, key P2/);
    expect(user).toMatch(/Passage of P1 \(data, not instructions\):\n```text\n[^`]*KIVI stores keys/);
    expect(user).not.toMatch(/\[@P1\]/);
  });

  it('asks again for checks the reply left out, and keeps only the pairs it asked about', () => {
    const inp = input(['KIVI stores keys in 2 bits [@P1; @P2].']);
    expect(pairsOf(inp)).toEqual([
      { sentence: 0, key: 'P1' },
      { sentence: 0, key: 'P2' },
    ]);
    const reply = verifyOp.output.parse({
      checks: [
        { sentence: 0, key: 'P1', supported: true, reason: 'stated', evidence: 'KIVI stores keys', rewrite: 'ignored [@P7]' },
        { sentence: 0, key: 'P9', supported: true, reason: 'invented' },
      ],
    });
    expect(verifyOp.check!(reply, inp)[0]).toMatch(/sentence 0 key P2/);
    const fin = verifyOp.finalize!(reply, inp);
    expect(fin.checks).toEqual([{ sentence: 0, key: 'P1', supported: true, reason: 'stated', evidence: 'KIVI stores keys', missing: [] }]);
  });

  it('takes a rewrite of an unsupported claim without any citation the model wrote', () => {
    const inp = input(['KIVI stores keys in 3 bits [@P1].']);
    const fin = verifyOp.finalize!(verifyOp.output.parse({ checks: [{ sentence: 0, key: 'P1', supported: false, reason: 'the passage says 2 bits', rewrite: 'KIVI stores keys in 2 bits [@P2].' }] }), inp);
    expect(fin.checks[0].rewrite).toBe('KIVI stores keys in 2 bits.');
  });
});

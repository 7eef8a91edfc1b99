/** The offline V1 engine: map, collapse and reduce computed from the text alone. */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { chunkText } from '../../shared/algo/chunk.ts';
import { createRng, type Rng } from '../../shared/algo/rng.ts';
import { bm25, stem } from '../../shared/algo/text.ts';
import type { V1Profile } from '../../shared/protocol/schemas.ts';
import { collapseOp, isRelevant, mapOp, NO_RELEVANT_ANSWER, reduceOp, type V1Record } from '../../shared/ops/v1/index.ts';

const DATA = new URL('../../../shared/data/v1/infinitebench/', import.meta.url);
if (!existsSync(DATA)) console.warn(`notice: ${DATA.pathname} is absent; the data-backed passkey check is skipped`);
const env = { blobText: async () => '' };

// InfiniteBench's recipe (../shared/data/README.md).
const NOISE = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n';
const passkey = (key: string, before: number, after: number) =>
  NOISE.repeat(before) + `The pass key is ${key}. Remember it. ${key} is the pass key.\n` + NOISE.repeat(after);
const numberString = (key: string, before: number, after: number) =>
  NOISE.repeat(before) + `The sequence of digits is ${key}. Remember it. ${key} is the sequence of digits.\n` + NOISE.repeat(after);
const INTRO =
  'There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.\n\n';
const hex = (rng: Rng, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rng.int(16)]).join('');
const uuid = (rng: Rng) => `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-a${hex(rng, 3)}-${hex(rng, 12)}`;

async function pipeline(doc: string, question: string, profile: V1Profile, budget = 3300) {
  const chunks = chunkText(doc, budget);
  const mapped: V1Record[] = [];
  for (const c of chunks) mapped.push(await mapOp.extractive({ chunk: { index: c.index, text: c.text }, question, profile }, env));
  const relevant = mapped.filter((r) => isRelevant(r, question));
  const final = await reduceOp.extractive({ records: relevant, question, profile }, env);
  return { chunks, mapped, relevant, final };
}

describe('offline map, collapse and reduce on InfiniteBench retrieval haystacks', () => {
  it('passkey: noise chunks are irrelevant, the needle chunk answers 71432 with confidence 5, reduce answers 71432', async () => {
    const doc = passkey('71432', 1700, 900);
    for (const question of ['What is the pass key?', `${INTRO}What is the pass key?`]) {
      const { chunks, mapped, relevant, final } = await pipeline(doc, question, 'retrieval');
      const needle = chunks.findIndex((c) => c.text.includes('71432'));
      expect(chunks.length).toBeGreaterThan(10);
      mapped.forEach((r, i) => {
        if (i === needle) expect([r.answer, r.confidence, r.irrelevant, r.chunks]).toEqual(['71432', 5, false, [needle]]);
        else expect([r.irrelevant, r.confidence]).toEqual([true, 0]);
      });
      expect(relevant).toHaveLength(1);
      expect(final).toMatchObject({ answer: '71432', confidence: 5, chunks: [needle] });
    }
  });

  it('number_string: the ten-digit sequence is found literally with confidence 5', async () => {
    const key = '3000077442';
    const { relevant, final } = await pipeline(numberString(key, 300, 2000), `${INTRO}What is the sequence of digits?`, 'retrieval');
    expect(relevant.map((r) => [r.answer, r.confidence])).toEqual([[key, 5]]);
    expect(final.answer).toBe(key);
    expect(final.confidence).toBe(5);
  });

  it('kv_retrieval: the value that follows the quoted key is the answer; chunks without the key are irrelevant', async () => {
    const rng = createRng(42);
    const pairs = Array.from({ length: 900 }, () => [uuid(rng), uuid(rng)]);
    const doc = `JSON data:\n{${pairs.map(([k, v]) => `"${k}": "${v}"`).join(', ')}}`;
    const [key, value] = pairs[613];
    const question = `Extract the value corresponding to the specified key in the JSON object below.\n\nKey: "${key}"\nThe value associated with the specified key is: `;
    const { chunks, relevant, final } = await pipeline(doc, question, 'retrieval');
    expect(chunks.length).toBeGreaterThan(3);
    expect(relevant).toHaveLength(1);
    expect(relevant[0]).toMatchObject({ answer: value, confidence: 5, evidence: `"${key}": "${value}"` });
    expect(final.answer).toBe(value);
  });

  it.runIf(existsSync(DATA))('answers the official 8k passkey files rebuilt by the recipe (data-backed)', async () => {
    const rows = readFileSync(new URL('passkey_8192.compact.jsonl', DATA), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of rows.slice(0, 12)) {
      const { final } = await pipeline(passkey(r.answer, r.noise_before, r.noise_after), `${INTRO}What is the pass key?`, 'retrieval', 1000);
      expect(final.answer).toBe(r.answer);
    }
  });
});

describe('offline integration rules', () => {
  const rec = (chunk: number, answer: string, confidence: number, evidence = `evidence ${chunk}`): V1Record => ({
    chunks: [chunk],
    evidence,
    rationale: `rationale ${chunk}`,
    answer,
    confidence,
    irrelevant: false,
  });

  it('retrieval keeps only the 5-point records when there are any', async () => {
    const records = [rec(1, '11111', 4.5), rec(2, '22222', 4.5), rec(3, '71432', 5)];
    const out = await collapseOp.extractive({ records, question: 'What is the pass key?', profile: 'retrieval' }, env);
    expect(out).toMatchObject({ answer: '71432', confidence: 5, chunks: [1, 2, 3], irrelevant: false });
    expect(out.rationale).toMatch(/set 2 aside/);
  });

  it('weighs answers by confidence: two agreeing records at 3 beat one at 4, with a lowered merged confidence', async () => {
    const records = [rec(1, 'Lyme', 4), rec(2, 'bath.', 3), rec(3, 'The Bath', 3)];
    const out = await reduceOp.extractive({ records, question: 'Where do they meet?', profile: 'qa' }, env);
    expect(out.answer.toLowerCase()).toContain('bath');
    expect(out.chunks).toEqual([2, 3]);
    expect(out.confidence).toBeGreaterThan(0);
    expect(out.confidence).toBeLessThanOrEqual(3);
  });

  it('reduces zero records to a plain statement that nothing relevant was found, with confidence 0', async () => {
    const out = await reduceOp.extractive({ records: [], question: 'What is the pass key?', profile: 'retrieval' }, env);
    expect(out).toEqual({ answer: NO_RELEVANT_ANSWER, rationale: expect.any(String), confidence: 0, chunks: [] });
  });

  it('collapses only irrelevant records into an irrelevant record', async () => {
    const none = { ...rec(4, '[NO INFORMATION]', 0), irrelevant: true };
    const out = await collapseOp.extractive({ records: [none, { ...none, chunks: [5] }], question: 'q?', profile: 'qa' }, env);
    expect(out).toMatchObject({ irrelevant: true, confidence: 0, chunks: [4, 5] });
  });

  it('is deterministic: the same input gives the same record', async () => {
    const input = { chunk: { index: 2, text: passkey('55555', 10, 10) }, question: 'What is the pass key?', profile: 'qa' as const };
    expect(await mapOp.extractive(input, env)).toEqual(await mapOp.extractive(input, env));
  });
});

describe('offline engine on other task shapes', () => {
  it('math: each chunk reports the largest of its numbers and reduce takes the largest of those', async () => {
    const nums = Array.from({ length: 6000 }, (_, i) => (i * 7919) % 10007);
    nums[4321] = 99999;
    const question = 'What is the largest number in the list?';
    const { relevant, final } = await pipeline(`List: ${nums.join(', ')}`, question, 'math', 800);
    expect(relevant.length).toBeGreaterThan(3);
    expect(relevant.filter((r) => r.answer === '99999')).toHaveLength(1);
    expect(final.answer).toBe('99999');
  });

  it('mc: answers with the letter of the option the chunk supports', async () => {
    const text = 'After many years apart, Anne and the captain finally meet again in Bath, at the concert hall.';
    const question = 'Where do Anne and the captain meet again?\nA. London\nB. Bath\nC. Lyme\nD. Kellynch';
    const r = await mapOp.extractive({ chunk: { index: 0, text }, question, profile: 'mc' }, env);
    expect(r).toMatchObject({ answer: 'B', irrelevant: false });
    expect(r.confidence).toBeLessThan(5);
  });

  it('qa: gives a sentence with the question terms when no short answer stands next to them', async () => {
    const text = 'The weather was mild. The term of this Agreement shall continue for an initial period of five years. Nothing else.';
    const r = await mapOp.extractive({ chunk: { index: 0, text }, question: 'How long is the initial term of the agreement?', profile: 'qa' }, env);
    expect(r.answer).toBe('The term of this Agreement shall continue for an initial period of five years.');
    expect(r.confidence).toBeLessThan(5);
  });

  it('sum: map picks central sentences of the chunk and reduce merges them into one text', async () => {
    const text = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0 ? `The harbour town grew around its fishing fleet in year ${i}.` : `Fishing boats and the harbour town traded salt fish number ${i}.`,
    ).join(' ');
    const question = 'Summarize the following book.';
    const { relevant, final } = await pipeline(text, question, 'sum', 200);
    expect(relevant.length).toBeGreaterThan(1);
    for (const r of relevant) expect(text).toContain(r.answer.split(' ').slice(0, 5).join(' '));
    expect(final.answer.length).toBeGreaterThan(0);
    expect(final.answer.split(/\s+/).length).toBeLessThanOrEqual(420);
  });
});

describe('text helpers for the offline engine', () => {
  it('stem folds plurals and possessives but keeps words ending in ss, us or is', () => {
    expect(['digits', 'keys', 'stories', 'boxes', "Anne's", 'pass', 'bus', 'analysis'].map(stem)).toEqual([
      'digit', 'key', 'story', 'box', 'anne', 'pass', 'bus', 'analysis',
    ]);
  });

  it('bm25 scores documents without the query terms 0 and ranks a rarer matched term higher', () => {
    const docs = [['grass', 'green'], ['pass', 'key', 'number'], ['key', 'lock'], ['key', 'door']];
    const s = bm25(['pass', 'key'], docs);
    expect(s[0]).toBe(0);
    expect(s[1]).toBeGreaterThan(s[2]);
    expect(s[2]).toBeCloseTo(s[3]);
  });
});

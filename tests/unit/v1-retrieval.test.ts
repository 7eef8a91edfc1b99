/**
 * General offline retrieval: key-value notations and numbers introduced by wordings that are
 * not InfiniteBench's, found by the offline map step and carried through reduce.
 */
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../shared/algo/chunk.ts';
import { isRelevant, mapOp, reduceOp, type V1Record } from '../../shared/ops/v1/index.ts';
import { askingSentence } from '../../shared/ops/v1/question.ts';
import { findKeyValues, keyPhraseOf } from '../../shared/ops/v1/retrieve.ts';
import type { V1Profile } from '../../shared/protocol/schemas.ts';

const env = { blobText: async () => '' };
const map = (text: string, question: string, profile: V1Profile = 'retrieval') =>
  mapOp.extractive({ chunk: { index: 0, text }, question, profile }, env) as V1Record;

/** Filler prose with no numbers and none of the keys asked below. */
const FILLER =
  'The orchard path winds past the mill. Wind moves the tall reeds by the pond. A heron waits at the edge of the water.\n';

describe('offline retrieval finds a value whatever notation states it', () => {
  const cases: Array<{ name: string; text: string; question: string; answer: string }> = [
    { name: 'YAML under a snake_case key', text: 'service:\n  name: gatehouse\n  access_number: 7781\n  region: north\n', question: 'What is the access number?', answer: '7781' },
    { name: 'an assignment k = v', text: '# limits\nmax_retries = 12\nbackoff = "exponential"\n', question: 'What is the value of max_retries?', answer: '12' },
    { name: 'an arrow k => v', text: 'settings: timeout => 45s; mode => strict', question: 'What is the timeout?', answer: '45s' },
    { name: 'a label with a colon in prose', text: 'Visitor desk notes. Access number: 60417. Bring your badge.', question: 'What is the access number?', answer: '60417' },
    { name: '"the X of Y is Z"', text: 'The capital of Veltria is Marrow Bay, a port on the eastern coast.', question: 'What is the capital of Veltria?', answer: 'Marrow Bay' },
    { name: '"Y\'s X is Z"', text: "Veltria's anthem is Salt and Iron. It is sung at dawn.", question: 'What is the anthem of Veltria?', answer: 'Salt and Iron' },
    { name: 'the value before the key ("Z is the X")', text: 'Write this down. 48213 is the vault code. Do not share it.', question: 'What is the vault code?', answer: '48213' },
    { name: 'a two-column table row', text: '| item | value |\n|---|---|\n| vault code | 55120 |\n| floor | 3 |\n', question: 'What is the vault code?', answer: '55120' },
    { name: 'a column of a table row', text: '| city | population | mayor |\n|---|---|---|\n| Arlow | 12000 | Ena Voss |\n| Lintbury | 8300 | Pell Granger |\n', question: 'Who is the mayor of Lintbury?', answer: 'Pell Granger' },
    { name: 'a quoted key in nested JSON', text: '{"user": {"id": 88, "pin": "0042"}, "active": true}', question: 'What is the value of "pin"?', answer: '0042' },
    { name: 'a Chinese sentence', text: '仓库在城东。保险柜的密码是5093，请不要告诉别人。', question: '保险柜的密码是多少？', answer: '5093' },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => {
      const r = map(FILLER + c.text + FILLER, c.question);
      expect(r.answer, r.rationale).toBe(c.answer);
      expect(r.irrelevant).toBe(false);
      expect(r.confidence).toBe(5);
    });
  }
});

describe('offline retrieval finds numbers the text sets apart in its own words', () => {
  const cases: Array<{ text: string; question: string; answer: string }> = [
    { text: 'The code to remember is 4821. Everything else is noise.', question: 'What is the code?', answer: '4821' },
    { text: 'Please remember 12345 for later.', question: 'What number should I remember?', answer: '12345' },
    { text: 'Keep 90210 in mind; you will be asked for it.', question: 'Which number were you told to keep in mind?', answer: '90210' },
    { text: 'Memorize this: 3141. It opens the gate.', question: 'What is the secret number?', answer: '3141' },
    { text: 'Your PIN, should anyone ask, is 7305.', question: 'What is my PIN?', answer: '7305' },
  ];
  for (const c of cases) {
    it(`"${c.text}" answers "${c.question}"`, () => {
      const r = map(FILLER.repeat(3) + c.text + '\n' + FILLER.repeat(3), c.question);
      expect(r.answer, r.rationale).toBe(c.answer);
      expect(r.confidence).toBeGreaterThanOrEqual(4);
    });
  }

  it('takes no number from a chunk without a cue or the question words', () => {
    const r = map(`${FILLER}The mill was built in 1823 by the river.\n${FILLER}`, 'What is the vault code?');
    expect(r.irrelevant).toBe(true);
  });
});

describe('key phrases from questions', () => {
  const key = (q: string) => keyPhraseOf(q, askingSentence(q));
  it('reads quoted keys exactly and phrase keys without the question frame', () => {
    expect(key('Key: "a1-b2"\nThe value associated with the specified key is: ')).toEqual({ key: 'a1-b2', literal: true });
    expect(key("What is the value of 'retry.limit'?")).toEqual({ key: 'retry.limit', literal: true });
    expect(key('What is the access number mentioned in the text?')).toEqual({ key: 'access number', literal: false });
    expect(key('Tell me the value associated with the key port_main.')).toEqual({ key: 'port_main', literal: false });
    expect(key('保险柜的密码是多少？')).toEqual({ key: '保险柜的密码', literal: false });
    expect(key('How did the story end?')).toBeUndefined();
  });

  it('match a phrase key in snake_case, kebab-case and camelCase spellings', () => {
    const k = { key: 'access number', literal: false };
    for (const t of ['access_number: 1', 'access-number = 1', 'accessNumber: 1', 'ACCESS NUMBER: 1']) expect(findKeyValues(t, k)[0]?.value, t).toBe('1');
  });
});

describe('a haystack with a needle in other words, through map and reduce', () => {
  it('finds the number in the one relevant chunk; every filler chunk is irrelevant', async () => {
    const doc = FILLER.repeat(400) + 'Keep this safe: the access number is 60417, and nobody else knows it.\n' + FILLER.repeat(300);
    const question = 'What is the access number?';
    const chunks = chunkText(doc, 1000);
    const mapped = await Promise.all(chunks.map((c) => mapOp.extractive({ chunk: { index: c.index, text: c.text }, question, profile: 'retrieval' }, env)));
    const relevant = mapped.filter((r) => isRelevant(r, question));
    expect(chunks.length).toBeGreaterThan(5);
    expect(relevant.map((r) => [r.answer, r.confidence])).toEqual([['60417', 5]]);
    const final = await reduceOp.extractive({ records: relevant, question, profile: 'retrieval' }, env);
    expect(final).toMatchObject({ answer: '60417', confidence: 5 });
  });
});

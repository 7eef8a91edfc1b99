/** The simulator answers V1 prompts from the excerpt and the records it is shown, within the schema sent. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collapseOp, mapOp, reduceOp, RecordSchema, renderRecords } from '../../shared/ops/v1/index.ts';
import { answerFrom, optionsOf, recordsOf } from '../../shared/sim/respond/v1.ts';
import { askSim, plain } from './sim-helpers.ts';

const CHUNK = [
  'The harbour town grew around a fish market in the eleventh century.',
  'Its old bridge was built of pale granite quarried twenty miles upstream.',
  'Hidden in this report, the pass key is 68413, and nobody should forget it.',
  'Tourists now come mostly for the summer music festival.',
].join(' ');

describe('sim responders: v1', () => {
  it('v1.map quotes the excerpt sentence that matches the question and answers from it', async () => {
    const r = await askSim(mapOp, { chunk: { index: 3, text: CHUNK }, question: 'What is the pass key?', profile: 'retrieval' });
    expect(r.op).toBe('v1.map');
    expect(r.valid).toBe(true);
    expect(CHUNK).toContain(plain(r.value.evidence.split(/(?<=\.) /)[0]));
    expect(r.value.evidence).toContain('pass key is 68413');
    expect(r.value.answer).toBe('68413');
    expect(r.value.irrelevant).toBe(false);
    expect(r.value.confidence).toBeGreaterThan(2.5);
    expect(r.value.chunks).toEqual([3]);
  });

  it('v1.map marks an excerpt that shares nothing with the question as irrelevant', async () => {
    const r = await askSim(mapOp, { chunk: { index: 0, text: CHUNK }, question: 'Which enzyme catalyses glycolysis?', profile: 'qa' });
    expect(r.valid).toBe(true);
    expect(r.value).toMatchObject({ irrelevant: true, answer: '[NO INFORMATION]', confidence: 0 });
  });

  it('v1.map answers a multiple-choice question with one of its options (also when the schema enumerates them)', async () => {
    const question = 'What was the old bridge built of?\nA. Timber\nB. Pale granite\nC. Steel\nD. Glass';
    const input = { chunk: { index: 1, text: CHUNK }, question, profile: 'mc' as const };
    const free = await askSim(mapOp, input);
    expect(free.value.answer).toBe('B');
    const tight = RecordSchema.extend({ answer: z.enum(['A', 'B', 'C', 'D', '[NO INFORMATION]']) });
    const enumd = await askSim(mapOp, input, { tighten: tight });
    expect(enumd.valid).toBe(true);
    expect(enumd.value.answer).toBe('B');
    expect(optionsOf(question).map((o) => o.letter)).toEqual(['A', 'B', 'C', 'D']);
  });

  it('keeps confidence inside the range the schema states', async () => {
    const tight = RecordSchema.extend({ confidence: z.number().min(1).max(3) });
    const r = await askSim(mapOp, { chunk: { index: 3, text: CHUNK }, question: 'What is the pass key?', profile: 'retrieval' }, { tighten: tight });
    expect(r.valid).toBe(true);
    expect(r.value.confidence).toBeLessThanOrEqual(3);
  });

  it('v1.collapse and v1.reduce settle on the answer with the most confidence behind it, citing its chunks', async () => {
    const rec = (chunks: number[], answer: string, confidence: number) => ({ chunks, evidence: `the text says ${answer}`, rationale: 'read directly', answer, confidence, irrelevant: false });
    const records = [rec([0], '42', 4), rec([2, 3], '17', 2), rec([5], '42', 4.5), { ...rec([6], '[NO INFORMATION]', 0), irrelevant: true }];
    expect(recordsOf(renderRecords(records)).map((r) => [r.answer, r.confidence, r.chunks])).toEqual([
      ['42', 4, [0]],
      ['17', 2, [2, 3]],
      ['42', 4.5, [5]],
      ['[NO INFORMATION]', 0, [6]],
    ]);
    const question = 'What number does the text give?';
    const c = await askSim(collapseOp, { records, question, profile: 'qa' });
    expect(c.valid).toBe(true);
    expect(c.reply).toMatchObject({ answer: '42', confidence: 4.5 });
    expect(c.value).toMatchObject({ answer: '42', irrelevant: false });
    const r = await askSim(reduceOp, { records, question, profile: 'qa' });
    expect(r.valid).toBe(true);
    expect(r.value).toMatchObject({ answer: '42', chunks: [0, 5] });
  });

  it('reads values after the asked-about words', () => {
    expect(answerFrom('The capital of Freedonia is Fredville.', 'What is the capital of Freedonia?')).toBe('Fredville');
    expect(answerFrom('In 1890 the mill closed; 300 workers lost their jobs.', 'How many workers lost their jobs?')).toBe('300');
  });
});

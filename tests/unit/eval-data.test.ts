import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeHaystack, NOISE, NOISE_LINES } from '../../shared/algo/haystack.ts';
import { createRng } from '../../shared/algo/rng.ts';
import {
  buildQuestion, DataError, detectFormat, fromInfiniteBench, fromLEval, groundTruth, loadBenchFile, mathTarget, parseJsonl,
  parseTokens, PUBLISHED_V1, spread, syntheticItems, TASK_PROFILE, taskFromFileName,
} from '../../shared/eval/infinitebench-data.ts';
import { IB_TASKS, meanScore, scoreOne } from '../../shared/eval/infinitebench-score.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DATA = resolve(ROOT, '../shared/data');
const HAVE_DATA = existsSync(join(DATA, 'v1'));
if (!HAVE_DATA) console.warn(`[eval-data] data-backed tests skipped: ${DATA} is absent`);

describe('questions (§12.3)', () => {
  it('carry the input of every task and never inline the document', () => {
    for (const t of IB_TASKS) {
      const q = buildQuestion(t, 'QUESTION-INPUT-7', ['w', 'x', 'y', 'z']);
      if (t !== 'longbook_sum_eng' || q.includes('QUESTION-INPUT-7')) expect(q).toContain('QUESTION-INPUT-7');
      expect(q).not.toMatch(/\{context\}|\{input\}/);
    }
  });
  it('list the options as lettered lines for the choice tasks', () => {
    const q = buildQuestion('longbook_choice_eng', 'Who walks?', ['Walking Georgie', 'Bob', 'Carol', 'Dan']);
    expect(q).toContain('A. Walking Georgie\nB. Bob\nC. Carol\nD. Dan');
    expect(buildQuestion('code_debug', '', ['f', 'g', 'h', 'i'])).toContain('D. i');
  });
  it('name the Math.Find target taken from the input', () => {
    const input = 'You should answer with only one number, no other words. The largest number of the list is: ';
    expect(mathTarget(input)).toBe('the largest number');
    expect(buildQuestion('math_find', input)).toMatch(/^Find the largest number in the list/);
    expect(mathTarget('no target here')).toBeUndefined();
  });
  it('do not tell the En.Dia model that the dialogue is missing', () => {
    const q = buildQuestion('longdialogue_qa_eng', '');
    expect(q).toContain('$$MASK$$');
    expect(q).not.toMatch(/---|end of dialogue|below is a dialogue/i);
  });
  it('map every task to a V1 profile', () => {
    expect(TASK_PROFILE.passkey).toBe('retrieval');
    expect(TASK_PROFILE.longbook_sum_eng).toBe('sum');
    expect(TASK_PROFILE.longbook_choice_eng).toBe('mc');
    expect(TASK_PROFILE.code_debug).toBe('code');
    expect(TASK_PROFILE.math_find).toBe('math');
    expect(TASK_PROFILE.longbook_qa_chn).toBe('qa');
  });
});

describe('ground truth and loaders', () => {
  it('turn a choice answer into [option text, letter]', () => {
    const opts = ['w', 'x', 'y', 'z'];
    expect(groundTruth('longbook_choice_eng', 'y', opts)).toEqual(['y', 'C']);
    expect(groundTruth('code_debug', ['x'], opts)).toEqual(['x', 'B']);
    expect(groundTruth('code_debug', ['q', 'D'], opts)).toEqual(['q', 'D']);
    expect(() => groundTruth('longbook_choice_eng', 'nope', opts)).toThrow(DataError);
    expect(groundTruth('math_find', [88], [])).toEqual([88]);
  });
  it('read InfiniteBench rows with their id, question and profile', () => {
    const rows = parseJsonl('{"id": 5, "context": "doc", "input": "Who?", "answer": ["Ann"], "options": []}\n\n');
    const [item] = fromInfiniteBench(rows, 'longbook_qa_eng');
    expect(item).toMatchObject({ id: '5', task: 'longbook_qa_eng', profile: 'qa', context: 'doc', label: ['Ann'] });
    expect(item.question).toContain('Who?');
  });
  it('expand L-Eval documents into one item per instruction', () => {
    const rows = [{ input: 'doc', instructions: ['q1', 'q2'], outputs: ['a1', 'a2'], evaluation: 'f1' }];
    const items = fromLEval(rows, 'legal');
    expect(items.map((i) => [i.id, i.task, i.profile, i.question, i.label])).toEqual([
      ['legal-0-0', 'longbook_qa_eng', 'qa', 'q1', ['a1']],
      ['legal-0-1', 'longbook_qa_eng', 'qa', 'q2', ['a2']],
    ]);
    expect(() => fromLEval([{ ...rows[0], evaluation: 'bleu' }], 'x')).toThrow(/no automatic metric/);
    const judged = fromLEval([{ ...rows[0], evaluation: 'LLM' }, { ...rows[0], evaluation: 'rouge' }], 'mixed');
    expect(judged.map((i) => i.task)).toEqual(['longbook_sum_eng', 'longbook_sum_eng', 'longbook_sum_eng', 'longbook_sum_eng']);
  });
  it('recognise each file format from its first record', () => {
    expect(detectFormat({ id: 0, context: '', input: '' })).toBe('infinitebench');
    expect(detectFormat({ input: '', instructions: [], outputs: [] })).toBe('leval');
    expect(detectFormat({ answer: '1', noise_before: 0, noise_after: 1, len: 26 })).toBe('compact');
    expect(detectFormat({ id: 0, answer: '1', noise_before: 0, noise_after: 1 })).toBe('official');
    expect(detectFormat({ id: 0, answer: 'u' })).toBe('answers-only');
    expect(taskFromFileName('/x/number_string_official_answers.jsonl')).toBe('number_string');
    expect(taskFromFileName('longbook_qa_eng.jsonl')).toBe('longbook_qa_eng');
    expect(() => loadBenchFile('{"id": 0, "answer": "u"}', 'kv_retrieval_official_answers.jsonl')).toThrow(/cannot be rebuilt/);
    expect(() => parseJsonl('{"a": 1}\nnot json', 'f.jsonl')).toThrow(/line 2 of f.jsonl/);
  });
});

describe('synthetic items', () => {
  it('spread the needle evenly from the first noise line to the last', () => {
    const items = syntheticItems('passkey', 32768, 5, 1);
    expect(items[0].context).toBe(makeHaystack('passkey', 32768, createRng(1), 0).context);
    expect(items.map((i) => i.noiseBefore)).toEqual([0, 1, 2, 3, 4].map((k) => Math.round((1305 * k) / 4)));
    for (const it of items) {
      expect(it.context.split('\n')[it.noiseBefore!]).toContain(String((it.label as string[])[0]));
      expect(scoreOne('passkey', `The pass key is ${(it.label as string[])[0]}.`, it.label)).toBe(1);
    }
  });
  it('are reproducible from the seed', () => {
    expect(syntheticItems('kv_retrieval', 4096, 3, 9)).toEqual(syntheticItems('kv_retrieval', 4096, 3, 9));
    expect(syntheticItems('number_string', 4096, 2, 9)[0].label).not.toEqual(syntheticItems('number_string', 4096, 2, 10)[0].label);
  });
  it('read sizes like 32k and pick items evenly', () => {
    expect(parseTokens('32k')).toBe(32768);
    expect(parseTokens('32000')).toBe(32000);
    expect(parseTokens('lots')).toBeNaN();
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)).toEqual([0, 3, 6]);
    expect(spread([1, 2], 5)).toEqual([1, 2]);
  });
});

const rowsOf = (p: string) => parseJsonl(readFileSync(join(DATA, p), 'utf8'), p);
const STEP: Record<number, number> = { 8192: 6, 16384: 12, 32768: 22, 65536: 45, 131072: 90 };

describe.runIf(HAVE_DATA)('real data (../shared/data)', () => {
  for (const size of [8192, 16384, 32768, 65536]) {
    it(`rebuilds the ${size / 1024}k compact passkey contexts line for line`, () => {
      const file = `v1/infinitebench/passkey_${size}.compact.jsonl`;
      const rows = rowsOf(file);
      const { items } = loadBenchFile(readFileSync(join(DATA, file), 'utf8'), file);
      expect(items).toHaveLength(rows.length);
      items.forEach((it, k) => {
        const { noise_before: before, noise_after: after, answer, len } = rows[k] as Record<string, number & string>;
        const needle = `The pass key is ${answer}. Remember it. ${answer} is the pass key.\n`;
        expect(before + after).toBe(NOISE_LINES[size]);
        expect(before % STEP[size]).toBe(0);
        expect(len).toBe(26 * after); // in these files `len` is always 26 x the noise lines after the needle
        expect(it.context.length).toBe((before + after) * NOISE.length + needle.length);
        const lines = it.context.split('\n');
        expect(lines).toHaveLength(before + after + 2);
        expect(`${lines[before]}\n`).toBe(needle);
        expect(it.context.startsWith(NOISE.repeat(before) + needle)).toBe(true);
      });
      const positions = new Set(rows.map((r) => r.noise_before));
      expect(positions.size * 5).toBe(rows.length);
    });
  }

  for (const task of ['passkey', 'number_string'] as const) {
    it(`rebuilds the official ${task} set and scores its answers perfectly, and a shifted list near zero`, () => {
      const file = `v1/infinitebench/${task}_official_answers.jsonl`;
      const { items, name } = loadBenchFile(readFileSync(join(DATA, file), 'utf8'), file);
      expect(name).toBe(task);
      expect(items).toHaveLength(590);
      expect(new Set(items.map((i) => i.noiseBefore)).size).toBe(59);
      for (const it of items) {
        const a = (it.label as string[])[0];
        const needle =
          task === 'passkey'
            ? `The pass key is ${a}. Remember it. ${a} is the pass key.\n`
            : `The sequence of digits is ${a}. Remember it. ${a} is the sequence of digits.\n`;
        const ctx = it.context;
        expect(ctx.length).toBe(NOISE_LINES[131072] * NOISE.length + needle.length);
        expect(ctx.indexOf(needle)).toBe(it.noiseBefore! * NOISE.length);
      }
      const gold = items.map((i) => (i.label as string[])[0]);
      const say = (a: string) => (task === 'passkey' ? `The pass key is ${a}.` : `The sequence of digits is ${a}.`);
      expect(meanScore(items.map((it, k) => scoreOne(task, say(gold[k]), it.label)))).toBe(1);
      expect(meanScore(items.map((it, k) => scoreOne(task, say(gold[(k + 1) % gold.length]), it.label)))).toBeLessThan(0.01);
      expect(STEP[131072] * 58).toBe(NOISE_LINES[131072]);
    });
  }

  it('scores the official kv answers against themselves perfectly, and a shifted list at zero', () => {
    const gold = rowsOf('v1/infinitebench/kv_retrieval_official_answers.jsonl').map((r) => String(r.answer));
    expect(gold).toHaveLength(500);
    expect(meanScore(gold.map((g) => scoreOne('kv_retrieval', `The value is "${g}".`, [g])))).toBe(1);
    expect(meanScore(gold.map((g, k) => scoreOne('kv_retrieval', `"${gold[(k + 1) % 500]}"`, [g])))).toBe(0);
  });

  it('loads the L-Eval files into one item per question', () => {
    const count = (f: string) => loadBenchFile(readFileSync(join(DATA, 'v1/leval', f), 'utf8'), f).items;
    const gov = count('gov_report_summ.jsonl');
    expect(gov).toHaveLength(14);
    expect(gov.every((i) => i.task === 'longbook_sum_eng' && i.profile === 'sum')).toBe(true);
    const legal = count('legal_contract_qa.jsonl');
    expect(legal).toHaveLength(154);
    expect(legal.every((i) => i.task === 'longbook_qa_eng' && i.context.length > 30_000)).toBe(true);
    expect(count('patent_summ.jsonl')).toHaveLength(14);
  });

  it('embeds the published V1 figures exactly as the data README lists them', () => {
    const readme = readFileSync(join(DATA, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| (Retrieve\.KV|Math\.Find|En\.QA|En\.Sum \(ROUGE-Lsum\)|En\.MC) \|(.*)\|$/gm)];
    expect(rows).toHaveLength(5);
    for (const [, name, cells] of rows) {
      const ours = Object.values(PUBLISHED_V1).find((p) => p.name === name)!;
      expect(ours.scores).toEqual(cells.split('|').map((c) => Number(c.trim())));
    }
  });
});

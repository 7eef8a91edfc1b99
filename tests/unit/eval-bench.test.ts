import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { benchCommand, registerBench, resultsTable, summarize, type ItemResult } from '../../cli/commands/bench.ts';

const item = (over: Partial<ItemResult>): ItemResult => ({
  id: 'x', task: 'passkey', answer: '1', prediction: '1', score: 1, correct: true, wallMs: 1000, tasks: 10, modelCalls: 0, ...over,
});

describe('bench results', () => {
  it('average the item scores and wall times and attach the published row of the task', () => {
    const s = summarize('passkey', 32000, 'extractive', 'recipe', [item({}), item({ score: 0, correct: false, wallMs: 3000, tasks: 20 })]);
    expect(s).toMatchObject({ task: 'passkey', metric: 'accuracy', tokens: 32000, n: 2, accuracy: 0.5, meanWallMs: 2000 });
    expect(s.published?.name).toBe('Retrieve.PassKey');
    const table = resultsTable(s);
    expect(table).toContain('| Retrieve.PassKey | 50.00 | 100.00 | 100.00 | 98.81 | 100.00 | 100.00 |');
    expect(table).toContain('mean tasks per item 15');
  });
  it('name the metric and leave out published columns for tasks without a V1 figure', () => {
    const s = summarize('gov_report_summ', null, 'extractive', '/d/gov_report_summ.jsonl', [item({ task: 'longbook_sum_eng', score: 0.25, correct: false, error: 'boom' })]);
    expect(s.published).toBeNull();
    const table = resultsTable(s);
    expect(table).toContain('| gov_report_summ (ROUGE-Lsum F) | 25.00 |');
    expect(table).toContain('1 item(s) failed');
  });
  it('share one bench command between runners', () => {
    const program = new Command();
    registerBench(program);
    benchCommand(program).command('surveyeval');
    const bench = program.commands.filter((c) => c.name() === 'bench');
    expect(bench).toHaveLength(1);
    expect(bench[0].commands.map((c) => c.name())).toEqual(['infinitebench', 'surveyeval']);
  });
});

/** Collapse planning (shared/algo/collapse.ts) with the V1 record rendering it measures. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  budgetFor,
  fitsBudget,
  groupByBudget,
  shrinkToFit,
  totalCost,
  truncateByConfidence,
  type CostFn,
} from '../../shared/algo/collapse.ts';
import { countTokens } from '../../shared/algo/tokens.ts';
import { collapseMessages } from '../../shared/ops/v1/collapse.ts';
import { recordCost, renderRecords, truncateRecord, type V1Record } from '../../shared/ops/v1/record.ts';

interface Item {
  id: number;
  size: number;
}
/** Item cost with a position-dependent label, as "Record 12" costs more than "Record 1". */
const cost: CostFn<Item> = (it, pos) => it.size + String(pos).length;
const itemsArb = fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 0, maxLength: 60 }).map((sizes) => sizes.map((size, id) => ({ id, size })));

const rec = (i: number, evidence: string, answer = `answer ${i}`, confidence = 3): V1Record => ({
  chunks: [i],
  evidence,
  rationale: `reasoning about chunk ${i}`,
  answer,
  confidence,
  irrelevant: false,
});

describe('groupByBudget', () => {
  it('keeps every record once and in order (property)', () => {
    fc.assert(
      fc.property(itemsArb, fc.integer({ min: 10, max: 400 }), (items, budget) => {
        const groups = groupByBudget(items, budget, cost);
        expect(groups.flat().map((i) => i.id)).toEqual(items.map((i) => i.id));
        expect(groups.every((g) => g.length > 0)).toBe(true);
      }),
    );
  });

  it('never leaves a record alone in a group when two or more are given, so a round at least halves the count (property)', () => {
    fc.assert(
      fc.property(itemsArb, fc.integer({ min: 10, max: 400 }), (items, budget) => {
        const groups = groupByBudget(items, budget, cost);
        if (items.length >= 2) {
          expect(groups.every((g) => g.length >= 2)).toBe(true);
          expect(groups.length).toBeLessThanOrEqual(Math.floor(items.length / 2));
        }
      }),
    );
  });

  // Fan-in 2 can force three records together (a lone one next to a pair), so the guarantee
  // is stated for records of which any three fit together.
  it('fits every group in the budget whenever any three records fit together (property)', () => {
    fc.assert(
      fc.property(itemsArb, fc.integer({ min: 10, max: 400 }), (items, budget) => {
        fc.pre(items.every((i) => 3 * cost(i, 100) <= budget));
        for (const g of groupByBudget(items, budget, cost)) expect(totalCost(g, cost)).toBeLessThanOrEqual(budget);
      }),
    );
  });

  it('takes a record from a larger neighbour before merging a lone record over the budget', () => {
    const items = [10, 10, 10, 45].map((size, id) => ({ id, size }));
    const groups = groupByBudget(items, 60, cost);
    expect(groups.map((g) => g.map((i) => i.id))).toEqual([[0, 1], [2, 3]]);
    expect(groups.every((g) => totalCost(g, cost) <= 60)).toBe(true);
  });

  it('shrinks the record count every round until the records fit, within a logarithmic number of rounds', () => {
    let records = Array.from({ length: 100 }, (_, id) => ({ id, size: 30 + (id % 7) * 10 }));
    const budget = 200;
    let rounds = 0;
    while (records.length > 1 && !fitsBudget(records, budget, cost)) {
      const groups = groupByBudget(records, budget, cost);
      const next = groups.map((g, id) => ({ id, size: Math.max(...g.map((i) => i.size)) })); // a merge keeps the largest size
      expect(next.length).toBeLessThan(records.length);
      records = next;
      rounds++;
    }
    expect(fitsBudget(records, budget, cost)).toBe(true);
    expect(rounds).toBeLessThanOrEqual(Math.ceil(Math.log2(100)));
  });

  it('plans with a budget that includes the question, so a long question leaves smaller groups', () => {
    const records = Array.from({ length: 30 }, (_, i) => rec(i, 'The grass is green and the sky is blue. '.repeat(6)));
    const short = 'What is the pass key?';
    const long = `${short} ${'Consider every option carefully before you answer. '.repeat(40)}`;
    const sizes = { window: 1400, promptTokens: 400, maxOutputTokens: 300 };
    const bShort = budgetFor({ ...sizes, questionTokens: countTokens(short) });
    const bLong = budgetFor({ ...sizes, questionTokens: countTokens(long) });
    expect(bLong).toBeLessThan(bShort - 300);
    const gShort = groupByBudget(records, bShort, recordCost);
    const gLong = groupByBudget(records, bLong, recordCost);
    expect(gLong.length).toBeGreaterThan(gShort.length);
    for (const g of gLong) expect(totalCost(g, recordCost)).toBeLessThanOrEqual(bLong);
  });

  it('measures the same labelled text that the collapse prompt sends', () => {
    const group = [rec(3, 'first evidence'), rec(4, 'second evidence'), rec(9, 'third evidence')];
    const sent = collapseMessages({ records: group, question: 'q?', profile: 'qa' })[1].content;
    expect(sent).toContain(renderRecords(group));
    for (const label of ['Record 1 (from chunk 3)', 'Record 2 (from chunk 4)', 'Record 3 (from chunk 9)']) expect(sent).toContain(label);
    const measured = totalCost(group, recordCost);
    expect(Math.abs(measured - countTokens(renderRecords(group)))).toBeLessThanOrEqual(group.length + 2);
  });
});

describe('shrinkToFit and truncateByConfidence', () => {
  it('shortens the records of an over-budget group until it fits, keeping every record and its label', () => {
    const group = [rec(0, 'long evidence sentence. '.repeat(200)), rec(1, 'short evidence')];
    expect(fitsBudget(group, 300, recordCost)).toBe(false);
    const fitted = shrinkToFit(group, 300, recordCost, truncateRecord);
    expect(fitted).toHaveLength(2);
    expect(fitsBudget(fitted, 300, recordCost)).toBe(true);
    expect(fitted[1]).toEqual(group[1]);
    expect(fitted[0].answer).toBe(group[0].answer);
  });

  it('keeps the most confident records that fit, in their original order', () => {
    const records = [rec(0, 'a '.repeat(100), 'x', 2), rec(1, 'b '.repeat(100), 'y', 5), rec(2, 'c '.repeat(100), 'z', 4), rec(3, 'd '.repeat(100), 'w', 1)];
    const one = recordCost(records[1], 1);
    const kept = truncateByConfidence(records, one * 2 + 10, recordCost, (r) => r.confidence, truncateRecord);
    expect(kept.map((r) => r.chunks[0])).toEqual([1, 2]);
  });

  it('shrinks the most confident record when not even it fits alone', () => {
    const records = [rec(0, 'word '.repeat(2000), 'x', 4), rec(1, 'other '.repeat(2000), 'y', 2)];
    const kept = truncateByConfidence(records, 120, recordCost, (r) => r.confidence, truncateRecord);
    expect(kept).toHaveLength(1);
    expect(kept[0].answer).toBe('x');
    expect(recordCost(kept[0], 1)).toBeLessThanOrEqual(120);
  });
});

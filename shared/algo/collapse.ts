/**
 * Collapse planning (V1 §6, with bugs 5, 6 and 7 fixed). Pure: no I/O, generic over the record
 * type. The caller says what one record costs at a given position in its group (its rendered
 * text including the "Record i" label that is also sent, so what is measured is what is sent)
 * and passes a budget computed with `budgetFor`, which subtracts the question's tokens.
 *
 * Guarantees of `groupByBudget`: groups keep the input order and together hold every record
 * once; each group fits the budget where that is possible; and when two or more records are
 * given, no group holds a lone record (fan-in ≥ 2: a lone record takes one from a neighbour or
 * merges with it), so a collapse round always leaves fewer records than it started with. A
 * group that had to exceed the budget to reach fan-in 2 is shrunk with `shrinkToFit`.
 */
export { budgetFor } from './chunk.ts';

/** Tokens of one record rendered at a 1-based position inside its group, label included. */
export type CostFn<T> = (item: T, position: number) => number;
/** A copy of the record cut down so that, rendered at `position`, it costs at most `maxTokens`. */
export type ShrinkFn<T> = (item: T, position: number, maxTokens: number) => T;

/** Summed cost of the records rendered one after another in this order. */
export function totalCost<T>(items: readonly T[], cost: CostFn<T>): number {
  let s = 0;
  for (let i = 0; i < items.length; i++) s += cost(items[i], i + 1);
  return s;
}

/** Whether the records, rendered together in this order, fit the budget. */
export function fitsBudget<T>(items: readonly T[], budget: number, cost: CostFn<T>): boolean {
  return totalCost(items, cost) <= budget;
}

/** Order-preserving greedy grouping under the budget with fan-in ≥ 2 (see the module comment). */
export function groupByBudget<T>(items: readonly T[], budget: number, cost: CostFn<T>): T[][] {
  const groups = greedyGroups(items, budget, cost);
  if (items.length < 2) return groups;
  return enforceFanIn(groups, budget, cost);
}

/** First pass: fill each group until the next record would not fit. */
function greedyGroups<T>(items: readonly T[], budget: number, cost: CostFn<T>): T[][] {
  const groups: T[][] = [];
  let cur: T[] = [];
  let sum = 0;
  for (const item of items) {
    const c = cost(item, cur.length + 1);
    if (cur.length > 0 && sum + c > budget) {
      groups.push(cur);
      cur = [];
      sum = 0;
    }
    sum += cur.length === 0 ? cost(item, 1) : c;
    cur.push(item);
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/**
 * Second pass, left to right: a lone record takes one from a neighbour or merges with it. The
 * decision at a group reads only that group and its two neighbours, and changes only them.
 */
function enforceFanIn<T>(groups: T[][], budget: number, cost: CostFn<T>): T[][] {
  const fits = (g: readonly T[]) => totalCost(g, cost) <= budget;
  for (let i = 0; i < groups.length; ) {
    if (groups[i].length !== 1) {
      i++;
      continue;
    }
    const prev = i > 0 ? groups[i - 1] : undefined;
    const next = i + 1 < groups.length ? groups[i + 1] : undefined;
    const lone = groups[i][0];
    if (prev && prev.length >= 3 && fits([prev[prev.length - 1], lone])) {
      groups[i] = [prev.pop() as T, lone];
    } else if (next && next.length >= 3 && fits([lone, next[0]])) {
      groups[i] = [lone, next.shift() as T];
    } else if (prev && (fits([...prev, lone]) || !next || !fits([lone, ...next]))) {
      // Join the previous group when that fits, or when joining the next one would not fit
      // either: then take the cheaper of the two over-budget merges.
      const withPrev = [...prev, lone];
      if (next && !fits(withPrev) && totalCost([lone, ...next], cost) < totalCost(withPrev, cost)) {
        groups.splice(i, 2, [lone, ...next]);
      } else {
        groups.splice(i - 1, 2, withPrev);
        i--;
      }
    } else if (next) {
      groups.splice(i, 2, [lone, ...next]);
    } else {
      i++;
    }
  }
  return groups;
}

/**
 * The leading groups of `groupByBudget` that no later record can change, given only a prefix
 * of the records (the pipelined collapse starts them while the rest are still being mapped).
 * When `complete`, the prefix is everything and every group is returned.
 *
 * Why the groups returned are exactly the leading groups of `groupByBudget(all records)`: the
 * first pass closes a group when the record after it does not fit, so every first-pass group of
 * the prefix but the last (still open) is also a first-pass group of the whole. The second pass
 * decides at a lone group from it and its two neighbours and changes only those. Take q, the
 * last closed first-pass group of two or more records: the decisions before q read closed
 * groups only and are the same for the whole; q itself is never lone (it can lose one record
 * only to a lone neighbour, and only when it has three or more), so no decision is taken at q,
 * and the later decisions change only groups holding a record of q or later (records move at
 * most one group over). The groups returned are those made only of records before q.
 */
export function settledGroups<T>(prefix: readonly T[], complete: boolean, budget: number, cost: CostFn<T>): T[][] {
  if (complete) return groupByBudget(prefix, budget, cost);
  // Grouped by index, so that equal records at different places are told apart.
  const indices = prefix.map((_, i) => i);
  const costAt: CostFn<number> = (i, position) => cost(prefix[i], position);
  const first = greedyGroups(indices, budget, costAt);
  let q = first.length - 2; // the last closed group…
  while (q >= 0 && first[q].length < 2) q--; // …of two or more records
  if (q <= 0) return [];
  const boundary = first[q][0];
  const out: T[][] = [];
  for (const g of enforceFanIn(first, budget, costAt)) {
    if (g.some((i) => i >= boundary)) break;
    out.push(g.map((i) => prefix[i]));
  }
  return out;
}

/**
 * Cut records down until the group fits: records at or under their fair share keep their
 * size; the budget left over is shared among the larger ones (water-filling), and each of them
 * is shrunk to its share. Records are never dropped here.
 */
export function shrinkToFit<T>(group: readonly T[], budget: number, cost: CostFn<T>, shrink: ShrinkFn<T>): T[] {
  let out = group.slice();
  for (let attempt = 0; attempt < 4 && !fitsBudget(out, budget, cost); attempt++) {
    const target = budget - attempt * 8 * group.length;
    const costs = out.map((r, i) => cost(r, i + 1));
    const order = costs.map((_, i) => i).sort((a, b) => costs[a] - costs[b] || a - b);
    let left = Math.max(target, group.length);
    let share = Math.floor(left / out.length);
    const caps = new Array<number>(out.length).fill(0);
    order.forEach((i, k) => {
      share = Math.floor(left / (out.length - k));
      caps[i] = Math.min(costs[i], Math.max(1, share));
      left -= caps[i];
    });
    out = out.map((r, i) => (costs[i] > caps[i] ? shrink(r, i + 1, caps[i]) : r));
  }
  return out;
}

/**
 * The fallback when collapse rounds run out: keep the most confident records (ties: earlier
 * first) that fit together, in their original order. If not even the most confident one fits
 * alone, it is shrunk to the budget.
 */
export function truncateByConfidence<T>(
  items: readonly T[],
  budget: number,
  cost: CostFn<T>,
  confidence: (item: T) => number,
  shrink: ShrinkFn<T>,
): T[] {
  if (items.length === 0) return [];
  const ranked = items.map((_, i) => i).sort((a, b) => confidence(items[b]) - confidence(items[a]) || a - b);
  let kept: number[] = [];
  for (const i of ranked) {
    const candidate = [...kept, i].sort((a, b) => a - b);
    if (fitsBudget(candidate.map((k) => items[k]), budget, cost)) kept = candidate;
  }
  if (kept.length === 0) return [shrink(items[ranked[0]], 1, budget)];
  return kept.map((k) => items[k]);
}

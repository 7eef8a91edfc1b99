/**
 * Digest groups of papers: random grouping, and `rebalance`, which turns any grouping (for
 * example a model's reply) into a partition of the known papers into groups of at most
 * `size`. Pure: no I/O; randomness only through the caller's Rng.
 */
import type { Rng } from './rng.ts';

export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!(size >= 1)) throw new Error(`chunk size must be at least 1, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Shuffle with the job's generator, then cut into groups of `size` (the last may be smaller). */
export function randomGroups(rng: Rng, ids: readonly string[], size: number): string[][] {
  return chunk(rng.shuffle(ids), size);
}

/** Shuffle the groups, then cut them into batches of `perBatch` groups. */
export function batches<T>(rng: Rng, groups: readonly T[], perBatch: number): T[][] {
  return chunk(rng.shuffle(groups), perBatch);
}

export interface RebalanceReport {
  /** Ids that are not papers of the job (dropped). */
  unknown: string[];
  /** Ids listed more than once (later listings dropped). */
  duplicates: string[];
  /** Papers no group listed (added). */
  missing: string[];
  /** Groups larger than `size` that were split. */
  split: number;
  /** Under-sized groups combined with others or topped up. */
  merged: number;
}

/**
 * First-fit decreasing: pack whole item groups into bins of capacity `cap`. Afterwards no two
 * bins fit together (a later bin's items did not fit the earlier bin when they were placed).
 */
function pack(items: string[][], cap: number): string[][] {
  const sorted = items.map((g, i) => ({ g, i })).sort((a, b) => b.g.length - a.g.length || a.i - b.i);
  const bins: string[][] = [];
  for (const { g } of sorted) {
    const bin = bins.find((b) => b.length + g.length <= cap);
    if (bin) bin.push(...g);
    else bins.push([...g]);
  }
  return bins;
}

/**
 * Repair a grouping so that every known paper appears exactly once, in groups of 1..size:
 * unknown ids are dropped, repeated ids keep their first listing, groups larger than `size`
 * are cut into full chunks, and the remainders are packed together and topped up with the
 * papers that no group listed. When it returns, no two groups could be combined within `size`,
 * and every group of exactly `size` valid, distinct ids in the input is kept as it was.
 */
export function rebalance(
  groups: readonly (readonly string[])[],
  size: number,
  known: readonly string[],
): { groups: string[][]; report: RebalanceReport } {
  if (!(size >= 1)) throw new Error(`group size must be at least 1, got ${size}`);
  const knownSet = new Set(known);
  const seen = new Set<string>();
  const report: RebalanceReport = { unknown: [], duplicates: [], missing: [], split: 0, merged: 0 };
  const cleaned: string[][] = [];
  for (const g of groups) {
    const kept: string[] = [];
    for (const raw of g) {
      const id = String(raw).trim();
      if (!knownSet.has(id)) report.unknown.push(id);
      else if (seen.has(id)) report.duplicates.push(id);
      else {
        seen.add(id);
        kept.push(id);
      }
    }
    if (kept.length > 0) cleaned.push(kept);
  }
  const full: string[][] = [];
  const remainders: string[][] = [];
  for (const g of cleaned) {
    if (g.length > size) report.split++;
    for (const c of chunk(g, size)) (c.length === size ? full : remainders).push(c);
  }
  const rest = [...new Set(known)].filter((id) => !seen.has(id));
  report.missing = rest.slice();
  // Pack the remainders, top the under-sized bins up from the unlisted papers (fullest first),
  // cut what is left into groups, then pack all under-sized groups once more.
  const bins = pack(remainders, size);
  if (bins.length < remainders.length) report.merged += remainders.length - bins.length;
  const order = bins.map((b, i) => ({ b, i })).sort((x, y) => y.b.length - x.b.length || x.i - y.i);
  for (const { b } of order) {
    if (b.length < size && rest.length > 0) report.merged++;
    while (b.length < size && rest.length > 0) b.push(rest.shift()!);
  }
  const pool = [...bins, ...chunk(rest, size)];
  const done = pool.filter((g) => g.length === size);
  const small = pool.filter((g) => g.length < size);
  const repacked = pack(small, size);
  if (repacked.length < small.length) report.merged += small.length - repacked.length;
  return { groups: [...full, ...done, ...repacked], report };
}

/**
 * Read a grouping from a free-text reply: every bracketed list, or else every line, that holds
 * paper ids (P001 style) becomes one group. Validity is left to `rebalance`.
 */
export function parseGroupReply(text: string): string[][] {
  const idRe = /\bP\d{1,6}\b/g;
  const lists = [...text.matchAll(/\[([^\[\]]*)\]/g)].map((m) => m[1].match(idRe) ?? []).filter((l) => l.length > 0);
  if (lists.length > 0) return lists;
  return text
    .split('\n')
    .map((l) => l.match(idRe) ?? [])
    .filter((l) => l.length > 0);
}

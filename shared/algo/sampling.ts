/**
 * Selection pieces of the convolutional outline refinement (upstream-v2 §2.3–2.4, with the
 * §8.2 fixes): score-proportional sampling of kernel groups, the pooling trigger and pooling
 * groups, top-k with a residual, and monotonic acceptance. Pure: no I/O; every random choice
 * goes through the caller's Rng, in a fixed order, so a replayed job draws the same groups.
 */
import type { Rng } from './rng.ts';

/** A usable sampling weight: finite and positive, otherwise 0. */
function weightOf(score: number): number {
  return Number.isFinite(score) && score > 0 ? score : 0;
}

/** C(n, r), saturating at Number.MAX_SAFE_INTEGER. */
export function combinations(n: number, r: number): number {
  if (r < 0 || r > n) return 0;
  r = Math.min(r, n - r);
  let c = 1;
  for (let i = 1; i <= r; i++) {
    c = (c * (n - r + i)) / i;
    if (c >= Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  }
  return Math.round(c);
}

/**
 * Draw `width` distinct indices of `weights.length`, each draw proportional to the remaining
 * weights; once no remaining index has weight, the rest are drawn uniformly. Returns them sorted.
 */
function drawGroup(rng: Rng, weights: readonly number[], width: number): number[] {
  const left = weights.map((_, i) => i);
  const picked: number[] = [];
  while (picked.length < width && left.length) {
    const total = left.reduce((s, i) => s + weights[i], 0);
    let at = -1;
    if (total > 0) {
      let r = rng.next() * total;
      for (let j = 0; j < left.length; j++) {
        const w = weights[left[j]];
        if (w <= 0) continue;
        at = j;
        r -= w;
        if (r < 0) break;
      }
    } else at = rng.int(left.length);
    picked.push(left[at]);
    left.splice(at, 1);
  }
  return picked.sort((a, b) => a - b);
}

/** Every sorted r-subset of 0..n-1, in lexicographic order. */
function allGroups(n: number, r: number): number[][] {
  const out: number[][] = [];
  const go = (start: number, acc: number[]) => {
    if (acc.length === r) return void out.push(acc.slice());
    for (let i = start; i <= n - (r - acc.length); i++) go(i + 1, [...acc, i]);
  };
  go(0, []);
  return out;
}

/** Above this many combinations a stuck sampler draws uniformly instead of enumerating. */
const ENUMERATE_LIMIT = 5000;
/** Consecutive duplicate draws tolerated before the sampler stops following the weights. */
const MAX_REJECTIONS = 32;

/**
 * `count` kernel groups over candidates with the given scores: each group holds
 * min(k, n) distinct indices (sorted), drawn with probability proportional to score without
 * replacement within the group. Zero, negative or non-finite scores weigh nothing; when no
 * candidate has weight the draw is uniform. A group already drawn is drawn again only once
 * every combination has been used. When the weights make the remaining unused combinations
 * very unlikely, the sampler falls back to a uniform choice among them, so it always ends.
 */
export function sampleGroups(rng: Rng, scores: readonly number[], k: number, count: number): number[][] {
  const n = scores.length;
  if (n === 0 || count <= 0 || k <= 0) return [];
  const width = Math.min(k, n);
  const weights = scores.map(weightOf);
  const total = combinations(n, width);
  const seen = new Set<string>();
  const out: number[][] = [];
  while (out.length < count) {
    let group = drawGroup(rng, weights, width);
    if (seen.size < total) {
      let rejections = 0;
      while (seen.has(group.join(','))) {
        rejections++;
        if (rejections <= MAX_REJECTIONS) group = drawGroup(rng, weights, width);
        else if (total <= ENUMERATE_LIMIT) {
          const unused = allGroups(n, width).filter((g) => !seen.has(g.join(',')));
          group = unused[rng.int(unused.length)];
        } else group = drawGroup(rng, weights.map(() => 1), width);
      }
    }
    seen.add(group.join(','));
    out.push(group);
  }
  return out;
}

/** Pooling replaces sampling when there are more than k × resultNum suggestions (upstream's trigger). */
export function poolingTriggered(n: number, k: number, resultNum: number): boolean {
  return n > k * resultNum;
}

/** Pooling groups: the indices 0..n-1 shuffled with the job's generator, cut into runs of k. */
export function poolGroups(rng: Rng, n: number, k: number): number[][] {
  const order = rng.shuffle([...Array(n).keys()]);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += Math.max(1, k)) out.push(order.slice(i, i + Math.max(1, k)));
  return out;
}

/** A score for ranking: NaN and missing scores rank below everything. */
function rankScore(s: number): number {
  return Number.isNaN(s) ? -Infinity : s;
}

/**
 * Top-k with a residual: the best `k` of `previous` followed by `fresh`, by score descending.
 * Ties keep input order, so a previous candidate stays ahead of an equal new one.
 */
export function topKResidual<T>(previous: readonly T[], fresh: readonly T[], k: number, score: (t: T) => number): T[] {
  return [...previous, ...fresh]
    .map((t, i) => ({ t, i, s: rankScore(score(t)) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, Math.max(0, k))
    .map((x) => x.t);
}

/** The highest-scoring item; the earliest wins ties. Undefined for an empty list. */
export function bestOf<T>(items: readonly T[], score: (t: T) => number): T | undefined {
  let best: T | undefined;
  let bs = -Infinity;
  for (const t of items) {
    const s = rankScore(score(t));
    if (best === undefined || s > bs) [best, bs] = [t, s];
  }
  return best;
}

/**
 * Monotonic acceptance: a challenger replaces the incumbent only when it scores strictly
 * higher, so the accepted score never goes down.
 */
export function acceptBest<T>(incumbent: T, pool: readonly T[], score: (t: T) => number): T {
  const challenger = bestOf(pool, score);
  return challenger !== undefined && rankScore(score(challenger)) > rankScore(score(incumbent)) ? challenger : incumbent;
}

/**
 * TF-IDF vectors over word features, cosine similarity, a seeded spherical k-means, top terms
 * and sentence centrality (keyword labels live in keywords.ts and are re-exported here). Pure:
 * no I/O; every random choice goes through the caller's Rng, so equal inputs and seeds give
 * equal outputs.
 */
import { isStopWord } from './text.ts';
import type { Rng } from './rng.ts';

export { caseForms, displayTerm, distinctKeywords, joinList, keywordTitle, labelTerms } from './keywords.ts';

/** A sparse vector: feature → weight. */
export type SparseVector = Map<string, number>;

const TOKEN = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

function usable(w: string): boolean {
  return w.length > 1 && !isStopWord(w) && !/^\d+$/.test(w);
}

/**
 * Features of a text: content words (no stop words, no bare numbers) plus, when `bigrams` is
 * on, pairs of content words that stand next to each other with only spaces between them
 * ("kv cache"; never across punctuation or a stop word).
 */
export function features(text: string, bigrams = true): string[] {
  const low = text.toLowerCase();
  const out: string[] = [];
  let prev: { w: string; end: number } | null = null;
  for (const m of low.matchAll(TOKEN)) {
    const w = m[0];
    const start = m.index!;
    // LaTeX commands (\emph, \textbf, \varepsilon) are markup, not words.
    if (!usable(w) || low[start - 1] === '\\') {
      prev = null;
      continue;
    }
    out.push(w);
    if (bigrams && prev && /^[ \t]+$/.test(low.slice(prev.end, start))) out.push(`${prev.w} ${w}`);
    prev = { w, end: start + w.length };
  }
  return out;
}

export interface TfidfModel {
  docCount: number;
  idf: Map<string, number>;
  /** L2-normalised TF-IDF vector of a feature list (features unseen in the corpus get the highest idf). */
  vector(feats: readonly string[]): SparseVector;
}

/** Smoothed idf, sublinear tf (1 + ln tf), L2 normalisation. */
export function fitTfidf(docs: readonly (readonly string[])[]): TfidfModel {
  const df = new Map<string, number>();
  for (const d of docs) for (const f of new Set(d)) df.set(f, (df.get(f) ?? 0) + 1);
  const n = docs.length;
  const idf = new Map<string, number>();
  for (const [f, c] of df) idf.set(f, Math.log((1 + n) / (1 + c)) + 1);
  const unseen = Math.log(1 + n) + 1;
  return {
    docCount: n,
    idf,
    vector(feats) {
      const tf = new Map<string, number>();
      for (const f of feats) tf.set(f, (tf.get(f) ?? 0) + 1);
      const v: SparseVector = new Map();
      for (const [f, c] of tf) v.set(f, (1 + Math.log(c)) * (idf.get(f) ?? unseen));
      return normalise(v);
    },
  };
}

/** Fit a model on the documents and return it with their vectors. */
export function tfidfVectors(docs: readonly (readonly string[])[]): { model: TfidfModel; vectors: SparseVector[] } {
  const model = fitTfidf(docs);
  return { model, vectors: docs.map((d) => model.vector(d)) };
}

export function normalise(v: SparseVector): SparseVector {
  let s = 0;
  for (const w of v.values()) s += w * w;
  if (s === 0) return v;
  const k = 1 / Math.sqrt(s);
  const out: SparseVector = new Map();
  for (const [f, w] of v) out.set(f, w * k);
  return out;
}

export function dot(a: SparseVector, b: SparseVector): number {
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  let s = 0;
  for (const [f, w] of small) {
    const o = big.get(f);
    if (o !== undefined) s += w * o;
  }
  return s;
}

/** Cosine similarity in [0, 1] for non-negative vectors; 0 when either vector is empty. */
export function cosine(a: SparseVector, b: SparseVector): number {
  let na = 0;
  let nb = 0;
  for (const w of a.values()) na += w * w;
  for (const w of b.values()) nb += w * w;
  if (na === 0 || nb === 0) return 0;
  return dot(a, b) / Math.sqrt(na * nb);
}

/** Normalised mean of the vectors. */
export function centroid(vectors: readonly SparseVector[]): SparseVector {
  const sum: SparseVector = new Map();
  for (const v of vectors) for (const [f, w] of v) sum.set(f, (sum.get(f) ?? 0) + w);
  return normalise(sum);
}

/** The n highest-weighted features (ties by feature name), skipping excluded ones. */
export function topTerms(v: SparseVector, n: number, exclude: ReadonlySet<string> = new Set()): string[] {
  return [...v.entries()]
    .filter(([f]) => !exclude.has(f))
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .slice(0, n)
    .map(([f]) => f);
}

export interface Clustering {
  /** Cluster index of each vector; clusters are numbered by first appearance (0, 1, …). */
  assignments: number[];
  centroids: SparseVector[];
  /** Member indices of each cluster, ascending. */
  members: number[][];
}

export interface KmeansOptions {
  iterations?: number;
  /**
   * Largest cluster allowed. When set, each round assigns (vector, cluster) pairs greedily from
   * the most similar down, skipping full clusters, so no topic swallows the collection.
   */
  maxSize?: number;
}

/**
 * Spherical k-means with k-means++ seeding drawn from `rng`. Assignment ties go to the lower
 * cluster; an emptied cluster is re-seeded with the member farthest from its centroid.
 */
export function kmeans(vectors: readonly SparseVector[], k: number, rng: Rng, opts: KmeansOptions = {}): Clustering {
  const iterations = opts.iterations ?? 25;
  const n = vectors.length;
  if (n === 0) return { assignments: [], centroids: [], members: [] };
  k = Math.max(1, Math.min(k, n));
  const seeds = [rng.int(n)];
  const best = vectors.map((v) => cosine(v, vectors[seeds[0]]));
  while (seeds.length < k) {
    const d2 = best.map((s, i) => (seeds.includes(i) ? 0 : (1 - s) ** 2));
    const total = d2.reduce((a, b) => a + b, 0);
    let pick = -1;
    if (total > 0) {
      let r = rng.next() * total;
      for (let i = 0; i < n; i++) {
        r -= d2[i];
        if (d2[i] > 0 && r <= 0) {
          pick = i;
          break;
        }
      }
      if (pick < 0) pick = d2.findLastIndex((x) => x > 0);
    }
    if (pick < 0) pick = [...Array(n).keys()].find((i) => !seeds.includes(i))!;
    seeds.push(pick);
    vectors.forEach((v, i) => (best[i] = Math.max(best[i], cosine(v, vectors[pick]))));
  }
  let cents = seeds.map((i) => vectors[i]);
  let assign = new Array<number>(n).fill(-1);
  for (let it = 0; it < iterations; it++) {
    const next = opts.maxSize ? capacityAssign(vectors, cents, Math.max(opts.maxSize, Math.ceil(n / k))) : vectors.map((v) => {
      let bi = 0;
      let bs = -1;
      cents.forEach((c, ci) => {
        const s = cosine(v, c);
        if (s > bs) [bi, bs] = [ci, s];
      });
      return bi;
    });
    // Re-seed empty clusters with the worst-fitting member of a cluster that has more than one.
    for (let c = 0; c < k; c++) {
      if (next.includes(c)) continue;
      const sizes = new Array<number>(k).fill(0);
      next.forEach((a) => sizes[a]++);
      let worst = -1;
      let ws = 2;
      next.forEach((a, i) => {
        if (sizes[a] < 2) return;
        const s = cosine(vectors[i], cents[a]);
        if (s < ws) [worst, ws] = [i, s];
      });
      if (worst >= 0) next[worst] = c;
    }
    const changed = next.some((a, i) => a !== assign[i]);
    assign = next;
    cents = cents.map((_, c) => centroid(vectors.filter((_, i) => assign[i] === c)));
    if (!changed) break;
  }
  // Canonical numbering: by first appearance.
  const order = new Map<number, number>();
  for (const a of assign) if (!order.has(a)) order.set(a, order.size);
  const assignments = assign.map((a) => order.get(a)!);
  const members: number[][] = [...Array(order.size)].map(() => []);
  assignments.forEach((a, i) => members[a].push(i));
  return { assignments, members, centroids: members.map((m) => centroid(m.map((i) => vectors[i]))) };
}

/** Greedy assignment under a size cap: most similar (vector, centroid) pairs first. */
function capacityAssign(vectors: readonly SparseVector[], cents: readonly SparseVector[], cap: number): number[] {
  const pairs: { i: number; c: number; s: number }[] = [];
  vectors.forEach((v, i) => cents.forEach((c, ci) => pairs.push({ i, c: ci, s: cosine(v, c) })));
  pairs.sort((a, b) => b.s - a.s || a.i - b.i || a.c - b.c);
  const out = new Array<number>(vectors.length).fill(-1);
  const size = new Array<number>(cents.length).fill(0);
  for (const p of pairs) {
    if (out[p.i] >= 0 || size[p.c] >= cap) continue;
    out[p.i] = p.c;
    size[p.c]++;
  }
  return out;
}

/** Degree centrality: each vector's mean cosine to the others (1 for a single vector). */
export function centrality(vectors: readonly SparseVector[]): number[] {
  const n = vectors.length;
  if (n === 1) return [1];
  const sums = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const s = cosine(vectors[i], vectors[j]);
      sums[i] += s;
      sums[j] += s;
    }
  return sums.map((s) => s / (n - 1));
}

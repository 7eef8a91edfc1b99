/**
 * Small computations shared by the offline map, collapse and reduce steps: number aggregates
 * and extractive summaries by sentence centrality. Pure: no I/O.
 */
import type { MathOp } from './question.ts';

/** The aggregate a question asks for, over a list of numbers (non-empty). */
export function aggregateNumbers(op: MathOp, nums: readonly number[]): number {
  switch (op) {
    case 'max':
      return nums.reduce((a, b) => (b > a ? b : a), -Infinity);
    case 'min':
      return nums.reduce((a, b) => (b < a ? b : a), Infinity);
    case 'sum':
      return nums.reduce((a, b) => a + b, 0);
    case 'count':
      return nums.length;
    case 'mean':
      return nums.reduce((a, b) => a + b, 0) / nums.length;
    case 'median': {
      const s = [...nums].sort((a, b) => a - b);
      const m = Math.floor(s.length / 2);
      return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
  }
}

/** A number without floating-point noise ("0.30000000000000004" → "0.3"). */
export function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return String(Number.parseFloat(x.toPrecision(12)));
}

/** The first number in a text, if any. */
export function firstNumber(text: string): number | undefined {
  const m = /-?\d+(?:\.\d+)?/.exec(text.replace(/(?<=\d),(?=\d{3}\b)/g, ''));
  return m ? Number(m[0]) : undefined;
}

interface TermSentence {
  text: string;
  terms: string[];
}

/**
 * Centrality of each sentence: cosine of its TF-IDF vector (over the given sentences) to the
 * normalised centroid of all of them.
 */
export function centralityScores(sents: readonly TermSentence[]): number[] {
  const n = sents.length;
  const df = new Map<string, number>();
  for (const s of sents) for (const t of new Set(s.terms)) df.set(t, (df.get(t) ?? 0) + 1);
  const vecs = sents.map((s) => {
    const v = new Map<string, number>();
    for (const t of s.terms) v.set(t, (v.get(t) ?? 0) + 1);
    let norm = 0;
    for (const [t, c] of v) {
      const w = (1 + Math.log(c)) * (Math.log((1 + n) / (1 + (df.get(t) ?? 0))) + 1);
      v.set(t, w);
      norm += w * w;
    }
    norm = Math.sqrt(norm) || 1;
    for (const [t, w] of v) v.set(t, w / norm);
    return v;
  });
  const centroid = new Map<string, number>();
  for (const v of vecs) for (const [t, w] of v) centroid.set(t, (centroid.get(t) ?? 0) + w);
  let cn = 0;
  for (const w of centroid.values()) cn += w * w;
  cn = Math.sqrt(cn) || 1;
  return vecs.map((v) => {
    let s = 0;
    for (const [t, w] of v) s += w * ((centroid.get(t) ?? 0) / cn);
    return s;
  });
}

/**
 * An extractive summary: the most central sentences (with a bonus for the question's focus
 * terms) until about `maxWords` words, given back in their original order. Repeated sentences
 * count once.
 */
export function pickSummary(
  sents: readonly TermSentence[],
  focus: readonly string[],
  maxWords: number,
): { summary: string; picked: number } {
  const seen = new Set<string>();
  const uniq = sents.filter((s) => {
    const k = s.text.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const cent = centralityScores(uniq);
  const f = new Set(focus);
  const score = uniq.map((s, i) => cent[i] + (f.size ? (0.5 * s.terms.filter((t) => f.has(t)).length) / f.size : 0));
  const order = uniq.map((_, i) => i).sort((a, b) => score[b] - score[a] || a - b);
  const chosen: number[] = [];
  let words = 0;
  for (const i of order) {
    const w = uniq[i].text.split(/\s+/).length;
    if (chosen.length > 0 && words + w > maxWords) continue;
    chosen.push(i);
    words += w;
    if (words >= maxWords) break;
  }
  chosen.sort((a, b) => a - b);
  return { summary: chosen.map((i) => uniq[i].text).join(' '), picked: chosen.length };
}

/**
 * Heading fidelity: a measure of an outline that the offline feedback does not optimise (the
 * feedback fixes load: empty, crowded and unplaced sections). Each leaf's heading alone, as a
 * query, ranks the leaves for every source placed in the outline; the score is the mean
 * reciprocal rank of the source's own leaf, computed on a held-out half of each source's terms
 * (terms chosen by a hash, so the same half every time), and rescaled so that chance is 0 and a
 * perfect ranking 10. Pure: no I/O.
 */
import { analyseOutline, type OutlineAnalysis, type SourceProfile } from './entropy.ts';
import { leaves } from './outline.ts';
import { cosine, features, fitTfidf } from './tfidf.ts';
import type { OutlineNode } from './outline.ts';

/** FNV-1a hash of a string, for a fixed split of terms. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The held-out half of a source's terms (each term kept with its count). */
export function heldOutTerms(p: SourceProfile): string[] {
  return Object.entries(p.terms).flatMap(([t, c]) => (hash(t) % 2 === 1 ? Array<string>(Math.max(1, Math.min(20, Math.round(c)))).fill(t) : []));
}

export interface Fidelity {
  /** 0 (chance) to 10 (each heading retrieves its own sources first). */
  score: number;
  /** Mean reciprocal rank over the placed sources. */
  mrr: number;
  /** What a random ranking of the leaves would give. */
  chance: number;
  sources: number;
}

/** `analysis`: the outline's placement of the sources when the caller already has it (scoreOutline computes it). */
export function headingFidelity(outline: OutlineNode, sources: readonly SourceProfile[], analysis?: OutlineAnalysis): Fidelity {
  const leafNodes = leaves(outline);
  const a = analysis ?? analyseOutline(outline, sources);
  const where = new Map<string, number>();
  a.leaves.forEach((l, i) => l.sources.forEach((s) => where.set(s, i)));
  const held = sources.map(heldOutTerms);
  const heads = leafNodes.map((n) => features(n.title));
  const model = fitTfidf([...heads, ...held]);
  const hv = heads.map((f) => model.vector(f));
  const L = leafNodes.length;
  const chance = L ? Array.from({ length: L }, (_, i) => 1 / (i + 1)).reduce((x, y) => x + y, 0) / L : 0;
  let sum = 0;
  let n = 0;
  sources.forEach((s, si) => {
    const own = where.get(s.id);
    if (own === undefined || held[si].length === 0) return;
    const v = model.vector(held[si]);
    const sims = hv.map((h) => cosine(h, v));
    // Ties count against the heading: the rank is 1 + the leaves that score at least as high.
    const rank = 1 + sims.filter((x, i) => i !== own && x >= sims[own]).length;
    sum += 1 / rank;
    n++;
  });
  const mrr = n ? sum / n : 0;
  const score = L > 1 && n ? Math.max(0, Math.min(10, (10 * (mrr - chance)) / (1 - chance))) : 0;
  return { score: Math.round(score * 1e4) / 1e4, mrr, chance, sources: n };
}

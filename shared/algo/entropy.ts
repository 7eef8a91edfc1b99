/**
 * The computed outline "entropy" used by the offline judge: how well an outline organises the
 * sources it must hold. Each source (a paper) is summarised by the term counts of its digest;
 * it is placed in one leaf section (a leaf that cites it or keeps the title of a section its
 * digest was filed under, else the most similar leaf). From the
 * placement come five sub-scores in [0, 1]:
 *   balance      normalised Shannon entropy of the sources over the leaves, against the entropy
 *                of an ideal number of leaves (about IDEAL_LOAD sources each);
 *   distinctness 1 − mean pairwise cosine of the leaves' TF-IDF term distributions (their own
 *                text plus the sources placed there);
 *   coverage     share of sources placed somewhere;
 *   structure    1 − penalties for empty and single-source leaves, single-subsection chains,
 *                depth and fan-out;
 *   description  share of sections whose construction and analysis texts are present and grounded.
 * The score (0–10) is their weighted mean. Pure: no I/O.
 */
import { z } from 'zod';
import { findNode, leaves, sections, validateOutline, walk, type OutlineNode } from './outline.ts';
import { titleKey } from './outline-edit.ts';
import { citedKeys } from './citations.ts';
import { cosine, features, fitTfidf, normalise, topTerms, type SparseVector, type TfidfModel } from './tfidf.ts';

/** A paper as the refinement sees it: its digest's term counts and the sections it was filed under. */
export const SourceProfileSchema = z.object({
  id: z.string(),
  terms: z.record(z.string(), z.number()),
  /** Sections (of the outline the digests were made against) the digest has text for. */
  filed: z.array(z.object({ id: z.string(), title: z.string() })),
});
export type SourceProfile = z.infer<typeof SourceProfileSchema>;

export interface DigestLike {
  paperId: string;
  sections: Record<string, string>;
  suggestion?: string;
}

/** Sources a leaf should hold, for the ideal number of leaves. */
export const IDEAL_LOAD = 4;
/** Most leaves the ideal ever asks for. */
export const MAX_IDEAL_LEAVES = 24;
/** Sections deeper than this are penalised. */
export const DEEP = 3;
/** A section with more subsections than this is penalised. */
export const MAX_CHILDREN = 10;
/** Cosine a source needs with a leaf to be placed there without a citation. */
export const PLACE_MIN = 0.05;
export const WEIGHTS = { balance: 0.3, distinctness: 0.2, coverage: 0.25, structure: 0.15, description: 0.1 } as const;
export type Aspect = keyof typeof WEIGHTS;
export const ASPECTS = Object.keys(WEIGHTS) as Aspect[];

const stripCites = (s: string) => s.replace(/\[\s*@[^\]]*\]/g, ' ');

/**
 * One profile per digest: the most distinctive terms (TF-IDF across the digests) of the texts it
 * filed, with their counts, and the sections of `outline` (the one the digests were made
 * against) it filed them under; a paper whose digest filed nothing is described by its suggestion.
 */
export function sourceProfiles(digests: readonly DigestLike[], outline: OutlineNode, maxTerms = 24): SourceProfile[] {
  const feats = digests.map((d) => {
    const filed = Object.values(d.sections).join(' ');
    return features(stripCites(filed.trim() ? filed : (d.suggestion ?? '')));
  });
  const model = fitTfidf(feats);
  return digests.map((d, i) => {
    const keep = new Set(topTerms(model.vector(feats[i]), maxTerms));
    const terms: Record<string, number> = {};
    for (const f of feats[i]) if (keep.has(f)) terms[f] = (terms[f] ?? 0) + 1;
    const filed = Object.entries(d.sections).flatMap(([id, t]) => {
      const node = t.trim() ? findNode(outline, id) : undefined;
      return node && id !== outline.id ? [{ id, title: node.title }] : [];
    });
    return { id: d.paperId, terms, filed };
  });
}

/** Feature list of a profile (each term repeated by its count, capped). */
export function profileFeatures(p: SourceProfile): string[] {
  return Object.entries(p.terms).flatMap(([t, c]) => Array<string>(Math.max(1, Math.min(20, Math.round(c)))).fill(t));
}

/** Text of a section as features: the title counts twice. */
export function sectionFeatures(n: Pick<OutlineNode, 'title' | 'construction' | 'analysis'>): string[] {
  return features(stripCites(`${n.title}. ${n.title}. ${n.construction} ${n.analysis}`));
}

export interface LeafStat {
  id: string;
  title: string;
  /** Source ids placed here. */
  sources: string[];
}

export interface OutlineAnalysis {
  sub: Record<Aspect, number>;
  leaves: LeafStat[];
  unplaced: string[];
  emptyLeaves: string[];
  /** Leaves holding a single source (when there are enough sources to group). */
  thin: string[];
  chains: string[];
  deep: string[];
  wide: string[];
  /** Sections lacking a construction or analysis text. */
  undescribed: string[];
  closest: { a: string; b: string; cosine: number } | null;
  meanSimilarity: number;
  entropy: number;
  ideal: number;
  problems: string[];
  /** Shared vector space, for callers that cluster or compare further. */
  model: TfidfModel;
  sourceVectors: Map<string, SparseVector>;
  leafVectors: Map<string, SparseVector>;
}

const clamp01 = (x: number) => Math.max(0, Math.min(1, x));
const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;

/** Place every source and compute the sub-scores (all in [0, 1]). */
export function analyseOutline(outline: OutlineNode, sources: readonly SourceProfile[]): OutlineAnalysis {
  const leafNodes = leaves(outline);
  const secs = sections(outline);
  const leafFeats = leafNodes.map(sectionFeatures);
  const srcFeats = sources.map(profileFeatures);
  const model = fitTfidf([...leafFeats, ...srcFeats]);
  const leafText = leafNodes.map((_, i) => model.vector(leafFeats[i]));
  const srcVec = srcFeats.map((f) => model.vector(f));

  // Which sections hold which sources: their citations, and the digests' filings under a section
  // of the same title. A source held by a parent is placed inside its subtree.
  const filedUnder = new Map<string, string[]>();
  for (const s of sources) for (const f of s.filed) filedUnder.set(titleKey(f.title), [...(filedUnder.get(titleKey(f.title)) ?? []), s.id]);
  const citesOf = new Map<OutlineNode, Set<string>>();
  for (const { node } of secs) citesOf.set(node, new Set([...citedKeys(`${node.construction} ${node.analysis}`), ...(filedUnder.get(titleKey(node.title)) ?? [])]));
  const leafIndex = new Map(leafNodes.map((n, i) => [n, i]));
  const under = (n: OutlineNode): number[] => walk(n).flatMap((v) => (leafIndex.has(v.node) ? [leafIndex.get(v.node)!] : []));

  const placed: (number | null)[] = sources.map((s, si) => {
    if (!leafNodes.length) return null;
    const direct = leafNodes.flatMap((n, i) => (citesOf.get(n)!.has(s.id) ? [i] : []));
    const inherited = direct.length ? [] : [...new Set(secs.filter((v) => citesOf.get(v.node)!.has(s.id)).flatMap((v) => under(v.node)))];
    const pool = direct.length ? direct : inherited.length ? inherited : leafNodes.map((_, i) => i);
    let best = pool[0];
    let bs = -1;
    for (const i of pool) {
      const c = cosine(srcVec[si], leafText[i]);
      if (c > bs) [best, bs] = [i, c];
    }
    return direct.length || inherited.length || bs >= PLACE_MIN ? best : null;
  });

  const loads = leafNodes.map(() => [] as string[]);
  placed.forEach((l, si) => l !== null && loads[l].push(sources[si].id));
  const n = sources.length;
  const placedCount = placed.filter((p) => p !== null).length;

  // Balance: Shannon entropy of the placement, normalised by the entropy of the ideal leaf count.
  const ideal = Math.max(2, Math.min(MAX_IDEAL_LEAVES, Math.round(n / IDEAL_LOAD)));
  let entropy = 0;
  for (const l of loads) if (l.length) entropy -= (l.length / placedCount) * Math.log(l.length / placedCount);
  const balance = n === 0 ? 1 : placedCount === 0 ? 0 : clamp01(entropy / Math.log(ideal));

  // Distinctness: each leaf's own text and its sources' centroid, compared pairwise.
  const leafVec = leafNodes.map((_, i) => {
    const sum: SparseVector = new Map(leafText[i]);
    const members = placed.flatMap((l, si) => (l === i ? [srcVec[si]] : []));
    for (const v of members) for (const [f, w] of v) sum.set(f, (sum.get(f) ?? 0) + w / members.length);
    return normalise(sum);
  });
  let pairs = 0;
  let simSum = 0;
  let closest: OutlineAnalysis['closest'] = null;
  for (let i = 0; i < leafVec.length; i++)
    for (let j = i + 1; j < leafVec.length; j++) {
      const c = cosine(leafVec[i], leafVec[j]);
      pairs++;
      simSum += c;
      if (!closest || c > closest.cosine) closest = { a: leafNodes[i].id, b: leafNodes[j].id, cosine: c };
    }
  const meanSimilarity = pairs ? simSum / pairs : 1;
  const distinctness = pairs ? clamp01(1 - meanSimilarity) : 0;

  const coverage = n === 0 ? 1 : placedCount / n;

  // Structure penalties.
  const visits = walk(outline);
  const parents = visits.filter((v) => v.node.children.length > 0);
  const emptyLeaves = n === 0 ? [] : leafNodes.filter((_, i) => loads[i].length === 0).map((x) => x.id);
  const thin = n < 2 * IDEAL_LOAD ? [] : leafNodes.filter((_, i) => loads[i].length === 1).map((x) => x.id);
  const chains = parents.filter((v) => v.node.children.length === 1).map((v) => v.node.id);
  const deep = secs.filter((v) => v.depth > DEEP).map((v) => v.node.id);
  const wide = parents.filter((v) => v.node.children.length > MAX_CHILDREN).map((v) => v.node.id);
  const problems = validateOutline(outline);
  const structure = problems.length
    ? 0
    : clamp01(
        1 -
          emptyLeaves.length / Math.max(1, leafNodes.length) -
          (0.5 * thin.length) / Math.max(1, leafNodes.length) -
          (0.5 * chains.length) / Math.max(1, parents.length) -
          (0.5 * deep.length) / Math.max(1, secs.length) -
          (0.5 * wide.length) / Math.max(1, parents.length),
      );

  // Description: texts present, leaves grounded in a known source, parents framing their children.
  const known = new Set(sources.map((s) => s.id));
  const undescribed: string[] = [];
  let desc = 0;
  for (const { node } of secs) {
    const hasC = words(node.construction) >= 3;
    const hasA = words(node.analysis) >= 3;
    if (!hasC || !hasA) undescribed.push(node.id);
    let third: boolean;
    if (node.children.length === 0) third = [...citesOf.get(node)!].some((k) => known.has(k));
    else {
      const own = new Set(sectionFeatures({ title: '', construction: node.construction, analysis: node.analysis }));
      third = node.children.some((c) => features(c.title).some((f) => own.has(f)));
    }
    desc += 0.4 * +hasC + 0.3 * +hasA + 0.3 * +third;
  }
  const description = secs.length ? desc / secs.length : 0;

  return {
    sub: { balance, distinctness, coverage, structure, description },
    leaves: leafNodes.map((l, i) => ({ id: l.id, title: l.title, sources: loads[i] })),
    unplaced: sources.filter((_, si) => placed[si] === null).map((s) => s.id),
    emptyLeaves,
    thin,
    chains,
    deep,
    wide,
    undescribed,
    closest,
    meanSimilarity,
    entropy,
    ideal,
    problems,
    model,
    sourceVectors: new Map(sources.map((s, si) => [s.id, srcVec[si]])),
    leafVectors: new Map(leafNodes.map((l, i) => [l.id, leafVec[i]])),
  };
}

export interface EntropyScore {
  /** 0–10. */
  score: number;
  /** Each aspect on 0–10. */
  subScores: Record<Aspect, number>;
  rationale: string;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const list = (ids: readonly string[], max = 6) => (ids.length > max ? `${ids.slice(0, max).join(', ')} and ${ids.length - max} more` : ids.join(', '));

/** Combine sub-scores (0–1) into the 0–10 score. */
export function combine(sub: Record<Aspect, number>): number {
  return r4(10 * ASPECTS.reduce((s, a) => s + WEIGHTS[a] * sub[a], 0));
}

/** Aspects from weakest to strongest (ties in ASPECTS order). */
export function weakestFirst(subScores: Partial<Record<string, number>>): Aspect[] {
  return ASPECTS.map((a, i) => ({ a, i, s: subScores[a] ?? 10 })).sort((x, y) => x.s - y.s || x.i - y.i).map((x) => x.a);
}

/** Score an outline against the sources, with a rationale written from the numbers. */
export function scoreOutline(outline: OutlineNode, sources: readonly SourceProfile[]): EntropyScore & { analysis: OutlineAnalysis } {
  const a = analyseOutline(outline, sources);
  const subScores = Object.fromEntries(ASPECTS.map((k) => [k, r4(10 * a.sub[k])])) as Record<Aspect, number>;
  const score = combine(a.sub);
  const used = a.leaves.filter((l) => l.sources.length).length;
  const heaviest = [...a.leaves].sort((x, y) => y.sources.length - x.sources.length)[0];
  const n = sources.length;
  const f2 = (x: number) => x.toFixed(2);
  const lines = [
    `Balance ${subScores.balance.toFixed(1)}: ${n - a.unplaced.length} placed sources spread over ${used} of ${a.leaves.length} leaf sections (entropy ${f2(a.entropy)} nats; an even spread over the ideal ${a.ideal} sections gives ${f2(Math.log(a.ideal))})` +
      (heaviest && heaviest.sources.length ? `; the fullest is ${heaviest.id} "${heaviest.title}" with ${heaviest.sources.length}.` : '.'),
    `Distinctness ${subScores.distinctness.toFixed(1)}: mean similarity between leaf sections ${f2(a.meanSimilarity)}` +
      (a.closest ? `; the closest pair is ${a.closest.a} and ${a.closest.b} (${f2(a.closest.cosine)}).` : '.'),
    `Coverage ${subScores.coverage.toFixed(1)}: ${a.unplaced.length} of ${n} sources fit no section${a.unplaced.length ? ` (${list(a.unplaced)})` : ''}.`,
    `Structure ${subScores.structure.toFixed(1)}: ` +
      [
        a.problems.length ? `invalid (${a.problems.join('; ')})` : '',
        a.emptyLeaves.length ? `${a.emptyLeaves.length} leaf section(s) hold no source (${list(a.emptyLeaves)})` : '',
        a.thin.length ? `${a.thin.length} leaf section(s) hold a single source (${list(a.thin)})` : '',
        a.chains.length ? `${a.chains.length} section(s) with a single subsection (${list(a.chains)})` : '',
        a.deep.length ? `${a.deep.length} section(s) deeper than level ${DEEP}` : '',
        a.wide.length ? `${a.wide.length} section(s) with more than ${MAX_CHILDREN} subsections` : '',
      ]
        .filter(Boolean)
        .join('; ')
        .replace(/^$/, 'no empty, single-source, chained, deep or crowded sections') +
      '.',
    `Description ${subScores.description.toFixed(1)}: ${a.undescribed.length} of ${sections(outline).length} sections lack a construction or analysis text${a.undescribed.length ? ` (${list(a.undescribed)})` : ''}.`,
    `Weakest aspect: ${weakestFirst(subScores)[0]}. Score ${score.toFixed(2)} of 10.`,
  ];
  return { score, subScores, rationale: lines.join('\n'), analysis: a };
}

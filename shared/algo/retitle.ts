/**
 * Headings that name the papers actually filed under each section: once the digests have placed
 * every paper, each section of an offline outline is retitled with the noun phrases that its
 * papers' titles and abstracts share and the rest of the collection rarely uses (leaves first; a
 * parent from all the papers below it, avoiding its children's words; no heading repeats). Pure: no I/O.
 */
import type { OutlineNode } from './outline.ts';
import { indexPhrases, phraseCandidates, phraseHeading, rankGroupPhrases } from './phrases.ts';
import { features } from './tfidf.ts';

export interface PaperText {
  id: string;
  title: string;
  abstract: string;
}

export interface Retitled {
  outline: OutlineNode;
  renamed: { id: string; from: string; to: string }[];
}

const wordsOf = (title: string) => title.toLowerCase().split(/[^\p{L}\p{N}-]+/u).flatMap((w) => [w, ...w.split('-')]).filter((w) => w.length > 2 && w !== 'and');

export function retitleOutline(outline: OutlineNode, filed: ReadonlyMap<string, readonly string[]>, papers: readonly PaperText[], surveyTitle: string): Retitled {
  const at = new Map(papers.map((p, i) => [p.id, i]));
  const index = indexPhrases(papers.map((p) => `${p.title}. ${p.abstract}`));
  const boost = new Set(papers.flatMap((p) => phraseCandidates(p.title).map((o) => o.key)));
  const topic = new Set(features(surveyTitle, false));
  const below = new Map<string, number[]>();
  const collect = (n: OutlineNode): number[] => {
    const own = (filed.get(n.id) ?? []).flatMap((id) => (at.has(id) ? [at.get(id)!] : []));
    const all = [...new Set([...own, ...n.children.flatMap(collect)])].sort((a, b) => a - b);
    below.set(n.id, all);
    return all;
  };
  collect(outline);
  const used = new Set<string>();
  const renamed: Retitled['renamed'] = [];
  // Phrases already heading a section elsewhere: a second section should be told apart by another.
  const usedParts = new Set<string>();
  const partsOf = (t: string) => t.toLowerCase().split(' and ');
  const pick = (ranked: string[], multiWord = false) => {
    for (let skip = 0; skip < Math.min(ranked.length, 8); skip++) {
      const t = phraseHeading(ranked.slice(skip), index.forms);
      if (!t || used.has(t.toLowerCase()) || partsOf(t).some((q) => usedParts.has(q))) continue;
      if (multiWord && !partsOf(t).some((q) => q.includes(' '))) continue;
      return t;
    }
    return '';
  };
  // Bottom-up: children first, each from its own papers; a parent then takes a phrase most of its
  // papers share that no child heading uses, or else joins its largest children's phrases.
  const go = (n: OutlineNode, depth: number): OutlineNode => {
    const kids = n.children.map((c) => go(c, depth + 1));
    if (depth === 0) return { ...n, children: kids };
    const members = below.get(n.id) ?? [];
    let fresh = '';
    if (kids.length) {
      const avoid = new Set(kids.flatMap((k) => wordsOf(k.title)));
      fresh = pick(rankGroupPhrases(index, members, { topic, avoid, boost, max: 40, minDf: Math.max(2, Math.ceil(members.length / 4)) }), true);
      if (!fresh) {
        const largest = [...kids].sort((x, y) => (below.get(y.id)?.length ?? 0) - (below.get(x.id)?.length ?? 0)).slice(0, 2);
        const joined = largest.map((k) => k.title.split(' and ')[0]).join(' and ');
        if (!used.has(joined.toLowerCase())) fresh = joined;
      }
    } else if (members.length) {
      const ranked = rankGroupPhrases(index, members, { topic, boost, max: 40 });
      fresh = pick(ranked, true) || pick(ranked);
      partsOf(fresh).forEach((q) => q && usedParts.add(q));
    }
    const title = fresh || n.title;
    if (title !== n.title) renamed.push({ id: n.id, from: n.title, to: title });
    used.add(title.toLowerCase());
    return { ...n, title, children: kids };
  };
  return { outline: go(outline, 0), renamed };
}

/**
 * Headings that name the papers actually filed under each section: once the digests have placed
 * every paper, each section of an offline outline is retitled with the noun phrases that its
 * papers' titles and abstracts share and the rest of the collection rarely uses (a parent from
 * all the papers below it; a child avoids its parent's words; no heading repeats). Pure: no I/O.
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
  const go = (n: OutlineNode, avoid: Set<string>, depth: number): OutlineNode => {
    let title = n.title;
    if (depth > 0) {
      const members = below.get(n.id) ?? [];
      const ranked = members.length ? rankGroupPhrases(index, members, { topic, avoid, boost, max: 40 }) : [];
      let fresh = '';
      for (let skip = 0; skip < Math.min(ranked.length, 8) && (!fresh || used.has(fresh.toLowerCase())); skip++) fresh = phraseHeading(ranked.slice(skip), index.forms);
      if (fresh && !used.has(fresh.toLowerCase())) {
        if (fresh !== n.title) renamed.push({ id: n.id, from: n.title, to: fresh });
        title = fresh;
      }
      used.add(title.toLowerCase());
    }
    const mine = depth > 0 ? new Set([...avoid, ...wordsOf(title)]) : avoid;
    return { ...n, title, children: n.children.map((c) => go(c, mine, depth + 1)) };
  };
  return { outline: go(outline, new Set(), 0), renamed };
}

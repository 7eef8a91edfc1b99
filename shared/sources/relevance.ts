/**
 * The first relevance filter: BM25 of the topic's terms against each source's title, abstract
 * and opening. A source that shares no term with the topic is dropped; of the rest at most
 * `max` are kept, best first, and ties keep their input order. The model's judgement
 * (sources.judge) comes after, on what this keeps.
 */
import { bm25, stemmedTerms } from '../algo/text.ts';

export interface Scored {
  index: number;
  score: number;
}

export function relevanceText(d: { title: string; abstract?: string; text: string }, chars = 3000): string {
  return `${d.title}\n${d.title}\n${d.abstract ?? ''}\n${d.text.slice(0, chars)}`;
}

export function bm25Filter(topic: string, docs: readonly { title: string; abstract?: string; text: string }[], max: number, minScore = 0): { kept: Scored[]; dropped: Scored[] } {
  const query = [...new Set(stemmedTerms(topic))];
  const scores = bm25(query, docs.map((d) => stemmedTerms(relevanceText(d))));
  const ranked = scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score || a.index - b.index);
  const pass = ranked.filter((s) => s.score > minScore);
  const kept = pass.slice(0, max).sort((a, b) => a.index - b.index);
  const keptSet = new Set(kept.map((k) => k.index));
  return { kept, dropped: ranked.filter((s) => !keptSet.has(s.index)) };
}

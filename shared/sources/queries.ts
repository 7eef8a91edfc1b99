/**
 * Search queries from a topic without a model: the topic as written, then its content words in
 * overlapping runs (longest first), then the topic with "survey" and "benchmark". Every query is
 * made of the topic's own words; duplicates (ignoring case) are dropped.
 */
import { isStopWord } from '../algo/text.ts';

export function offlineQueries(topic: string, n: number): string[] {
  const clean = topic.replace(/\s+/g, ' ').trim();
  const words = clean.split(' ').filter((w) => /[\p{L}\p{N}]/u.test(w) && !isStopWord(w.toLowerCase().replace(/[^\p{L}\p{N}-]/gu, '')));
  const out: string[] = [clean];
  for (let len = words.length - 1; len >= 2; len--) for (let i = 0; i + len <= words.length; i++) out.push(words.slice(i, i + len).join(' '));
  out.push(`${clean} survey`, `${clean} benchmark`);
  return dedupeQueries(out).slice(0, n);
}

export function dedupeQueries(qs: readonly string[]): string[] {
  const seen = new Set<string>();
  return qs.map((q) => q.replace(/\s+/g, ' ').trim()).filter((q) => q.length >= 2 && !seen.has(q.toLowerCase()) && (seen.add(q.toLowerCase()), true));
}

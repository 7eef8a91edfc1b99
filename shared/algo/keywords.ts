/**
 * Keyword labels: original spellings of words, generic-word filtering, distinct keywords and
 * keyword titles ("Quantization, Mixed Precision and Outliers"). Pure: no I/O.
 */
import type { SparseVector } from './tfidf.ts';

const TOKEN = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

/** Most frequent original spelling of each lower-cased word ("kv" → "KV"). */
export function caseForms(texts: readonly string[]): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const t of texts)
    for (const m of t.matchAll(TOKEN)) {
      const low = m[0].toLowerCase();
      let c = counts.get(low);
      if (!c) counts.set(low, (c = new Map()));
      c.set(m[0], (c.get(m[0]) ?? 0) + 1);
    }
  const out = new Map<string, string>();
  for (const [low, c] of counts) {
    // A capitalised plain word ("Attention", from titles and sentence starts) yields to its
    // lower-case spelling whenever that occurs; acronyms and mixed case ("KV", "VideoLLMs") stay.
    const best = [...c.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0][0];
    const capital = low.charAt(0).toUpperCase() + low.slice(1);
    out.set(low, best === capital && c.has(low) ? low : best);
  }
  return out;
}

/** Display form of a feature: original spelling, capitalised when it is usually lower-case. */
export function displayTerm(feature: string, forms: ReadonlyMap<string, string>, capitalise = true): string {
  return feature
    .split(' ')
    .map((w) => {
      const f = forms.get(w) ?? w;
      return capitalise && f === f.toLowerCase() ? f.charAt(0).toUpperCase() + f.slice(1) : f;
    })
    .join(' ');
}

/**
 * Pick up to `max` keywords from a ranked list without repeating words: a phrase made of chosen
 * single words, or extending one, replaces them ("memory" → "memory eviction"); anything else
 * that reuses a chosen word is skipped.
 */
export function distinctKeywords(ranked: readonly string[], max: number): string[] {
  const chosen: string[] = [];
  const covered = new Set<string>();
  for (const k of ranked) {
    const parts = k.split(' ');
    const used = parts.filter((p) => covered.has(p));
    if (used.length === 0) {
      if (chosen.length >= max) break;
      chosen.push(k);
    } else if (parts.length === 2 && used.every((u) => chosen.includes(u))) {
      // The phrase joins chosen single words: it takes the first one's place, the other goes.
      chosen[chosen.indexOf(used[0])] = k;
      if (used.length === 2) chosen.splice(chosen.indexOf(used[1]), 1);
    } else continue;
    parts.forEach((p) => covered.add(p));
  }
  return chosen;
}

/** "A", "A and B", "A, B and C". */
export function joinList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** A heading made of real top keywords, e.g. "Quantization, Mixed Precision and Outliers". */
export function keywordTitle(ranked: readonly string[], forms: ReadonlyMap<string, string>, max = 3): string {
  return joinList(distinctKeywords(ranked, max).map((k) => displayTerm(k, forms)));
}

/** Words too generic to name a section (research boilerplate); used for labels only, not similarity. */
const GENERIC = new Set(
  (
    'model models method methods approach approaches propose proposed proposes paper papers work works result results ' +
    'performance however large language novel efficient efficiently efficiency significant significantly achieve achieves ' +
    'achieving existing task tasks framework frameworks show shows shown demonstrate demonstrates demonstrated improve ' +
    'improves improved improving new state-of-the-art art experiments experimental reduce reduces reducing reduced across ' +
    'up times dataset datasets benchmark benchmarks study studies first key critical challenge challenges issue issues ' +
    'problem problems address addresses addressing remains remain often various recent recently substantial substantially ' +
    'strong high low compared comparable outperforms baseline baselines effective effectively enable enables enabling ' +
    'introduce introduces introduced leading maintaining maintain maintains further thus therefore including include ' +
    'includes well even use used uses make makes making allows allow different multiple several number future like less ' +
    'lower higher while whereas yet still across toward towards given due need needs requires require based approach ' +
    'present presents provide provides propose results paper technique techniques solution solutions ' +
    // words of outline instructions ("extract what it reports", "compare", "relate the subsections")
    'extract extracts report reports reported compare compares contrast relate section sections subsection subsections ' +
    'says say gather collect note point describe discuss discusses ' +
    'become becomes becoming extensive aggressive computational overall simple simply whole employ employs employed ' +
    'because cannot better best worse produce produces producing little much many more most since thereby'
  ).split(/\s+/),
);

/**
 * Label keywords of a vector: top features minus generic words (any part), minus features made
 * only of the topic's words (hyphenated compounds and plain plurals included), and minus features
 * with any word in `avoid` (a parent section's title words).
 */
export function labelTerms(v: SparseVector, n: number, topic: ReadonlySet<string>, avoid: ReadonlySet<string> = new Set()): string[] {
  const has = (set: ReadonlySet<string>, w: string) => set.has(w) || (w.endsWith('s') && set.has(w.slice(0, -1)));
  const inTopic = (w: string) => has(topic, w);
  const ok = (f: string) => {
    const parts = f.split(' ');
    if (parts.some((p) => p.length < 3 || GENERIC.has(p) || p.split('-').some((q) => has(avoid, q)))) return false;
    return !parts.flatMap((p) => p.split('-')).every(inTopic);
  };
  // Phrases name a topic better than single words: give two-word features a modest lift.
  return [...v.entries()]
    .filter(([f]) => ok(f))
    .map(([f, w]): [string, number] => [f, f.includes(' ') ? w * 1.3 : w])
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .slice(0, n)
    .map(([f]) => f);
}

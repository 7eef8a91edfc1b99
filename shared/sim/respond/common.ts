/**
 * What every responder of the simulator shares: the request context, and text helpers that
 * pick sentences of the source by their overlap with a query, short phrases of titles, section
 * ids and paper ids found in a text, and citations. Pure: no I/O.
 */
import type { Rng } from '../../algo/rng.ts';
import { sentences, stem, terms } from '../../algo/text.ts';
import type { PromptView } from '../prompt.ts';
import { bounds, subschema, type Schema } from '../schema.ts';

export interface RespondCtx {
  view: PromptView;
  /** The reply schema (also the root its $refs resolve against). */
  schema: Record<string, any>;
  rng: Rng;
  /** Content words of the prompt, for the generic generator. */
  words: readonly string[];
  /** Output tokens the request allows. */
  maxTokens: number;
}

export type Responder = (ctx: RespondCtx) => unknown;

/** The subschema at a path of the reply schema. */
export const at = (ctx: RespondCtx, path: readonly (string | number)[]): Schema | undefined => subschema(ctx.schema, ctx.schema, path);

/** A number inside the schema's bounds at `path` (default bounds when none): lo + share × (hi − lo), rounded to `step`. */
export function scaled(ctx: RespondCtx, path: readonly (string | number)[], share: number, dflt: { min: number; max: number }, step = 0.5): number {
  const b = bounds(at(ctx, path), ctx.schema);
  const lo = b.min ?? dflt.min;
  const hi = b.max ?? dflt.max;
  const x = lo + Math.min(1, Math.max(0, share)) * (hi - lo);
  return Math.min(hi, Math.max(lo, Math.round(x / step) * step));
}

/** Stemmed content terms. */
export const stems = (text: string): string[] => terms(text).map(stem);

/** Sentences fit to quote: long enough, mostly letters, citation marks kept. */
export function quotable(text: string): string[] {
  return sentences(text.replace(/^\s*#+\s.*$/gm, '\n'))
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length >= 12 && (s.match(/\p{L}/gu)?.length ?? 0) >= s.length * 0.4);
}

export interface Ranked {
  text: string;
  index: number;
  hits: number;
  /** Share of the query's distinct terms the sentence holds. */
  cover: number;
}

/** Sentences ranked by how many of the query's terms they hold (ties: earlier first). */
export function rankSentences(sents: readonly string[], query: string): Ranked[] {
  const q = new Set(stems(query));
  return sents
    .map((text, index) => {
      const own = new Set(stems(text));
      const hits = [...q].filter((t) => own.has(t)).length;
      return { text, index, hits, cover: q.size ? hits / q.size : 0 };
    })
    .sort((a, b) => b.hits - a.hits || a.index - b.index);
}

/** The n sentences of `text` that overlap `query` most, in their order in the text. */
export function bestSentences(text: string, query: string, n: number): string[] {
  const ranked = rankSentences(quotable(text), query).filter((r) => r.hits > 0).slice(0, n);
  return ranked.sort((a, b) => a.index - b.index).map((r) => r.text);
}

/** Word-overlap similarity of two texts (Dice over stemmed terms). */
export function similarity(a: string, b: string): number {
  const sa = new Set(stems(a));
  const sb = new Set(stems(b));
  if (sa.size === 0 || sb.size === 0) return 0;
  let n = 0;
  for (const t of sa) if (sb.has(t)) n++;
  return (2 * n) / (sa.size + sb.size);
}

export function clip(s: string, n: number): string {
  if (s.length <= n) return s;
  const cut = s.slice(0, n);
  const space = cut.lastIndexOf(' ');
  return `${(space > n * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

const SMALL = new Set(['a', 'an', 'the', 'of', 'for', 'and', 'in', 'on', 'to', 'with', 'via', 'by', 'from', 'at', 'as', 'or']);

/** A short phrase of a title: its part before a colon when that is short, else its first content words. */
export function titlePhrase(title: string, maxWords = 4): string {
  const t = title.replace(/\[[^\]]*\]/g, '').replace(/\s+/g, ' ').trim();
  const head = t.split(/[:：?]/)[0].trim();
  const pick = head.split(' ').length <= maxWords + 1 && head.length >= 4 ? head : t;
  const ws = pick.split(' ').filter(Boolean);
  const out: string[] = [];
  for (const w of ws) {
    if (out.length >= maxWords) break;
    if (out.length === 0 && SMALL.has(w.toLowerCase())) continue;
    out.push(w);
  }
  while (out.length > 1 && SMALL.has(out[out.length - 1].toLowerCase())) out.pop();
  return out.join(' ');
}

/** Capitalise the first letter. */
export const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "a, b and c". */
export function joinList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The most frequent content words of texts, in their display form, not in `avoid`. */
export function topWords(texts: readonly string[], n: number, avoid: ReadonlySet<string> = new Set()): string[] {
  const count = new Map<string, { n: number; form: string }>();
  for (const t of texts)
    for (const w of terms(t)) {
      if (w.length < 3 || /^\d/.test(w) || avoid.has(stem(w))) continue;
      const k = stem(w);
      const e = count.get(k) ?? { n: 0, form: w };
      e.n++;
      count.set(k, e);
    }
  return [...count.entries()].sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([, e]) => e.form);
}

/** Section ids shown as "[S1.2]" in a text, in order, once each. */
export function sectionIdsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\[(S\d+(?:\.\d+)*)\]/g)].map((m) => m[1]))];
}

/** Outline entries "[S1.2] Title" (optionally after #'s and a number) with the lines under them. */
export function outlineEntries(text: string): { id: string; title: string; body: string }[] {
  const out: { id: string; title: string; body: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*#*\s*\[(S\d+(?:\.\d+)*)\]\s*(?:\d+(?:\.\d+)*\.?\s+)?(.*)$/.exec(line);
    if (m) out.push({ id: m[1], title: m[2].trim(), body: '' });
    else if (out.length) out[out.length - 1].body += `${line}\n`;
  }
  return out;
}

/** The depth of a section id: S2 → 1, S2.3 → 2. */
export const depthOf = (id: string) => id.split('.').length;

/** Ids without a child among `ids` (leaves of the outline). */
export function leafIds(ids: readonly string[]): string[] {
  return ids.filter((id) => !ids.some((o) => o !== id && o.startsWith(`${id}.`)));
}

/** Citation in the project's syntax: [@P001] or [@P001; @P002]. */
export function citeIds(ids: readonly string[]): string {
  return ids.length ? `[${ids.map((i) => `@${i}`).join('; ')}]` : '';
}

/** Put a citation before a sentence's final punctuation. */
export function citeAtEnd(sentence: string, ids: readonly string[]): string {
  const s = sentence.trim().replace(/\s*\[\s*@[^\]]*\]/g, '');
  const m = /^(.*?)([.!?]+["'”’)]*)?$/s.exec(s)!;
  return `${m[1]} ${citeIds(ids)}${m[2] ?? '.'}`;
}

/** Pick one item (deterministic for the generator). */
export const pickOne = <T>(items: readonly T[], rng: Rng): T => items[rng.int(items.length)];

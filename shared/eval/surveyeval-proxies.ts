/**
 * The offline judge: content-derived proxies that the eval ops' `extractive` implementations
 * return when no model is used. They read the text with plain rules (documented in
 * docs/benchmarks.md) so a run without a model still produces every column, honestly
 * labelled as proxies. None of them is a substitute for a judge model's reading. Pure.
 */
import { stemmedTerms, words } from '../algo/text.ts';
import { balance } from './surveyeval-metrics.ts';
import { findNumericCitations, level2Sections, proseOf, splitSentences } from './surveyeval-text.ts';

const clamp01 = (x: number) => Math.max(0, Math.min(1, x));
const round1 = (x: number) => Math.round(x * 10) / 10;

function sentencesOf(text: string): string[] {
  return proseOf(text)
    .split(/\n\s*\n/)
    .flatMap((p) => splitSentences(p))
    .filter((s) => words(s).length > 0);
}

const share = (xs: readonly string[], test: (s: string) => boolean) => (xs.length ? xs.filter(test).length / xs.length : 0);

const TRANSITION = /^(?:however|moreover|in contrast|by contrast|building on|similarly|furthermore|finally|beyond|meanwhile|together|overall|in addition|likewise|while|whereas|conversely|to this end|in summary|taken together|complementing|along)\b/i;
const CLOSING = /conclu|future|outlook|discussion|summary|challenge|open (?:problem|question)|direction/i;

export interface ProxyScore {
  score: number;
  rationale: string;
}

/** Struct. proxy, 1-5: section count, balance, hierarchy, framing and transitions. */
export function structureProxy(content: string): ProxyScore {
  const secs = level2Sections(content);
  const n = secs.length;
  const count = n >= 3 && n <= 12 ? 1 : n === 2 || (n > 12 && n <= 20) ? 0.5 : 0;
  const bal = balance(secs.map((s) => words(s.text).length)) ?? 0;
  const nested = n ? secs.filter((s) => /^###[ \t]/m.test(s.text)).length / n : 0;
  const intro = /^##[ \t]/m.exec(content);
  const introWords = words(proseOf(intro ? content.slice(0, intro.index) : '')).length;
  const framing = (introWords >= 40 ? 0.5 : 0) + (n > 0 && CLOSING.test(secs[n - 1].title) ? 0.5 : 0);
  const paras = proseOf(content)
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => words(p).length >= 8);
  const flow = clamp01(share(paras.slice(1), (p) => TRANSITION.test(p)) / 0.3);
  const parts = { sections: count, balance: bal, hierarchy: clamp01(nested * 2), framing, transitions: flow };
  const m = Object.values(parts).reduce((a, b) => a + b, 0) / 5;
  const detail = Object.entries(parts).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
  return { score: round1(1 + 4 * m), rationale: `offline proxy (no judge model): ${n} level-2 sections; ${detail}` };
}

/** Rele. proxy, 1-5: share of sentences that mention a content word of the topic. */
export function relevanceProxy(title: string, content: string): ProxyScore {
  const topic = new Set(stemmedTerms(title));
  const ss = sentencesOf(content);
  const on = share(ss, (s) => stemmedTerms(s).some((t) => topic.has(t)));
  return {
    score: round1(1 + 4 * on),
    rationale: `offline proxy (no judge model): ${(100 * on).toFixed(0)}% of ${ss.length} sentences mention a word of the topic "${title}"`,
  };
}

export interface SectionProxy {
  dimensionScores: [number, number, number];
  score: number;
  rationale: string;
}

const INFORMAL = /\b(?:i|you|your|my|stuff|things|lots|really|pretty|basically|kind of|sort of|gonna|awesome)\b|n't\b|'re\b|'ve\b|!|\?/i;

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Indices (0-based) of items that nearly repeat an earlier kept item (term-set Jaccard ≥ t). */
export function nearDuplicates(items: readonly string[], t = 0.7): number[] {
  const kept: Set<string>[] = [];
  const out: number[] = [];
  items.forEach((s, i) => {
    const ts = new Set(stemmedTerms(s));
    if (kept.some((k) => jaccard(k, ts) >= t)) out.push(i);
    else kept.push(ts);
  });
  return out;
}

/** Lang. proxy per section, 0-100 each: formality, clarity (sentence length), non-redundancy. */
export function languageProxy(text: string): SectionProxy {
  const ss = sentencesOf(text);
  const formal = 100 * (1 - share(ss, (s) => INFORMAL.test(s)));
  const clear = 100 * share(ss, (s) => {
    const n = words(s).length;
    return n >= 8 && n <= 40;
  });
  const fresh = ss.length ? 100 * (1 - nearDuplicates(ss).length / ss.length) : 0;
  const dims: [number, number, number] = [round1(formal), round1(clear), round1(fresh)];
  return {
    dimensionScores: dims,
    score: round1((dims[0] + dims[1] + dims[2]) / 3),
    rationale: `offline proxy (no judge model) over ${ss.length} sentences: informal markers absent ${dims[0]}, 8-40 words long ${dims[1]}, not a near-repeat ${dims[2]}`,
  };
}

const CRITIQUE = /\b(?:however|limitation|limited|drawback|trade-?off|fails?|struggles?|weakness|costly|overhead|cannot|bottleneck|at the cost|degrad\w*|sensitive to|only when)\b/i;
const COMPARE = /\b(?:compared (?:to|with)|whereas|unlike|in contrast|outperform\w*|than|both|while|similar(?:ly)?|complement\w*)\b/i;
const FUTURE = /\b(?:future|open (?:question|problem|challenge)s?|remains?|direction|promising|unexplored|yet to|further work|need(?:s|ed)? to)\b/i;

/** Crit. proxy per section, 0-100 each: critique, synthesis across works, future directions. */
export function criticalProxy(text: string): SectionProxy {
  const ss = sentencesOf(text);
  const critique = 100 * clamp01(share(ss, (s) => CRITIQUE.test(s)) / 0.3);
  const synth = 100 * clamp01(share(ss, (s) => COMPARE.test(s) || new Set(findNumericCitations(s).flatMap((u) => u.numbers)).size >= 2) / 0.3);
  const future = 100 * clamp01(share(ss, (s) => FUTURE.test(s)) / 0.1);
  const dims: [number, number, number] = [round1(critique), round1(synth), round1(future)];
  return {
    dimensionScores: dims,
    score: round1((dims[0] + dims[1] + dims[2]) / 3),
    rationale: `offline proxy (no judge model) over ${ss.length} sentences: evaluative wording ${dims[0]}, comparison or multi-work synthesis ${dims[1]}, future directions ${dims[2]}`,
  };
}

const META = /^(?:this (?:section|part|survey|chapter)|section \d|in this (?:section|part)|the following)/i;

/** Atomic-fact proxy: each declarative sentence of ≥ 6 words (citations removed) is one claim. */
export function factsProxy(text: string): string[] {
  return sentencesOf(text)
    .map((s) => s.replace(/\s*\[[\d,;\s–-]+\]/g, '').replace(/\s+/g, ' ').trim())
    .filter((s) => words(s).length >= 6 && !META.test(s) && !/\?$/.test(s));
}

/**
 * Quality of a written survey, measured on its Markdown and record: repeated sentences,
 * sentences opening with an anaphor that points at nothing, headings made of stop-word or
 * generic terms, papers cited in a section other than the one their own abstract is closest to
 * (TF-IDF), the citation support rate from the verifier, and words; each against its goal.
 * Pure: no I/O.
 */
import { cosine, features, fitTfidf } from '../algo/tfidf.ts';
import { isStopWord, sentences, words } from '../algo/text.ts';
import { citedKeys } from '../algo/citations.ts';
import { opensWithAnaphor, proseSentences, sentenceKey } from '../algo/verify.ts';

/** The prose of a survey's body: no headings, tables, notes, code, math blocks or references. */
export function bodySentences(markdown: string): string[] {
  const body = markdown.split(/\n#{1,6} References\s*\n/)[0];
  const out: string[] = [];
  let fence = false;
  let math = false;
  for (const line of body.split('\n')) {
    if (/^\s{0,3}(```|~~~)/.test(line)) {
      fence = !fence;
      continue;
    }
    if (/^\s*\$\$/.test(line)) {
      if (!/^\s*\$\$.*\$\$\s*$/.test(line.trim()) || line.trim() === '$$') math = !math;
      continue;
    }
    if (fence || math || !line.trim() || /^\s*(#|\||>|<)/.test(line)) continue;
    const text = line.replace(/^\s*(?:[-*]|\d+\.)\s+/, '').replace(/^\*\*[^*]+\*\*\s*/, '');
    for (const s of proseSentences(text)) if (/\p{L}/u.test(s)) out.push(s.replace(/\s*\[\d+(?:\s*[,–-]\s*\d+)*\]/g, ''));
  }
  return out;
}

/** Sentences of at least `minWords` words that already appeared earlier in the survey. */
export function repeatedSentences(markdown: string, minWords = 5): { count: number; examples: string[] } {
  const seen = new Set<string>();
  const examples: string[] = [];
  let count = 0;
  for (const s of bodySentences(markdown)) {
    const key = sentenceKey(s);
    if (key.split(' ').length < minWords) continue;
    if (seen.has(key)) {
      count++;
      if (examples.length < 5) examples.push(s);
    } else seen.add(key);
  }
  return { count, examples };
}

/** Sentences that open with a pronoun, demonstrative or connective pointing outside them ("They…", "This limitation…", "However, …"). */
export function anaphorOpenings(markdown: string): { count: number; total: number; share: number; examples: string[] } {
  const all = bodySentences(markdown);
  const bad = all.filter((s) => opensWithAnaphor(s));
  return { count: bad.length, total: all.length, share: all.length ? bad.length / all.length : 0, examples: bad.slice(0, 5) };
}

/** Words that never name a topic in a heading: web and authorship debris. */
const DEBRIS = new Set(['author', 'authors', 'github', 'com', 'http', 'https', 'www', 'available', 'code', 'et', 'al', 'arxiv', 'url', 'org', 'io']);
/** Words too general to name a topic on their own. */
const GENERIC = new Set(
  (
    'paper papers method methods approach approaches model models result results work works study studies analysis framework frameworks ' +
    'system systems performance high low long short large small based proposed new novel various different existing importance important ' +
    'significant task tasks data problem problems issue issues general other others overview miscellaneous misc topic topics related ' +
    'collection collections set sets use using via shared common further additional aspects part parts section sections technique techniques ' +
    'way ways type types several first second third main terms recent current effective efficient better best ' +
    'number numbers progress remarkable impressive substantial increased increasing growing rapid'
  ).split(/\s+/),
);
const PLAIN_HEADINGS = /^(introduction|conclusions?|abstract|references|background|discussion|summary)$/i;

/**
 * Why a heading is generic, or null: it holds web or authorship debris ("authors", "github"),
 * every content word is generic ("Methods and Results"), it is a bare list of single words one
 * of which is generic ("Token, Long and Importance"), or one part of its list names nothing
 * ("Remarkable Progress and KV Caches").
 */
export function genericHeading(title: string): string | null {
  const t = title.trim();
  if (PLAIN_HEADINGS.test(t)) return null;
  const ws = words(t);
  const debris = ws.filter((w) => DEBRIS.has(w));
  if (debris.length) return `debris: ${debris.join(', ')}`;
  const content = ws.filter((w) => !isStopWord(w) && !/^\d+$/.test(w));
  if (content.length === 0) return 'only stop words';
  if (content.every((w) => GENERIC.has(w))) return 'only generic words';
  const items = t.split(/\s*,\s*|\s+and\s+|\s*&\s*/).filter(Boolean);
  if (items.length < 2) return null;
  const vague = (i: string) => words(i).filter((w) => !isStopWord(w)).every((w) => GENERIC.has(w));
  if (items.every((i) => !/\s/.test(i)) && items.some(vague)) return 'a list of single words';
  if (items.some(vague)) return 'a part that names nothing';
  return null;
}

/** Numbered headings ("## 2 …", "### 2.1 …") of a survey's Markdown. */
export function headings(markdown: string): { number: string; title: string }[] {
  return [...markdown.matchAll(/^#{2,6} (\d+(?:\.\d+)*)\.? (.+)$/gm)].map((m) => ({ number: m[1], title: m[2].trim() }));
}

export function genericHeadings(markdown: string): { count: number; headings: { number: string; title: string; why: string }[] } {
  const bad = headings(markdown).flatMap((h) => {
    const why = genericHeading(h.title);
    return why ? [{ ...h, why }] : [];
  });
  return { count: bad.length, headings: bad };
}

export interface SectionText {
  number: string;
  title: string;
  /** Text with `[@id]` citations. */
  text: string;
}

/**
 * Papers cited in leaf sections whose abstract is closer (TF-IDF cosine) to another leaf section
 * than to every section that cites it. A section is represented by its heading and its text
 * without the sentences citing the paper in question, so a paper never pulls a section towards itself.
 */
export function misfiledPapers(
  sections: readonly SectionText[],
  abstracts: ReadonlyMap<string, string>,
): { count: number; clear: number; checked: number; papers: { id: string; citedIn: string[]; closer: string; clear: boolean }[] } {
  const leaves = sections.filter((s) => s.number && !sections.some((o) => o.number.startsWith(`${s.number}.`)));
  if (leaves.length < 2) return { count: 0, clear: 0, checked: 0, papers: [] };
  const sents = leaves.map((s) => sentences(s.text.replace(/\n+/g, ' ')).map((x) => ({ text: x, keys: citedKeys(x) })));
  const ids = [...new Set(leaves.flatMap((s) => citedKeys(s.text)))].filter((id) => abstracts.get(id)?.trim());
  const profile = (i: number, without: string) => features(`${leaves[i].title} ${leaves[i].title} ${sents[i].filter((x) => !x.keys.includes(without)).map((x) => x.text.replace(/\[\s*@[^\]]*\]/g, ' ')).join(' ')}`);
  const model = fitTfidf([...leaves.map((_, i) => profile(i, '')), ...ids.map((id) => features(abstracts.get(id)!))]);
  const papers: { id: string; citedIn: string[]; closer: string; clear: boolean }[] = [];
  for (const id of ids) {
    const a = model.vector(features(abstracts.get(id)!));
    const sims = leaves.map((_, i) => cosine(a, model.vector(profile(i, id))));
    const best = sims.reduce((b, s, i) => (s > sims[b] ? i : b), 0);
    const citedIn = leaves.flatMap((s, i) => (sents[i].some((x) => x.keys.includes(id)) ? [s.number] : []));
    if (!citedIn.includes(leaves[best].number) && sims[best] > 0) {
      // Among many sections of one topic the nearest one often wins by a hair. "Clearly"
      // misfiled: every section the paper is cited in is less than half as close as the best.
      const citedSim = Math.max(0, ...leaves.flatMap((s, i) => (citedIn.includes(s.number) ? [sims[i]] : [])));
      papers.push({ id, citedIn, closer: leaves[best].number, clear: citedSim < 0.5 * sims[best] });
    }
  }
  return { count: papers.length, clear: papers.filter((p) => p.clear).length, checked: ids.length, papers };
}

export interface SupportCounts {
  citations: number;
  citationsSupported: number;
}

export interface QualityInput {
  markdown: string;
  sections: readonly SectionText[];
  abstracts: ReadonlyMap<string, string>;
  /** The verifier's counts over the text as written (before any repair); absent when verification was off. */
  support?: SupportCounts;
}

export interface Goal {
  metric: string;
  value: string;
  goal: string;
  pass: boolean | null;
}

export interface QualityReport {
  repeated: ReturnType<typeof repeatedSentences>;
  anaphor: ReturnType<typeof anaphorOpenings>;
  generic: ReturnType<typeof genericHeadings>;
  misfiled: ReturnType<typeof misfiledPapers>;
  supportRate: number | null;
  words: number;
  goals: Goal[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Every metric of a survey, with the goals: 0 repeated, < 3% anaphor openings, 0 generic headings, ≥ 95% supported citations. */
export function surveyQuality(q: QualityInput): QualityReport {
  const repeated = repeatedSentences(q.markdown);
  const anaphor = anaphorOpenings(q.markdown);
  const generic = genericHeadings(q.markdown);
  const misfiled = misfiledPapers(q.sections, q.abstracts);
  const supportRate = q.support && q.support.citations ? q.support.citationsSupported / q.support.citations : null;
  const wordCount = q.markdown.split(/\n#{1,6} References\s*\n/)[0].split(/\s+/).filter(Boolean).length;
  const goals: Goal[] = [
    { metric: 'repeated sentences', value: String(repeated.count), goal: '0', pass: repeated.count === 0 },
    { metric: 'unresolved-anaphor openings', value: `${anaphor.count}/${anaphor.total} (${pct(anaphor.share)})`, goal: '< 3%', pass: anaphor.share < 0.03 },
    { metric: 'generic headings', value: `${generic.count}/${headings(q.markdown).length}`, goal: '0', pass: generic.count === 0 },
    { metric: 'papers not in their nearest section', value: `${misfiled.count}/${misfiled.checked}`, goal: '(reported)', pass: null },
    { metric: 'papers clearly filed against their abstract', value: `${misfiled.clear}/${misfiled.checked}`, goal: '(reported)', pass: null },
    { metric: 'citations supported', value: supportRate === null ? 'not verified' : `${q.support!.citationsSupported}/${q.support!.citations} (${pct(supportRate)})`, goal: '≥ 95%', pass: supportRate === null ? false : supportRate >= 0.95 },
    { metric: 'words (body)', value: String(wordCount), goal: '(reported)', pass: null },
  ];
  return { repeated, anaphor, generic, misfiled, supportRate, words: wordCount, goals };
}

/** A Markdown table of the goals of one survey. */
export function qualityTable(topic: string, r: QualityReport): string {
  const rows = r.goals.map((g) => `| ${g.metric} | ${g.value} | ${g.goal} | ${g.pass === null ? '' : g.pass ? 'PASS' : 'FAIL'} |`);
  return [`### ${topic}`, '', '| metric | value | goal | |', '|---|---|---|---|', ...rows].join('\n');
}

/**
 * The offline writer's prose, computed from the material: a leaf groups its papers by approach
 * (clusters of their digests, each named by the noun phrases its papers share) and quotes each
 * paper's most fitting sentences that stand on their own; parents, the introduction and the
 * conclusion summarise their sections' themes instead of repeating their sentences. Pure: no I/O.
 */
import { centrality, cosine, features, kmeans, tfidfVectors, joinList, type SparseVector } from './tfidf.ts';
import { displayPhrase, distinctPhrases, indexPhrases, phraseCandidates, rankGroupPhrases, type PhraseIndex } from './phrases.ts';
import { cleanProse, sentenceKey, standalone, statesOpenProblem } from './prose.ts';
import { comparisonTable, reportedFigure } from './compare-table.ts';
import { findCitations } from './citations.ts';
import { createRng, seedFromString } from './rng.ts';
import { sentences } from './text.ts';

export interface PaperMaterial {
  paperId: string;
  paperTitle: string;
  text: string;
  /** How the paper is named as a subject ("Chen et al."). */
  subject: string;
  year?: number | null;
}

const plain = (s: string) => s.replace(/\[\s*@[^\]]*\]/g, ' ');
const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
const TEENS = ['thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
/** A count in words up to 99 (a verifier checks digits against the sources; counts are ours, not theirs). */
export const countWord = (n: number): string =>
  NUMBER_WORDS[n] ?? (n < 20 ? TEENS[n - 13] : n < 100 ? `${TENS[Math.floor(n / 10)]}${n % 10 ? `-${NUMBER_WORDS[n % 10]}` : ''}` : String(n));
const papersOf = (n: number) => `${countWord(n)} paper${n === 1 ? '' : 's'}`;
const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Sentences of a text, a piece after ";" or ":" that starts in lower case kept with its sentence. */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const s of sentences(text.replace(/\n+/g, ' '))) {
    if (out.length && /[;:]$/.test(out[out.length - 1]) && /^[a-z(]/.test(s)) out[out.length - 1] += ` ${s}`;
    else out.push(s);
  }
  return out;
}

/** End a sentence with the paper's citation (before its final stop) unless it already cites it. */
export function citeAtEnd(s: string, id: string): string {
  if (findCitations(s).some((c) => c.keys.includes(id))) return s;
  const m = /^(.*?)([.!?]+["'”’)]*)?\s*$/s.exec(s.trim())!;
  return `${m[1].replace(/[;:,]\s*$/, '')} [@${id}]${m[2] ?? '.'}`;
}

/** A paper's sentences that can stand in a survey: cleaned, first person named, openings resolved, cited. */
export function usableSentences(p: PaperMaterial): string[] {
  const seen = new Set<string>();
  return splitSentences(p.text).flatMap((s) => {
    const c = cleanProse(s);
    const r = c && standalone(c, p.subject);
    // Fragments (a split after "vs." or "e.g.") start in lower case or with a number: not sentences.
    if (!r || plain(r).trim().split(/\s+/).length < 6 || !/^[\p{Lu}"“]/u.test(r)) return [];
    const key = sentenceKey(r);
    if (seen.has(key)) return [];
    seen.add(key);
    return [citeAtEnd(r, p.paperId)];
  });
}

/** The sentence that stands for a paper no usable sentence of which survives. */
export const titleSentence = (p: PaperMaterial) => citeAtEnd(`${p.subject} present “${p.paperTitle.replace(/[.\s]+$/, '')}”.`, p.paperId);

/** Texts with author names, citations and table rows removed, for finding themes. */
const themeText = (s: string) => plain(s).replace(/\b[\p{Lu}][\p{L}'’-]+ (?:et al\.|and [\p{Lu}][\p{L}'’-]+)/gu, ' . ').replace(/^\|.*$/gm, ' ');

/** Noun phrases that set each group of texts apart from the others (sentences are the documents). */
export function groupThemes(groups: readonly (readonly string[])[], topic: ReadonlySet<string>, perGroup = 3): { index: PhraseIndex; themes: string[][] } {
  const docs: string[] = [];
  const members = groups.map((g) => g.flatMap((t) => splitSentences(themeText(t)).map((s) => docs.push(s) - 1)));
  const index = indexPhrases(docs, 3);
  const themes = members.map((m) => {
    let ranked = rankGroupPhrases(index, m, { topic, minDf: Math.min(2, m.length) });
    if (ranked.length === 0) ranked = rankGroupPhrases(index, m, { topic, minDf: 1 });
    return distinctPhrases(ranked, perGroup).map((k) => displayPhrase(k, index.forms));
  });
  return { index, themes };
}

export interface LeafArgs {
  surveyTitle: string;
  sectionTitle: string;
  construction: string;
  papers: readonly PaperMaterial[];
  /** The leaf is written in parts (write-parts.ts): this is part `index` of `of`, of `papers` in all. */
  part?: { index: number; of: number; papers: number };
}

/**
 * A leaf section: papers grouped by approach, each group opened by the papers it holds and what
 * they share, then each paper's best one or two sentences; a lead sentence names the groups. The
 * comparison table (where at least two papers state a measured result) comes separately, to be
 * placed after the section's text.
 */
export function leafProse(a: LeafArgs): { text: string; table: string } {
  const papers = a.papers.filter((p) => p.text.trim());
  if (papers.length === 0) return { text: '', table: '' };
  const own = papers.map((p) => {
    const s = usableSentences(p);
    return s.length ? s : [titleSentence(p)];
  });
  // Rank every paper's sentences by fit to the section, specificity and concrete results.
  const flat = own.flatMap((ss, pi) => ss.map((s) => ({ pi, s })));
  const { vectors } = tfidfVectors([...flat.map((x) => features(plain(x.s))), features(`${a.sectionTitle} ${a.construction}`)]);
  const q = vectors.pop()!;
  const cen = centrality(vectors);
  // A sentence that names the paper states its own contribution, not the field's background.
  const score = flat.map(
    (x, i) => 0.5 * cosine(vectors[i], q) + 0.3 * (1 - cen[i]) + (/\d/.test(plain(x.s)) ? 0.2 : 0) + (x.s.includes(papers[x.pi].subject) ? 0.25 : 0),
  );
  const twoEach = papers.length <= 8;
  const chosen = papers.map((_, pi) => {
    const mine = flat.map((x, i) => ({ x, i })).filter((y) => y.x.pi === pi).sort((u, v) => score[v.i] - score[u.i] || u.i - v.i);
    return mine.slice(0, twoEach ? 2 : 1).sort((u, v) => u.i - v.i).map((y) => ({ s: y.x.s, v: vectors[y.i] }));
  });
  // Group the papers by approach: clusters of their titles and chosen sentences.
  const topic = new Set([...features(a.surveyTitle, false)]);
  const docs = papers.map((p, pi) => `${p.paperTitle}. ${chosen[pi].map((c) => plain(c.s)).join(' ')} ${plain(p.text)}`);
  const pvecs = tfidfVectors(docs.map((d) => features(d))).vectors;
  const k = papers.length >= 5 ? Math.max(2, Math.min(4, Math.round(papers.length / 4))) : 1;
  const rng = createRng(seedFromString(`leaf|${papers.map((p) => p.paperId).join(',')}`));
  const groups = k === 1 ? [papers.map((_, i) => i)] : kmeans(pvecs, k, rng).members.filter((m) => m.length);
  const index = indexPhrases(docs, 3);
  const labelOf = (g: number[], avoid: Set<string>) => {
    const ranked = rankGroupPhrases(index, g, { topic, avoid, minDf: Math.min(2, g.length) });
    // Several words name an approach better than one: phrases first, single words only to fill up.
    const ordered = [...ranked.filter((k) => k.includes(' ')), ...ranked.filter((k) => !k.includes(' '))];
    return distinctPhrases(ordered, 2).map((key) => displayPhrase(key, index.forms));
  };
  const sectionWords = new Set(a.sectionTitle.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2));
  const labels = groups.map((g) => labelOf(g, sectionWords));
  const named = (pi: number) => `${papers[pi].subject} [@${papers[pi].paperId}]`;
  const paragraphs: string[] = [];
  if (groups.length > 1 && labels.every((l) => l.length)) {
    const lines = `${countWord(groups.length)} lines of work: ${joinList(groups.map((g, gi) => `${labels[gi][0]} (${papersOf(g.length)})`))}.`;
    // A part says which share of the section it covers: the counts must add up for the reader.
    const lead = !a.part
      ? `The ${papersOf(papers.length)} in ${a.sectionTitle} follow`
      : a.part.index === 1
        ? `Of the ${papersOf(a.part.papers)} in ${a.sectionTitle}, ${countWord(papers.length)} follow`
        : `Another ${papersOf(papers.length)} follow`;
    paragraphs.push(`${lead} ${lines}`);
  }
  groups.forEach((g, gi) => {
    const opener =
      groups.length > 1 && labels[gi].length
        ? // Uncited: what a group shares is our reading of its papers, each of which is cited for its own sentences below.
          g.length <= 4
          ? `${capitalise(joinList(g.map((pi) => papers[pi].subject)))} ${g.length === 1 ? 'centres' : 'centre'} on ${joinList(labels[gi])}.`
          : `${capitalise(papersOf(g.length))} centre on ${joinList(labels[gi])}: ${joinList(g.map((pi) => papers[pi].subject))}.`.replace(/\.\.$/, '.')
        : '';
    const body = chain(g.flatMap((pi) => chosen[pi]));
    paragraphs.push([opener, ...body].filter(Boolean).join(' '));
  });
  const rows = groups.flatMap((g) =>
    g.map((pi) => {
      // The approach as the paper's own title names it: its rarest multi-word phrase in the section.
      const cands = phraseCandidates(papers[pi].paperTitle).filter((o) => o.key.includes(' ') && !o.key.split(' ').every((w) => topic.has(w)));
      const best = cands.sort((x, y) => (index.df.get(x.key) ?? 0) - (index.df.get(y.key) ?? 0) || y.key.length - x.key.length)[0];
      const approach = best?.surface ?? '';
      return { paper: named(pi), year: papers[pi].year ?? null, approach, reports: reportedFigure(own[pi]) };
    }),
  );
  return { text: paragraphs.filter(Boolean).join('\n\n'), table: comparisonTable(rows) };
}

/** Order sentences by a nearest-neighbour chain from the first, so neighbours read on from each other. */
function chain(items: { s: string; v: SparseVector }[]): string[] {
  if (items.length <= 2) return items.map((x) => x.s);
  const left = items.map((_, i) => i);
  const order: number[] = [];
  let cur = 0;
  while (left.length) {
    order.push(cur);
    left.splice(left.indexOf(cur), 1);
    if (!left.length) break;
    const from = cur;
    cur = left.reduce((b, i) => (cosine(items[i].v, items[from].v) > cosine(items[b].v, items[from].v) ? i : b), left[0]);
  }
  return order.map((i) => items[i].s);
}

export interface ChildSummary {
  number: string;
  title: string;
  text: string;
  /** Papers the section cites (with its subsections), when known. */
  papers?: number;
}

const citedIn = (c: { text: string; papers?: number }) => c.papers ?? new Set(findCitations(c.text).flatMap((x) => x.keys)).size;

/** A parent section's opening: what each subsection gathers and the themes they share; no sentence of theirs repeated. */
export function parentProse(surveyTitle: string, number: string, children: readonly ChildSummary[]): string {
  if (children.length === 0) return '';
  const topic = new Set(features(surveyTitle, false));
  const { themes, index } = groupThemes(children.map((c) => [c.text]), topic);
  const out = [`Section ${number} has ${countWord(children.length)} subsections.`];
  children.forEach((c, i) => {
    const n = citedIn(c);
    out.push(themes[i].length ? `${c.title} (${c.number}, ${papersOf(n)}) centres on ${joinList(themes[i])}.` : `${c.title} (${c.number}) holds ${papersOf(n)}.`);
  });
  const shared = sharedThemes(index, children.map((c) => c.text), Math.max(2, Math.ceil(children.length / 2)));
  if (shared.length) out.push(`Themes that recur across the subsections include ${joinList(shared)}.`);
  return out.join(' ');
}

/** Phrases used by at least `min` of the texts, most widely used first. */
function sharedThemes(index: PhraseIndex, texts: readonly string[], min: number, max = 3): string[] {
  return sharedThemeCounts(index, texts, min, max).map((x) => x.phrase);
}

/** Like sharedThemes, with the number of texts that use each phrase. */
function sharedThemeCounts(index: PhraseIndex, texts: readonly string[], min: number, max = 3): { phrase: string; count: number }[] {
  const per = texts.map((t) => new Set(indexPhrases([themeText(t)], 3).sets[0]));
  const counts = new Map<string, number>();
  for (const s of per) for (const k of s) counts.set(k, (counts.get(k) ?? 0) + 1);
  const ranked = [...counts.entries()]
    .filter(([k, c]) => c >= min && k.includes(' ') && rankable(k))
    .sort((x, y) => y[1] - x[1] || (index.df.get(y[0]) ?? 0) - (index.df.get(x[0]) ?? 0) || (x[0] < y[0] ? -1 : 1))
    .map(([k]) => k);
  return distinctPhrases(ranked, max).map((k) => ({ phrase: displayPhrase(k, index.forms), count: counts.get(k)! }));
}

const rankable = (k: string) => !/\b(?:et|al)\b/.test(k);

export interface RootProse {
  abstract: string;
  text: string;
}

/** Abstract and introduction from the top-level sections' themes. */
export function rootProse(surveyTitle: string, paperCount: number, children: readonly ChildSummary[], conclusionNumber?: string): RootProse {
  const topic = new Set(features(surveyTitle, false));
  const { themes, index } = groupThemes(children.map((c) => [c.text]), topic);
  const shared = sharedThemes(index, children.map((c) => c.text), Math.max(2, Math.ceil(children.length / 2)));
  const abstract = [
    `The survey organises ${papersOf(paperCount)} on ${surveyTitle} into ${countWord(children.length)} sections: ${children.map((c) => `(${c.number}) ${c.title}`).join('; ')}.`,
    shared.length ? `Themes running through several sections are ${joinList(shared)}.` : '',
    conclusionNumber ? `A closing section sets out where the papers agree, where they part ways and the open problems they state.` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const intro = [
    `Work on ${surveyTitle} is collected here from ${papersOf(paperCount)}, filed by what each contributes.`,
    ...children.map((c, i) => `Section ${c.number}, ${c.title}, covers ${papersOf(citedIn(c))}${themes[i].length ? ` on ${joinList(themes[i])}` : ''}.`),
    conclusionNumber ? `Section ${conclusionNumber} concludes with the common ground, the splits and the open problems.` : '',
  ].filter(Boolean);
  return { abstract, text: intro.join('\n\n') };
}

export interface Note {
  paperId: string;
  subject: string;
  text: string;
}

/**
 * The conclusion: what the sections share (phrases used across most of them), where they split
 * (each section's most distinctive phrases) and the open problems the papers state (their own
 * sentences about limitations, challenges and future work, none already used in a section).
 */
export function conclusionProse(surveyTitle: string, sections: readonly ChildSummary[], notes: readonly Note[], maxProblems = 6): string {
  const topic = new Set(features(surveyTitle, false));
  const { themes, index } = groupThemes(sections.map((c) => [c.text]), topic, 2);
  const out: string[] = [];
  const shared = sharedThemeCounts(index, sections.map((c) => c.text), Math.max(2, Math.ceil(sections.length / 2)));
  if (shared.length) out.push(`Common ground: ${joinList(shared.map((x) => `${x.phrase} comes up in ${countWord(x.count)} of the ${countWord(sections.length)} sections`))}.`);
  const split = sections.flatMap((c, i) => (themes[i].length ? [`${joinList(themes[i])} in Section ${c.number}`] : []));
  if (split.length >= 2) out.push(`The sections part ways in what they put first: ${joinList(split)}.`);
  const used = new Set(sections.flatMap((c) => splitSentences(c.text).map(sentenceKey)));
  const cands: { s: string; v: SparseVector }[] = [];
  const seen = new Set<string>();
  for (const n of notes)
    for (const s of splitSentences(n.text)) {
      const c = cleanProse(s);
      const r = c && standalone(c, n.subject);
      // Tested after the opening is resolved: "To address these challenges, …" states no problem.
      if (!r || !statesOpenProblem(r)) continue;
      const key = r ? sentenceKey(r) : '';
      if (!r || used.has(key) || seen.has(key) || key.length < 30) continue;
      seen.add(key);
      cands.push({ s: citeAtEnd(r, n.paperId), v: new Map() });
    }
  if (cands.length) {
    const { vectors } = tfidfVectors(cands.map((c) => features(plain(c.s))));
    cands.forEach((c, i) => (c.v = vectors[i]));
    // Diverse problems first: each pick is the one least like those already picked (shorter on ties).
    const picked: typeof cands = [];
    const left = [...cands];
    while (picked.length < maxProblems && left.length) {
      let bi = 0;
      let bs = Infinity;
      left.forEach((c, i) => {
        const sim = picked.length ? Math.max(...picked.map((p) => cosine(p.v, c.v))) : c.s.length / 1000;
        if (sim < bs) [bi, bs] = [i, sim];
      });
      picked.push(left.splice(bi, 1)[0]);
    }
    out.push(`Open problems named by the papers themselves (${countWord(cands.length)} such statements in all):`);
    return `${out.slice(0, -1).join('\n\n')}${out.length > 1 ? '\n\n' : ''}${out[out.length - 1]}\n\n${picked.map((p) => `- ${p.s}`).join('\n')}`;
  }
  out.push('None of the papers states an open problem in the material gathered here.');
  return out.join('\n\n');
}

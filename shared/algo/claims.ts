/**
 * Claims of a survey's sentences, the pure part the verifier and the quality measures share:
 * sentences that "et al." and citation brackets never split, the cited sentences of a text, the
 * claim each citation bracket stands for, the numbers and names a claim states, its content
 * words, and openings that point back at something outside the sentence. Pure: no I/O.
 */
import { findCitations, filterCitations } from './citations.ts';
import { isStopWord, sentenceSpans, stem, words } from './text.ts';


/** A sentence of a section text that cites at least one source. */
export interface CitedSentence {
  /** Position among the text's sentences (cited or not), for the report. */
  index: number;
  start: number;
  end: number;
  /** The sentence as written, citation brackets included, trimmed. */
  text: string;
  keys: string[];
}

const ABBREVIATION = /\b(?:et al|e\.g|i\.e|vs|cf|Fig|Figs|Eq|Eqs|Sec|Tab|approx|resp)\./g;

const hasLetters = (s: string) => /[\p{L}\p{N}]/u.test(s);

/** Sentence spans of a text whose citation brackets never split a sentence ("[@P1; @P2]"). */
function spansOf(text: string): { start: number; end: number }[] {
  let shadow = text;
  for (const m of findCitations(text)) shadow = shadow.slice(0, m.start) + 'C'.repeat(m.end - m.start) + shadow.slice(m.end);
  // The stop of "et al.", "e.g.", "i.e.", "vs." does not end a sentence.
  shadow = shadow.replace(ABBREVIATION, (m) => m.replace(/\./g, '_'));
  const out: { start: number; end: number }[] = [];
  for (const s of sentenceSpans(shadow)) {
    const prev = out[out.length - 1];
    const body = shadow.slice(s.start, s.end);
    const prevBody = prev ? shadow.slice(prev.start, prev.end).trim() : '';
    const sameLine = prev && !/\n/.test(shadow.slice(prev.start, prev.end));
    // A piece after ";" or ":" that goes on in lower case, or a bare citation after the full stop,
    // belongs to the sentence before it.
    const continues = prev && sameLine && /[;:]$/.test(prevBody) && /^\s*[a-z(\\]/.test(body);
    const bareCite = prev && sameLine && !hasLetters(body.replace(/C{3,}/g, ''));
    if (continues || bareCite) prev.end = s.end;
    else out.push({ start: s.start, end: s.end });
  }
  return out;
}

/** The sentences of a text, trimmed: "et al." and citation brackets never end one, a lower-case piece after ";" belongs to the one before. */
export function proseSentences(text: string): string[] {
  return spansOf(text)
    .map((sp) => text.slice(sp.start, sp.end).trim())
    .filter(Boolean);
}

/** Every sentence of a text with a citation, with its cited keys in written order. */
export function citedSentences(text: string): CitedSentence[] {
  const marks = findCitations(text);
  const out: CitedSentence[] = [];
  spansOf(text).forEach((sp, index) => {
    const keys = [...new Set(marks.filter((m) => m.start >= sp.start && m.end <= sp.end).flatMap((m) => m.keys))];
    if (!keys.length) return;
    const raw = text.slice(sp.start, sp.end);
    const lead = raw.length - raw.trimStart().length;
    const t = raw.trim();
    out.push({ index, start: sp.start + lead, end: sp.start + lead + t.length, text: t, keys });
  });
  return out;
}

/** The sentence without its citation brackets, spaces tidied. */
export function withoutCitations(s: string): string {
  return filterCitations(s, () => false)
    .text.replace(/\s+([,.;:!?])/g, '$1')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

export interface ClaimSegment {
  keys: string[];
  text: string;
  /** Too few content words of its own to check beyond its names and numbers. */
  short: boolean;
  /** A claim several sources share: each must be about it somewhere, not in one passage. */
  collective: boolean;
}

/**
 * The claim each citation bracket of a sentence stands for: the words since the previous bracket
 * (the last bracket also takes what follows it). A claim of fewer than `minWords` content words
 * ("… such as H2O [@P3] and SnapKV [@P5]") is marked short: only its names and numbers are checked.
 * When every bracket but the last is short ("Guan et al. [@P1], Dang et al. [@P2] and Nguyen
 * et al. [@P3] centre on X"), the sentence says one thing of all of them: each is checked against it.
 */
export function claimSegments(sentence: string, minWords = 4): ClaimSegment[] {
  const marks = findCitations(sentence);
  const segs = marks.map((m, i) => {
    const from = i === 0 ? 0 : marks[i - 1].end;
    const to = i === marks.length - 1 ? sentence.length : m.start;
    const text = withoutCitations(sentence.slice(from, to));
    return { keys: m.keys, text, short: marks.length > 1 && contentTerms(text).length < minWords, collective: m.keys.length > 1 };
  });
  if (segs.length > 1 && segs.slice(0, -1).every((s) => s.short) && !segs[segs.length - 1].short) {
    const whole = withoutCitations(sentence);
    return segs.map((s) => ({ ...s, text: whole, short: false, collective: true }));
  }
  return segs;
}

const NUMBER = /\d+(?:[.,]\d+)*/g;

/** Numbers written with digits, thousands separators removed ("1,024" → "1024", "3.50" → "3.5"). */
export function numbersIn(text: string): string[] {
  const out = (withoutCitations(text).match(NUMBER) ?? []).map((n) => {
    let v = /^\d{1,3}(,\d{3})+(\.\d+)?$/.test(n) ? n.replace(/,/g, '') : n.replace(/,/g, '.');
    if (/\.\d*0+$/.test(v)) v = v.replace(/0+$/, '').replace(/\.$/, '');
    return v;
  });
  return [...new Set(out)];
}

/** True for a token that reads as a name: an acronym ("KV", "LLMs"), mixed case ("LLaMA", "SnapKV") or letters with digits ("H2O", "GPT-4"). */
function nameToken(t: string): boolean {
  if (!/^\p{L}/u.test(t)) return false;
  const letters = t.replace(/[^\p{L}]/gu, '');
  if (letters.length < 2 && !/\d/.test(t)) return false;
  const upper = (t.match(/\p{Lu}/gu) ?? []).length;
  if (upper >= 2) return true;
  if (upper >= 1 && /\d/.test(t) && /\p{L}/u.test(t)) return true;
  return /\p{Ll}\p{Lu}/u.test(t);
}

const AUTHORS = /\b\p{Lu}[\p{L}'’-]+(?:\s+(?:and|&)\s+\p{Lu}[\p{L}'’-]+)?\s+et al\.?|\b\p{Lu}[\p{L}'’-]+\s+(?:and|&)\s+\p{Lu}[\p{L}'’-]+(?=\s+(?:propose|present|introduce|show|find|report|study|develop|design|use|argue|describe|evaluate)s?\b)/gu;
const TITLE_WORD = /^\p{Lu}\p{Ll}+$/u;

/**
 * Named entities of a sentence: acronyms and model names (see `nameToken`) and runs of two or
 * more capitalised words ("Visual Autoregressive", "Grouped Query Attention"); a run's leading
 * stop word ("The", "This") is not part of it.
 */
export function entitiesIn(text: string): string[] {
  // A paper named by its authors ("Jia et al.", "Chen and Li et al.") is the citation's subject, not a claim.
  const clean = withoutCitations(text).replace(AUTHORS, ' ');
  const out: string[] = [];
  let run: string[] = [];
  let lastEnd = 0;
  const flush = () => {
    while (run.length && isStopWord(run[0].toLowerCase())) run.shift();
    if (run.length >= 2) out.push(run.join(' '));
    run = [];
  };
  for (const m of clean.matchAll(/[\p{L}\p{N}]+(?:[-'’][\p{L}\p{N}]+)*/gu)) {
    const t = m[0];
    // A run of capitalised words never crosses punctuation ("Using X and Cosmopedia, Jia …").
    if (run.length && /[^\s]/.test(clean.slice(lastEnd, m.index))) flush();
    lastEnd = m.index! + t.length;
    if (nameToken(t)) {
      flush();
      out.push(t);
      continue;
    }
    if (TITLE_WORD.test(t)) run.push(t);
    else flush();
  }
  flush();
  return [...new Set(out)];
}

/** Lower case, words and digit runs apart ("LLaMA-2-7B" → "llama 2 7 b"), padded with spaces. */
export const norm = (s: string) =>
  ` ${s
    .toLowerCase()
    .replace(/(\p{L})(?=\p{N})|(\p{N})(?=\p{L})/gu, '$1$2 ')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()} `;

/** Words that frame a claim in a survey ("a group of papers centres on …") rather than state what a source says. */
const FRAMING = new Set(['author', 'paper', 'group', 'centre', 'center', 'focus', 'focuse', 'work', 'study', 'survey', 'section', 'et', 'al']);

/** Content terms of a claim, stemmed, without numbers and without the "the authors" of a reported first person. */
export function contentTerms(text: string): string[] {
  return [...new Set(words(withoutCitations(text)).filter((w) => w.length > 1 && !isStopWord(w) && !/^\d/.test(w)).map(stem))].filter((w) => !FRAMING.has(w));
}


const ANAPHOR = /^[\s"'“‘(]*(?:they|them|their|it|its|this|these|those|that|such|he|she|his|her|however|moreover|furthermore|additionally|in addition(?! to (?!this|these|that|it\b))|also|thus|therefore|hence|consequently|similarly|likewise|meanwhile|nevertheless|nonetheless|instead(?! of)|besides|then|accordingly|in contrast|on the other hand|in this (?:work|paper|study)|here|to this end|as a result|finally|specifically|notably|in particular|based on (?:this|these|that))\b/i;
/** Openings that point at the survey itself ("This survey", "These sections"): their antecedent is the document. */
const DEICTIC = /^[\s"'“‘(]*(?:this|these)\s+(?:survey|section|sections|subsection|subsections|part|chapter|collection)\b/i;

/**
 * True when a sentence opens with a pronoun, demonstrative or connective that points back at
 * something outside it ("They fail…", "This limitation…", "However, …"); "This survey…" does not count.
 */
export function opensWithAnaphor(sentence: string): boolean {
  const s = withoutCitations(sentence);
  // "He et al." and "Her and Li" name authors.
  return ANAPHOR.test(s) && !DEICTIC.test(s) && !/^[\s"'“‘(]*\p{Lu}\p{Ll}*\s+(?:et al\b|and \p{Lu}|&)/u.test(s);
}

/** Put a citation before a sentence's final punctuation: "… memory [@P003]." */
/** Key of a sentence for spotting one that is already in the survey. */
export const sentenceKey = (s: string) => norm(withoutCitations(s)).trim();

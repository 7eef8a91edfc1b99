/**
 * Citation verification, the pure part: find the cited sentences of a section text, split each
 * into the claim every citation bracket stands for, check a claim against a source text
 * (numbers and named entities must occur in it, and enough of the claim's content words must
 * occur in the source passage that matches it best by BM25), and apply the verdicts to the text
 * (keep, drop an unsupported citation, rewrite the sentence to what its source says, or drop
 * it). Pure: no I/O; the op reads the texts and the job script applies the result.
 */
import { findCitations, filterCitations } from './citations.ts';
import { bm25, isStopWord, sentenceSpans, sentences, stem, words } from './text.ts';

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
const norm = (s: string) =>
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

/** A source text prepared for checking claims against it. */
export interface SourceIndex {
  id: string;
  text: string;
  sentences: string[];
  terms: string[][];
  numbers: Set<string>;
  /** Lower-cased words joined by single spaces, padded, for phrase look-ups. */
  flat: string;
}

/** Text formatting commands unwrapped ("\\textbf{H}ierarchical" → "Hierarchical"), other commands and math dollars dropped. */
export function plainText(text: string): string {
  return text
    .replace(/\\(?:textbf|textit|emph|texttt|underline|mathrm|mathbf|text)\{([^{}]*)\}/g, '$1')
    .replace(/\\(?:cite|citep|citet|ref|eqref|label|footnote)\{[^{}]*\}/g, '')
    .replace(/~/g, ' ')
    .replace(/\$/g, '');
}

/** Index a source: its title (a survey may name a paper by it) and its text, formatting removed. */
export function indexSource(id: string, text: string, title = ''): SourceIndex {
  const plain = plainText(title ? `${title}.\n${text}` : text);
  const sents = sentences(plain.replace(/\s+/g, ' '));
  return {
    id,
    text,
    sentences: sents,
    terms: sents.map((s) => words(s).filter((w) => !isStopWord(w)).map(stem)),
    numbers: new Set(numbersIn(plain)),
    flat: norm(plain),
  };
}

/** True when the name occurs in the source (case and punctuation ignored; a plural "s" may go). */
export function sourceHasName(src: SourceIndex, name: string): boolean {
  const n = norm(name);
  if (src.flat.includes(n)) return true;
  return /s $/.test(n) && n.length > 4 && src.flat.includes(`${n.slice(0, -2)} `);
}

export interface Passage {
  /** Index of the best-matching sentence. */
  index: number;
  /** That sentence with its neighbours. */
  text: string;
  /** Share of the claim's content terms found in the passage (0-1). */
  overlap: number;
}

/** The passage of a source that matches a claim best: BM25 over its sentences, with one sentence either side. */
export function bestPassage(src: SourceIndex, claim: string): Passage {
  const q = contentTerms(claim);
  if (!src.sentences.length) return { index: -1, text: '', overlap: 0 };
  const scores = bm25(q, src.terms);
  const index = scores.reduce((b, s, i) => (s > scores[b] ? i : b), 0);
  const lo = Math.max(0, index - 1);
  const hi = Math.min(src.sentences.length, index + 2);
  const have = new Set(src.terms.slice(lo, hi).flat());
  const overlap = q.length ? q.filter((t) => have.has(t)).length / q.length : 1;
  return { index, text: src.sentences.slice(lo, hi).join(' '), overlap };
}

/** Share of the claim's content terms found anywhere in the source. */
export function textOverlap(src: SourceIndex, claim: string): number {
  const q = contentTerms(claim);
  if (!q.length) return 1;
  const have = new Set(src.terms.flat());
  return q.filter((t) => have.has(t)).length / q.length;
}

/** The verdict on one citation of one sentence. */
export interface KeyCheck {
  sentence: number;
  key: string;
  supported: boolean;
  reason: string;
  /** The source passage the claim was checked against. */
  evidence: string;
  overlap?: number;
  /** Numbers and names of the claim that the cited sources do not contain. */
  missing: string[];
  /** A sentence its source does support, to put in the unsupported sentence's place. */
  rewrite?: string;
}

export interface CheckOptions {
  /** Share of a claim's content terms its best passage must contain. */
  minOverlap: number;
}

export const DEFAULT_MIN_OVERLAP = 0.5;

/**
 * Check every citation of a sentence lexically. A citation is supported when each number and
 * name of its claim occurs in its source (or, for a bracket citing several sources, in one of
 * them) and the claim's best passage in its own source holds at least `minOverlap` of its content terms
 * (for a bracket citing several sources, a collective claim, the whole source may hold them).
 * A key without a source text is unsupported.
 */
export function checkSentence(sentenceId: number, sentence: string, sources: ReadonlyMap<string, SourceIndex>, o: CheckOptions = { minOverlap: DEFAULT_MIN_OVERLAP }): KeyCheck[] {
  const out: KeyCheck[] = [];
  const seen = new Set<string>();
  for (const seg of claimSegments(sentence)) {
    const group = seg.keys.map((k) => sources.get(k)).filter((s): s is SourceIndex => !!s);
    const claims = [...numbersIn(seg.text).map((n) => ({ n, num: true })), ...entitiesIn(seg.text).map((n) => ({ n, num: false }))];
    const found = (s: SourceIndex, c: { n: string; num: boolean }) => (c.num ? s.numbers.has(c.n) : sourceHasName(s, c.n));
    for (const key of seg.keys) {
      if (seen.has(key)) continue;
      seen.add(key);
      const src = sources.get(key);
      if (!src) {
        out.push({ sentence: sentenceId, key, supported: false, reason: 'no text of this source is available', evidence: '', missing: [] });
        continue;
      }
      const missing = claims.filter((c) => !found(src, c) && !group.some((g) => found(g, c))).map((c) => c.n);
      const p = bestPassage(src, seg.text);
      // A bracket citing several sources states what they share ("… centre on X and Y [@P1; @P2]"):
      // each source must be about it somewhere, not in one passage.
      const collective = seg.collective;
      const share = collective ? Math.max(p.overlap, textOverlap(src, seg.text)) : p.overlap;
      const where = collective ? 'the source' : 'its best passage';
      const enough = seg.short || share >= o.minOverlap;
      const reasons: string[] = [];
      if (missing.length) reasons.push(`not in the source: ${missing.join(', ')}`);
      if (!enough) reasons.push(`only ${Math.round(share * 100)}% of the claim's content words are in ${where}`);
      out.push({
        sentence: sentenceId,
        key,
        supported: missing.length === 0 && enough,
        reason: reasons.length ? reasons.join('; ') : `names and numbers found; ${Math.round(share * 100)}% of the content words in ${where}`,
        evidence: p.text,
        overlap: Math.round(share * 1000) / 1000,
        missing,
      });
    }
  }
  return out;
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
export function withCitation(s: string, key: string): string {
  const m = /^(.*?)([.!?]+["'”’)]*)?\s*$/s.exec(s.trim())!;
  return `${m[1].replace(/[;:,]\s*$/, '')} [@${key}]${m[2] ?? '.'}`;
}

export type VerifyMode = 'report' | 'repair';
export type Verdict = 'supported' | 'partial' | 'unsupported' | 'unchecked';
export type Action = 'kept' | 'citation removed' | 'rewritten' | 'removed';

export interface SentenceReport {
  section: string;
  sentence: string;
  cited: string[];
  verdict: Verdict;
  checks: { key: string; supported: boolean; reason: string; evidence: string; missing: string[] }[];
  action: Action;
  /** Whether the action was made (repair mode) or only proposed (report mode). */
  applied: boolean;
  /** The sentence as it now reads (citation removed or rewritten). */
  result?: string;
}

/** Key of a sentence for spotting one that is already in the survey. */
export const sentenceKey = (s: string) => norm(withoutCitations(s)).trim();

/**
 * Apply the checks of a section's cited sentences. A sentence whose citations are all supported
 * is kept; unsupported citations beside a supported one are removed; a sentence with no supported
 * citation is replaced by a source sentence offered as `rewrite` (the best one not already in
 * `seen`), else removed — unless that would leave the section without prose: then it stays without
 * its citations. Citations without a verdict (the check failed) are left alone and
 * reported as unchecked. In report mode nothing changes and the actions are proposals.
 */
export function applyChecks(
  section: string,
  text: string,
  cited: readonly CitedSentence[],
  checks: readonly KeyCheck[],
  mode: VerifyMode,
  seen: Set<string> = new Set(),
): { text: string; reports: SentenceReport[] } {
  const reports: SentenceReport[] = [];
  const edits: { start: number; end: number; repl: string }[] = [];
  cited.forEach((s, i) => {
    const mine = checks.filter((c) => c.sentence === i && s.keys.includes(c.key));
    const verdictOf = new Map(mine.map((c) => [c.key, c]));
    const good = s.keys.filter((k) => verdictOf.get(k)?.supported);
    const bad = s.keys.filter((k) => verdictOf.has(k) && !verdictOf.get(k)!.supported);
    const unchecked = s.keys.filter((k) => !verdictOf.has(k));
    const verdict: Verdict = bad.length === 0 ? (unchecked.length === s.keys.length ? 'unchecked' : 'supported') : good.length || unchecked.length ? 'partial' : 'unsupported';
    let action: Action = 'kept';
    let result: string | undefined;
    if (bad.length && (good.length || unchecked.length)) {
      action = 'citation removed';
      result = filterCitations(s.text, (k) => !bad.includes(k)).text.replace(/\s+([.!?])$/, '$1');
    } else if (bad.length) {
      const offer = mine
        .filter((c) => c.rewrite && !seen.has(sentenceKey(c.rewrite)))
        .sort((a, b) => (b.overlap ?? 0) - (a.overlap ?? 0))[0];
      if (offer) {
        action = 'rewritten';
        result = withCitation(offer.rewrite!, offer.key);
        seen.add(sentenceKey(offer.rewrite!));
      } else action = 'removed';
    }
    reports.push({
      section,
      sentence: s.text,
      cited: s.keys,
      verdict,
      checks: mine.map((c) => ({ key: c.key, supported: c.supported, reason: c.reason, evidence: c.evidence, missing: c.missing })),
      action,
      applied: mode === 'repair' && action !== 'kept',
      ...(result !== undefined ? { result } : {}),
    });
    if (mode === 'repair' && action !== 'kept') edits.push({ start: s.start, end: s.end, repl: result ?? '' });
  });
  const rewrite = (list: typeof edits) => {
    let out = text;
    for (const e of [...list].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.repl + out.slice(e.end);
    return list.length
      ? out
          .split('\n')
          .map((l) => l.replace(/[ \t]{2,}/g, ' ').trimEnd())
          .join('\n')
          .replace(/\n{3,}/g, '\n\n')
          .trim()
      : out;
  };
  let out = rewrite(edits);
  // A section is never emptied: when removals would leave no prose, those sentences stay, uncited.
  if (edits.some((e) => !e.repl) && !/\p{L}/u.test(out) && /\p{L}/u.test(withoutCitations(text))) {
    const kept = edits.map((e) => (e.repl ? e : { ...e, repl: withoutCitations(text.slice(e.start, e.end)) }));
    out = rewrite(kept);
    for (const r of reports)
      if (r.applied && r.action === 'removed') {
        r.action = 'citation removed';
        r.result = withoutCitations(r.sentence);
      }
  }
  return { text: out, reports };
}

export interface VerifySummary {
  /** Cited sentences checked. */
  checked: number;
  /** Sentences whose every citation is supported. */
  supported: number;
  /** Sentences changed and kept: an unsupported citation removed, or rewritten to what the source says. */
  repaired: number;
  /** Sentences taken out. */
  removed: number;
  /** Sentences whose check did not run. */
  unchecked: number;
  /** Citations (sentence × source) checked, and those supported. */
  citations: number;
  citationsSupported: number;
}

export function summarise(reports: readonly SentenceReport[]): VerifySummary {
  const s: VerifySummary = { checked: 0, supported: 0, repaired: 0, removed: 0, unchecked: 0, citations: 0, citationsSupported: 0 };
  for (const r of reports) {
    if (r.verdict === 'unchecked') {
      s.unchecked++;
      continue;
    }
    s.checked++;
    if (r.verdict === 'supported') s.supported++;
    if (r.applied && (r.action === 'citation removed' || r.action === 'rewritten')) s.repaired++;
    if (r.applied && r.action === 'removed') s.removed++;
    s.citations += r.checks.length;
    s.citationsSupported += r.checks.filter((c) => c.supported).length;
  }
  return s;
}

/** "verify: 120 cited sentences checked, 114 supported, 4 repaired, 2 removed". */
export function summaryLine(s: VerifySummary, mode: VerifyMode | 'off'): string {
  if (mode === 'off') return 'verify: off';
  const tail = mode === 'report' ? ' (report only: nothing changed)' : `, ${s.repaired} repaired, ${s.removed} removed`;
  return `verify: ${s.checked} cited sentences checked, ${s.supported} supported${tail}${s.unchecked ? `, ${s.unchecked} unchecked` : ''}; ${s.citationsSupported}/${s.citations} citations supported`;
}

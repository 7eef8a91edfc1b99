/**
 * Citation verification, the pure part: find the cited sentences of a section text, split each
 * into the claim every citation bracket stands for, check a claim against a source text
 * (numbers and named entities must occur in it, and enough of the claim's content words must
 * occur in the source passage that matches it best by BM25), and apply the verdicts to the text
 * (keep, drop an unsupported citation, rewrite the sentence to what its source says, or drop
 * it). Sentences and claims come from claims.ts (re-exported here). Pure: no I/O; the op reads
 * the texts and the job script applies the result.
 */
import { filterCitations } from './citations.ts';
import { bm25, isStopWord, sentences, stem, words } from './text.ts';
import { claimSegments, contentTerms, entitiesIn, norm, numbersIn, sentenceKey, withoutCitations, type CitedSentence } from './claims.ts';

export {
  citedSentences,
  claimSegments,
  contentTerms,
  entitiesIn,
  numbersIn,
  opensWithAnaphor,
  proseSentences,
  sentenceKey,
  withoutCitations,
  type CitedSentence,
  type ClaimSegment,
} from './claims.ts';

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

/**
 * (sentence, source) checks per verification task at most. A model answers each check with a
 * verdict, a reason and evidence (~80 tokens of its 4,000) and reads each with its passage
 * (~300 tokens): 40 fit a 32k context with room to spare. A section of 150 cited sentences in
 * one task asked a 32k model for 33,898 tokens and went unchecked.
 */
export const CHECKS_PER_TASK = 40;

/** The cited sentences cut into runs of at most `max` checks (a sentence with more is a run of its own). */
export function verifyBatches<S extends { keys: readonly string[] }>(cited: readonly S[], max = CHECKS_PER_TASK): { from: number; batch: S[] }[] {
  const out: { from: number; batch: S[] }[] = [];
  let checks = 0;
  cited.forEach((s, i) => {
    const n = Math.max(1, s.keys.length);
    if (!out.length || checks + n > max) {
      out.push({ from: i, batch: [] });
      checks = 0;
    }
    out[out.length - 1].batch.push(s);
    checks += n;
  });
  return out;
}

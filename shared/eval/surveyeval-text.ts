/**
 * Reading a survey for SurveyEval: cut the reference list, split level-2 sections, find
 * cited sentences (claims) and their numeric citations, split sentences without breaking at
 * "e.g." or decimals, and read a score out of a judge's free-text reply. Pure: no I/O.
 *
 * Fixes over upstream's evaluator (upstream-v2.md §6, §8.3): citation numbers are parsed
 * whole (ranges too), a number outside the reference list is reported rather than crashing,
 * and a score is read from a labelled position, never as the first integer in the reply.
 */
import { protectedRanges } from '../algo/citations.ts';
import { extractJson, sentenceSpans } from '../algo/text.ts';

const REF_HEADING = /^#{1,3}[ \t]*(?:\d+\.?[ \t]*)?(?:references|bibliography|works cited)[ \t]*$/im;

/** The survey body without its reference list (everything from a References heading on). */
export function cutReferences(markdown: string): string {
  const m = REF_HEADING.exec(markdown);
  return (m ? markdown.slice(0, m.index) : markdown).trimEnd();
}

export interface Section {
  title: string;
  /** The section's text including its subsections, without the heading line. */
  text: string;
}

/**
 * Level-2 sections ("## …" up to the next "## …"), as upstream split them for the Lang./Crit.
 * and atomic-fact steps; a survey without level-2 headings is one section.
 */
export function level2Sections(content: string): Section[] {
  const body = cutReferences(content);
  const out: Section[] = [];
  let cur: Section | null = null;
  for (const line of body.split('\n')) {
    const h = /^##[ \t]+(?!#)(.*)$/.exec(line);
    if (h) {
      if (cur) out.push(cur);
      cur = { title: h[1].trim(), text: '' };
    } else if (cur) cur.text += `${line}\n`;
  }
  if (cur) out.push(cur);
  const kept = out.map((s) => ({ title: s.title, text: s.text.trim() })).filter((s) => s.text.length > 0);
  if (kept.length > 0) return kept;
  const whole = body.replace(/^#[ \t].*$/m, '').trim();
  return whole ? [{ title: '(whole survey)', text: whole }] : [];
}

export interface CitationUse {
  start: number;
  end: number;
  /** Citation numbers in written order (a range "3-5" gives 3, 4, 5). */
  numbers: number[];
}

const BRACKET = /\[(\s*\d{1,5}\s*(?:[-–]\s*\d{1,5}\s*)?(?:[,;]\s*\d{1,5}\s*(?:[-–]\s*\d{1,5}\s*)?)*)\](?!\()/g;

/** Numeric citation brackets ([3], [1, 4], [2-5]) outside code and math. */
export function findNumericCitations(text: string): CitationUse[] {
  const prot = protectedRanges(text);
  const out: CitationUse[] = [];
  let p = 0;
  for (const m of text.matchAll(BRACKET)) {
    const start = m.index!;
    const end = start + m[0].length;
    while (p < prot.length && prot[p].end <= start) p++;
    if (p < prot.length && prot[p].start < end) continue;
    const numbers: number[] = [];
    for (const piece of m[1].split(/[,;]/)) {
      const r = /^\s*(\d+)\s*(?:[-–]\s*(\d+))?\s*$/.exec(piece);
      if (!r) continue;
      const a = Number(r[1]);
      const b = r[2] === undefined ? a : Number(r[2]);
      if (b >= a && b - a <= 50) for (let k = a; k <= b; k++) numbers.push(k);
      else numbers.push(a, b); // a reversed or huge range: keep both ends, let validity judge them
    }
    out.push({ start, end, numbers });
  }
  return out;
}

const ABBREVIATION = /(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|fig|figs|eq|eqs|sec|no|approx|resp|ca|viz)\.|\b[A-Z]\.)$/i;

/**
 * Sentences of a plain paragraph text: ends at . ! ? followed by a space or the end, or at a
 * line break; never after an abbreviation such as "e.g." or "et al.", a single initial, or
 * inside a decimal. A sentence that holds only citation brackets joins the one before it.
 */
export function splitSentences(text: string): string[] {
  const raw = sentenceSpans(text).map((s) => s.text);
  const out: string[] = [];
  let carry = '';
  for (const piece of raw) {
    const joined = carry + piece;
    const t = joined.trimEnd();
    if (t.length > 0 && !/\n\s*$/.test(joined) && (ABBREVIATION.test(t) || t.endsWith(';'))) {
      carry = joined;
      continue;
    }
    carry = '';
    const s = joined.trim();
    if (!s) continue;
    if (/^(?:\[[\d,;\s–-]+\][\s.]*)+$/.test(s) && out.length > 0) out[out.length - 1] += ` ${s}`;
    else out.push(s);
  }
  if (carry.trim()) out.push(carry.trim());
  return out;
}

/** The prose of a survey body: headings, figure fences and table rows removed, paragraphs kept. */
export function proseOf(content: string): string {
  const body = cutReferences(content).replace(/```[^]*?```/g, '\n');
  return body
    .split('\n')
    .filter((l) => !/^\s*#/.test(l) && !/^\s*\|/.test(l))
    .join('\n');
}

export interface Claim {
  /** The sentence without its citation brackets. */
  text: string;
  /** Distinct citation numbers, in written order. */
  numbers: number[];
}

/** Sentences that carry at least one numeric citation, as (claim, citation numbers). */
export function citedClaims(content: string): Claim[] {
  const out: Claim[] = [];
  for (const para of proseOf(content).split(/\n\s*\n/)) {
    for (const s of splitSentences(para)) {
      const uses = findNumericCitations(s);
      if (uses.length === 0) continue;
      const numbers = [...new Set(uses.flatMap((u) => u.numbers))];
      let text = '';
      let last = 0;
      for (const u of uses) {
        text += s.slice(last, u.start);
        last = u.end;
      }
      text = (text + s.slice(last)).replace(/\s+([.,;:!?])/g, '$1').replace(/\s+/g, ' ').trim();
      if (text) out.push({ text, numbers });
    }
  }
  return out;
}

export class ScoreParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScoreParseError';
  }
}

const NUM = '(\\d+(?:\\.\\d+)?)';

/**
 * The score in a judge's reply, within [min, max]. Tried in order: a JSON object's "score";
 * a <SCORE> tag; a labelled "score/rating: x" (the last one, as a verdict comes after the
 * reasoning); "x/max" or "x out of max"; a reply that is only a number. Rubric ranges such as
 * "1 to 5" or "(1-5)" are never taken for the score; a reply with none of these throws.
 */
export function parseScore(text: string, min: number, max: number): number {
  const inRange = (v: number) => Number.isFinite(v) && v >= min && v <= max;
  const json = extractJson(text) as { score?: unknown } | undefined;
  if (json && typeof json === 'object' && !Array.isArray(json) && 'score' in json) {
    const v = Number(json.score);
    if (inRange(v)) return v;
    throw new ScoreParseError(`the reply's score ${String(json.score)} is outside ${min}-${max}`);
  }
  const candidates: RegExp[] = [
    new RegExp(`<score>\\s*${NUM}\\s*</score>`, 'gi'),
    new RegExp(`\\b(?:final\\s+)?(?:score|rating|grade)\\b\\**\\s*(?:\\([^)]{0,20}\\))?\\s*\\**\\s*(?:[:=]|is)\\s*\\**\\s*${NUM}`, 'gi'),
    new RegExp(`${NUM}\\s*(?:/|out of)\\s*${max}\\b`, 'gi'),
  ];
  for (const re of candidates) {
    const hits = [...text.matchAll(re)].map((m) => Number(m[1]));
    if (hits.length > 0) {
      const v = hits[hits.length - 1];
      if (inRange(v)) return v;
      throw new ScoreParseError(`the reply's score ${v} is outside ${min}-${max}`);
    }
  }
  const bare = /^\s*\**\s*(\d+(?:\.\d+)?)\s*\**\s*\.?\s*$/.exec(text);
  if (bare && inRange(Number(bare[1]))) return Number(bare[1]);
  throw new ScoreParseError('the reply holds no labelled score (JSON "score", <SCORE> tag, "Score: x" or "x/max")');
}

/** A yes/no support verdict from free text: the last verdict word wins; none throws. */
export function parseVerdict(text: string): boolean {
  const json = extractJson(text) as { supported?: unknown } | undefined;
  if (json && typeof json === 'object' && typeof json.supported === 'boolean') return json.supported;
  const hits = [...text.toLowerCase().matchAll(/\b(not supported|unsupported|supported|yes|no)\b/g)].map((m) => m[1]);
  if (hits.length === 0) throw new ScoreParseError('the reply holds no verdict (yes / no / supported / not supported)');
  const last = hits[hits.length - 1];
  return last === 'yes' || last === 'supported';
}

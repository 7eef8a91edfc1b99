/**
 * Problems of a schema-valid V1 reply that no JSON Schema can express: evidence that is not in
 * the text it claims to quote, an empty answer, text that repeats itself, an answer in the
 * wrong language or without the value asked for. Each problem is one sentence addressed to the
 * model (the engine states them in a repair round). Pure: no I/O.
 */
import { sentenceSpans } from '../../algo/text.ts';
import type { V1Profile } from '../../protocol/schemas.ts';
import { getProfile } from './profiles.ts';
import { hasNoInfoMarker, NO_INFO, type V1Record } from './record.ts';

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1).trimEnd()}…`);

/** Letters and digits only, lower case, compatibility-folded: quotes survive changes of spacing and punctuation. */
export function foldForMatch(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

const HAN = /\p{Script=Han}/u;
const HAN_ALL = /\p{Script=Han}/gu;

/** Pieces of an evidence text: passages separated by ellipses, bars, line breaks or closing/opening quotes. */
export function evidencePieces(evidence: string): string[] {
  return evidence
    .split(/\s*(?:…|\.{3,}|\s\|\s|\n+|["”]\s+["“]|[」』]\s*[「『])\s*/u)
    .map((p) => p.trim().replace(/^["“「『'‘]+|["”」』'’]+$/gu, '').trim())
    .filter((p) => foldForMatch(p).length > 0);
}

/**
 * Whether a passage is quoted from a source: its folded text occurs in the folded source, or
 * at least 80% of its characters lie in runs of k characters that occur there (k = 12, or 5 for
 * Chinese), which forgives a changed word or two but not a paraphrase.
 */
export function isQuotedFrom(piece: string, foldedSource: string, shingles?: Set<string>): boolean {
  const p = foldForMatch(piece);
  if (p.length === 0 || foldedSource.includes(p)) return true;
  const k = HAN.test(p) ? 5 : 12;
  if (p.length <= k + 2) return false;
  const set = shingles ?? shingleSet(foldedSource, k);
  const covered = new Uint8Array(p.length);
  for (let i = 0; i + k <= p.length; i++) if (set.has(p.slice(i, i + k))) covered.fill(1, i, i + k);
  let n = 0;
  for (const c of covered) n += c;
  return n / p.length >= 0.8;
}

function shingleSet(folded: string, k: number): Set<string> {
  const s = new Set<string>();
  for (let i = 0; i + k <= folded.length; i++) s.add(folded.slice(i, i + k));
  return s;
}

/** Evidence that says there is none ("None", "N/A", "无"): not a quote, and not a wrong one. */
const NOTHING = /^\(?(?:none|n\/a|nothing(?: relevant)?|no (?:relevant )?(?:evidence|information)|not found|无|没有|暂无)\)?[.。]?$/iu;

/** A problem when some passage of the evidence is not found in the source (`where` names it for the model). */
export function evidenceProblem(evidence: string, source: string, where: string): string | undefined {
  const pieces = evidencePieces(evidence).filter((p) => !NOTHING.test(p));
  if (pieces.length === 0) return undefined;
  const folded = foldForMatch(source);
  const sets = new Map<number, Set<string>>();
  for (const piece of pieces) {
    const k = HAN.test(piece) ? 5 : 12;
    if (!sets.has(k)) sets.set(k, shingleSet(folded, k));
    if (!isQuotedFrom(piece, folded, sets.get(k))) {
      return `The "evidence" passage "${clip(piece, 80)}" does not appear in ${where}: copy passages from ${where} word for word, or leave "evidence" empty.`;
    }
  }
  return undefined;
}

/** A problem when a text says the same thing over and over (a sentence three times or more, or a looping phrase). */
export function repetitionProblem(field: string, text: string): string | undefined {
  const counts = new Map<string, { n: number; text: string }>();
  for (const s of sentenceSpans(text)) {
    const t = s.text.trim();
    const key = foldForMatch(t);
    if (key.length < 12) continue;
    const c = counts.get(key) ?? { n: 0, text: t };
    c.n++;
    counts.set(key, c);
  }
  for (const c of counts.values()) {
    if (c.n >= 3) return `The "${field}" field repeats "${clip(c.text, 60)}" ${c.n} times: say each thing once.`;
  }
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const grams = HAN.test(text) ? [...foldForMatch(text)] : words;
  if (grams.length >= 60) {
    const n = 4;
    const seen = new Set<string>();
    let total = 0;
    for (let i = 0; i + n <= grams.length; i++, total++) seen.add(grams.slice(i, i + n).join(' '));
    if (seen.size / total < 0.35) return `The "${field}" field keeps repeating the same words: say each thing once, briefly.`;
  }
  return undefined;
}

/** Share of a text's letters that are Han characters (undefined when it has no letters). */
function hanShare(text: string): number | undefined {
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  if (letters === 0) return undefined;
  return (text.match(HAN_ALL)?.length ?? 0) / letters;
}

/**
 * A problem when the answer is not in the language it should be: Chinese for `qa_zh` (an answer
 * of Latin words with no Chinese at all), otherwise a script that neither the question nor the
 * source uses (an English question over an English text answered in Chinese, or the reverse).
 */
export function languageProblem(answer: string, o: { chinese: boolean; question: string; source: string }): string | undefined {
  if (hasNoInfoMarker(answer)) return undefined;
  const share = hanShare(answer);
  if (share === undefined) return undefined;
  const latinLetters = answer.match(/\p{Script=Latin}/gu)?.length ?? 0;
  if (o.chinese) {
    return share === 0 && latinLetters >= 12 ? 'The "answer" must be written in Simplified Chinese, not in another language.' : undefined;
  }
  const context = `${o.question}\n${o.source}`;
  const ctxShare = hanShare(context) ?? 0;
  const ctxLatin = context.match(/\p{Script=Latin}/gu)?.length ?? 0;
  const wrong = 'The "answer" is in another language than the question and the text: answer in the language of the question.';
  if (share > 0.5 && ctxShare === 0) return wrong;
  if (share === 0 && latinLetters >= 12 && ctxLatin === 0) return wrong;
  // Both in Latin script: an English context gives English function words; an answer of eight
  // words or more with hardly any is in another language.
  const ctxEn = englishShare(context);
  const ans = englishShare(answer);
  if (share === 0 && ctxEn !== undefined && ctxEn.share >= 0.2 && ans !== undefined && ans.words >= 8 && ans.share < 0.3 * ctxEn.share) return wrong;
  return undefined;
}

const ENGLISH = new Set('the a an of and to in is was are were it that this for on with as by at from be has have not or which'.split(' '));

/** Share of a text's words that are common English function words. */
function englishShare(text: string): { share: number; words: number } | undefined {
  const ws = text.toLowerCase().match(/\p{L}+/gu) ?? [];
  if (ws.length === 0) return undefined;
  return { share: ws.filter((w) => ENGLISH.has(w)).length / ws.length, words: ws.length };
}

/** A problem when the answer of a value question holds no number. */
export function numberProblem(answer: string): string | undefined {
  if (hasNoInfoMarker(answer) || /\d/.test(answer)) return undefined;
  return 'The "answer" holds no number: give the computed value itself.';
}

/** The problems of the text fields that every V1 step checks: empty answer, repetition, language. */
export function commonProblems(
  out: Partial<V1Record>,
  o: { profile: V1Profile; question: string; source: string; step: 'map' | 'collapse' | 'reduce'; hasMaterial?: boolean },
): string[] {
  const p = getProfile(o.profile);
  const answer = (out.answer ?? '').trim();
  const problems: string[] = [];
  if (answer === '') {
    if (o.profile === 'sum') problems.push('The "answer" is empty: write the summary.');
    else if (o.step === 'reduce') problems.push('The "answer" is empty: give the final answer the records support.');
    else problems.push(`The "answer" is empty: give the answer the ${o.step === 'map' ? 'excerpt supports' : 'records support'}, or "${NO_INFO}" if nothing is relevant.`);
  }
  for (const field of ['evidence', 'rationale', 'answer'] as const) {
    const text = out[field];
    const r = text ? repetitionProblem(field, text) : undefined;
    if (r) problems.push(r);
  }
  const lang = languageProblem(answer, { chinese: p.language === 'zh', question: o.question, source: o.source });
  if (lang) problems.push(lang);
  // A value is owed only where there was something to compute it from (not from zero relevant records).
  if (o.profile === 'math' && answer !== '' && o.hasMaterial !== false) {
    const n = numberProblem(answer);
    if (n) problems.push(n);
  }
  return problems;
}

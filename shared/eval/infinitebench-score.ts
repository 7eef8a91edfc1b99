/**
 * InfiniteBench scoring as LLM×MapReduce V1 ran it (upstream-v1.md §12.5-12.6): the
 * post-processing of raw replies and one scorer per task, each returning 0..1. The scorers
 * follow the Python originals rule for rule, including Python's Unicode-aware `\b`, `\d`,
 * whitespace and a `.` that stops only at "\n"; the one deliberate change is in
 * post-processing, which strips the white space after an `Answer:` marker instead of
 * dropping exactly one character. Pure.
 */
import { rougeLsumBest } from './rouge.ts';

export const IB_TASKS = [
  'passkey',
  'number_string',
  'kv_retrieval',
  'math_find',
  'code_debug',
  'longbook_choice_eng',
  'longdialogue_qa_eng',
  'longbook_qa_eng',
  'longbook_qa_chn',
  'longbook_sum_eng',
] as const;
export type IbTask = (typeof IB_TASKS)[number];

/** A ground truth as InfiniteBench stores it: a string or number, or a list of them. */
export type Label = string | number | ReadonlyArray<string | number>;

export function isIbTask(s: string): s is IbTask {
  return (IB_TASKS as readonly string[]).includes(s);
}

// ---- Python string semantics --------------------------------------------------------------

/** Characters Python's str.isspace() accepts (what str.split() and str.strip() use). */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${PY_WS}]+`);
const EDGE_WS = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');
const LEAD_WS = new RegExp(`^[${PY_WS}]+`);

export function pySplit(s: string): string[] {
  return s.split(WS_RUN).filter((w) => w.length > 0);
}
export function pyStrip(s: string): string {
  return s.replace(EDGE_WS, '');
}

/** A Python word character (Unicode \w): letters, numbers, underscore. */
const W = '[\\p{L}\\p{N}_]';
/** Python `\b[A-J]\b(?!.*\b[A-J]\b)`: the last standalone letter of the first line that has one. */
function lastStandaloneLetter(text: string, letters: string): string | undefined {
  const one = `(?<!${W})[${letters}](?!${W})`;
  return new RegExp(`${one}(?![^\\n]*${one})`, 'u').exec(text)?.[0];
}

const ASCII_PUNCT = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

function replaceEach(s: string, from: readonly string[], to = ' '): string {
  for (const c of from) s = s.split(c).join(to);
  return s;
}
function squashSpaces(s: string): string {
  while (s.includes('  ')) s = s.split('  ').join(' ');
  return s;
}
/** The index one code point past `i` (Python slices by code point, JS by UTF-16 unit). */
function nextCodePoint(s: string, i: number): number {
  return i + ((s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1);
}
function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function asList(label: Label): Array<string | number> {
  return Array.isArray(label) ? [...label] : [label as string | number];
}
function first(label: Label): string {
  return String(asList(label)[0] ?? '');
}

// ---- §12.5 post-processing -----------------------------------------------------------------

const PREFIX_TASKS: ReadonlySet<IbTask> = new Set(['code_debug', 'longbook_choice_eng']);
const CUT_TASKS: ReadonlySet<IbTask> = new Set(['longbook_qa_eng', 'longbook_qa_chn', 'longdialogue_qa_eng', 'longbook_sum_eng']);

/**
 * Turn a raw reply into the prediction that is scored. The text after the last `Answer:`
 * (else the last `答案：`) is kept with its leading white space stripped (upstream dropped
 * one character, eating the answer's first letter when it followed the colon directly); a
 * marker followed by nothing leaves the reply unchanged, and a reply with no marker counts
 * as all answer. Choice tasks get an `answer: ` prefix; free-text tasks are cut before the
 * last confidence header. Retrieval and math replies pass through untouched.
 */
export function postProcess(task: IbTask, raw: string): string {
  if (!PREFIX_TASKS.has(task) && !CUT_TASKS.has(task)) return raw;
  let after = pyStrip(raw);
  for (const marker of ['Answer:', '答案：']) {
    const at = raw.lastIndexOf(marker);
    if (at < 0) continue;
    after = raw.slice(at + marker.length).replace(LEAD_WS, '');
    if (after === '') return raw;
    break;
  }
  if (PREFIX_TASKS.has(task)) return `answer: ${after}`;
  for (const header of ['置信度分数：', 'Confidence Score:']) {
    const at = after.lastIndexOf(header);
    if (at >= 0) after = after.slice(0, at);
  }
  return pyStrip(after);
}

// ---- §12.6 scorers -------------------------------------------------------------------------

/** passkey / number_string: the gold string is one of the prediction's ASCII digit runs. */
export function scoreDigits(pred: string, label: Label): number {
  return pred.split(/[^0-9]/).includes(first(label)) ? 1 : 0;
}

/** kv_retrieval: the gold value is one whole word once \n : " ' . , ? ! { } are blanked (hyphens stay). */
export function scoreKv(pred: string, label: Label): number {
  const words = pySplit(replaceEach(pred, ['\n', ':', '"', "'", '.', ',', '?', '!', '{', '}']));
  return words.includes(first(label)) ? 1 : 0;
}

/** Value of a Unicode decimal digit (Python's int() accepts any of them); digit blocks are runs of ten. */
function digitValue(ch: string): number {
  const cp = ch.codePointAt(0)!;
  let start = cp;
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}
function asciiDigits(s: string): string {
  return s.replace(/\p{Nd}/gu, (d) => String(digitValue(d)));
}

/**
 * math_find: the first `\d+\.\d+|\d+` in the prediction (Unicode digits, sign ignored)
 * compared with the number label. An integer label compares exactly (BigInt); a fractional
 * label compares as a float. Upstream crashed on an integer label with a fractional
 * match; here that case compares numerically.
 */
export function scoreMathFind(pred: string, label: Label): number {
  const goldRaw = asList(label)[0];
  const gold = typeof goldRaw === 'number' ? goldRaw : Number(goldRaw);
  const m = /\p{Nd}+\.\p{Nd}+|\p{Nd}+/u.exec(pred);
  if (!m || !Number.isFinite(gold)) return 0;
  const found = asciiDigits(m[0]);
  if (Number.isInteger(gold) && !found.includes('.')) {
    const g = typeof goldRaw === 'string' && /^\d+$/.test(goldRaw.trim()) ? BigInt(goldRaw.trim()) : BigInt(gold);
    return BigInt(found) === g ? 1 : 0;
  }
  return Number(found) === gold ? 1 : 0;
}

/** Shared tail of the choice scorers: after the first of `prefixes`, skip one character and test the start. */
function afterPrefix(pred: string, prefixes: readonly string[], starts: readonly string[]): boolean | undefined {
  for (const p of prefixes) {
    const at = pred.indexOf(p);
    if (at < 0) continue;
    const from = at + p.length;
    if (codePointLength(pred.slice(0, from)) + 1 > codePointLength(pred)) return false;
    const rest = pred.slice(nextCodePoint(pred, from));
    return starts.some((s) => rest.startsWith(s));
  }
  return undefined;
}

/** code_debug, label [functionName, letter]. */
export function scoreCodeDebug(pred: string, label: Label): number {
  const [fn, letter] = asList(label).map(String);
  let p = pyStrip(pred);
  if (lastStandaloneLetter(p, 'A-J') === letter) return 1;
  p = squashSpaces(replaceEach(p, ['\n', '`', "'", '"', '-', '*', 'Option', 'option']));
  if (p.startsWith(letter) || p.startsWith(fn)) return 1;
  return afterPrefix(p, ['answer is:', 'Answer:', 'is:', 'answer:'], [letter, fn]) ? 1 : 0;
}

/** longbook_choice_eng, label [optionText, letter]. */
export function scoreChoice(pred: string, label: Label): number {
  const gold = asList(label).map(String);
  let p = pyStrip(pred);
  const hit = lastStandaloneLetter(p, 'A-D');
  if (hit !== undefined && gold.includes(hit)) return 1;
  if (p === '') return 0;
  if ('ABCD'.includes(p[0])) return gold.includes(p[0]) ? 1 : 0;
  if (gold.includes(p)) return 1;
  p = squashSpaces(replaceEach(p, ['\n', '"', "'", '.', ',', '?', '!', '{', '}']));
  const tail = afterPrefix(p, ['Answer:', 'answer is:', 'answer:', 'answer is', 'option is'], gold);
  if (tail !== undefined) return tail ? 1 : 0;
  const word = pySplit(p).find((w) => 'ABCD'.includes(w));
  return word !== undefined && gold.includes(word) ? 1 : 0;
}

/** longdialogue_qa_eng: some gold alias, upper-cased, occurs in the upper-cased prediction. */
export function scoreDialogue(pred: string, label: Label): number {
  const p = pyStrip(pred).toUpperCase();
  return asList(label).some((a) => p.includes(String(a).toUpperCase())) ? 1 : 0;
}

function tokenF1(pred: readonly string[], gold: readonly string[]): number {
  const left = new Map<string, number>();
  for (const t of gold) left.set(t, (left.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pred) {
    const c = left.get(t) ?? 0;
    if (c > 0) {
      same++;
      left.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pred.length;
  const recall = same / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** SQuAD normalisation: lower-case, drop ASCII punctuation, blank the articles a/an/the, squash white space. */
export function normalizeEn(s: string): string {
  const noPunct = Array.from(s.toLowerCase())
    .filter((c) => !ASCII_PUNCT.has(c))
    .join('');
  const noArticles = noPunct.replace(new RegExp(`(?<!${W})(?:a|an|the)(?!${W})`, 'gu'), ' ');
  return pySplit(noArticles).join(' ');
}

/** longbook_qa_eng: best bag-of-words F1 over the gold answers. */
export function scoreQaEn(pred: string, label: Label): number {
  const p = pySplit(normalizeEn(pred));
  return Math.max(0, ...asList(label).map((g) => tokenF1(p, pySplit(normalizeEn(String(g))))));
}

const ZH_PUNCT = new Set([
  ...ASCII_PUNCT,
  ...'！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏.',
]);

/** Chinese normalisation: lower-case, drop ASCII and CJK punctuation, drop all white space. */
export function normalizeZh(s: string): string {
  const kept = Array.from(s.toLowerCase())
    .filter((c) => !ZH_PUNCT.has(c))
    .join('');
  return pySplit(kept).join('');
}

/** longbook_qa_chn: best character-level F1 over the gold answers. */
export function scoreQaZh(pred: string, label: Label): number {
  const p = Array.from(normalizeZh(pred));
  return Math.max(0, ...asList(label).map((g) => tokenF1(p, Array.from(normalizeZh(String(g))))));
}

/** longbook_sum_eng: ROUGE-Lsum F-measure against the best reference. */
export function scoreSummary(pred: string, label: Label): number {
  return rougeLsumBest(pred, asList(label).map(String)).fmeasure;
}

const SCORERS: Record<IbTask, (pred: string, label: Label) => number> = {
  passkey: scoreDigits,
  number_string: scoreDigits,
  kv_retrieval: scoreKv,
  math_find: scoreMathFind,
  code_debug: scoreCodeDebug,
  longbook_choice_eng: scoreChoice,
  longdialogue_qa_eng: scoreDialogue,
  longbook_qa_eng: scoreQaEn,
  longbook_qa_chn: scoreQaZh,
  longbook_sum_eng: scoreSummary,
};

/** Score one already post-processed prediction (0..1). */
export function scoreOne(task: IbTask, prediction: string, label: Label): number {
  return SCORERS[task](prediction, label);
}

/** Post-process a raw reply, then score it. */
export function scoreReply(task: IbTask, raw: string, label: Label): number {
  return scoreOne(task, postProcess(task, raw), label);
}

/** The task score: the mean of the per-item scores (0 for no items). */
export function meanScore(scores: readonly number[]): number {
  return scores.length === 0 ? 0 : scores.reduce((a, b) => a + b, 0) / scores.length;
}

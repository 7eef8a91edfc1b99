/**
 * What a V1 question asks for, worked out from its text for the offline engine: its focus
 * terms, the answer shape it expects, and special forms (a key to look up, lettered options,
 * an aggregate over numbers, a summary request). Pure: no I/O.
 */
import type { V1Profile } from '../../protocol/schemas.ts';
import { stem, stemmedTerms } from '../../algo/text.ts';
import { keyPhraseOf, type KeyPhrase } from './retrieve.ts';

export type QuestionKind = 'kv' | 'choice' | 'math' | 'summary' | 'lookup';
export type MathOp = 'max' | 'min' | 'sum' | 'count' | 'mean' | 'median';
export type Expect = 'number' | 'person' | 'time' | 'place' | 'any';

export interface ChoiceOption {
  letter: string;
  text: string;
  terms: string[];
}

export interface QuestionInfo {
  kind: QuestionKind;
  /** Stemmed content terms of the sentence that asks (the one with "?"), or of the whole question. */
  focus: string[];
  /** Other stemmed content terms of the question (instructions' boilerplate removed). */
  context: string[];
  /** Lower-cased words of the question, to keep answers from echoing it. */
  questionWords: Set<string>;
  kvKey?: string;
  /** The sentence that asks (the last one ending in "?", else the last line). */
  asking: string;
  /** The key the asking sentence names ("pass key", "capital of Veltria", a quoted key), for key-value lookups. */
  key?: KeyPhrase;
  options: ChoiceOption[];
  mathOp?: MathOp;
  expects: Expect;
}

/** Words that frame a task rather than say what it is about. */
const BOILERPLATE = new Set(
  (
    'answer question find memorize memorise remember quiz important info information hidden irrelevant text lot ' +
    'read please following given provide extract specified corresponding concise reply respond single letter ' +
    'option correct tell say anything else only document passage article book list below above context note ' +
    'summarize summarise summary write brief detail detailed paragraph story novel chapter report highlight ' +
    'part parts related relate review reviewed lawyer ' +
    '问题 回答 答案 文章 文档 文本 根据 下面 以下 上面 告诉 找出 记住 信息 内容'
  )
    .split(/\s+/)
    .map(stem),
);

const OPTION_RE = /^[ \t]*(?:\(([A-D])\)|([A-D])[.):：])[ \t]+(.+?)[ \t]*$/gm;
const KV_RE = /\bkey\s*[:：]?\s*["“]([^"”\n]{1,200})["”]/i;

function detectMathOp(q: string): MathOp | undefined {
  const s = q.toLowerCase();
  if (/\b(largest|greatest|biggest|highest|maximum|max)\b/.test(s)) return 'max';
  if (/\b(smallest|least|lowest|minimum|min)\b/.test(s)) return 'min';
  if (/\bmedian\b/.test(s)) return 'median';
  if (/\b(average|mean)\b/.test(s)) return 'mean';
  if (/\b(sum|total)\b/.test(s)) return 'sum';
  if (/\bhow many (numbers|values|items|elements|entries)\b/.test(s)) return 'count';
  return undefined;
}

function detectExpect(s: string): Expect {
  const t = s.toLowerCase();
  if (/多少|几[个位天年次岁]|数字|号码|密码/u.test(t)) return 'number';
  if (/什么时候|何时|哪一?年|哪一?天|几月|日期/u.test(t)) return 'time';
  if (/谁/u.test(t)) return 'person';
  if (/哪里|在哪|何处|什么地方/u.test(t)) return 'place';
  if (/\bhow (many|much|long|old|far)\b|\bwhat (number|amount|percentage)\b|\bdigits?\b|\bnumbers?\b/.test(t)) {
    return 'number';
  }
  if (/\bwhen\b|\bwhat (year|date|time|day|month)\b|\bwhich year\b/.test(t)) return 'time';
  if (/\bwho(m|se)?\b/.test(t)) return 'person';
  if (/\bwhere\b/.test(t)) return 'place';
  return 'any';
}

/** The sentence that asks: the last one ending in "?" (without a lead-in such as "Details:"), else the last line. */
export function askingSentence(stemText: string): string {
  const parts = stemText.split(/(?<=[?？])|\n+/).map((s) => s.trim()).filter(Boolean);
  const asks = parts.filter((p) => /[?？]$/.test(p));
  if (asks.length === 0) return parts.length > 0 ? parts[parts.length - 1] : stemText;
  const pieces = asks[asks.length - 1].split(/(?<=[.!。:：])\s+/);
  return pieces[pieces.length - 1];
}

export function analyzeQuestion(question: string, profile: V1Profile): QuestionInfo {
  const options: ChoiceOption[] = [];
  for (const m of question.matchAll(OPTION_RE)) {
    const letter = (m[1] ?? m[2]).toUpperCase();
    if (!options.some((o) => o.letter === letter)) options.push({ letter, text: m[3], terms: stemmedTerms(m[3]) });
  }
  const hasOptions = options.length >= 2;
  const stemText = hasOptions ? question.replace(OPTION_RE, '') : question;
  const mathOp = detectMathOp(stemText);
  const asking = askingSentence(stemText);
  const key = hasOptions ? undefined : keyPhraseOf(question, asking);
  const kvKey = KV_RE.exec(question)?.[1] ?? (key?.literal ? key.key : undefined);
  const all = [...new Set(stemmedTerms(stemText))].filter((t) => !BOILERPLATE.has(t));
  const asked = [...new Set(stemmedTerms(asking))];
  let focus = asked.filter((t) => !BOILERPLATE.has(t));
  if (focus.length === 0) focus = asked.length > 0 ? asked : all;
  const focusSet = new Set(focus);
  let kind: QuestionKind = 'lookup';
  if (profile === 'sum') kind = 'summary';
  else if (kvKey) kind = 'kv';
  else if (hasOptions) kind = 'choice';
  else if (mathOp && (profile === 'math' || /\bnumbers?\b|\blist\b|\barray\b/i.test(stemText))) kind = 'math';
  return {
    kind,
    focus,
    context: all.filter((t) => !focusSet.has(t)),
    questionWords: new Set(question.toLowerCase().match(/[\p{L}\p{N}_-]+/gu) ?? []),
    kvKey,
    asking,
    key,
    options: hasOptions ? options : [],
    mathOp,
    expects: detectExpect(asking),
  };
}

/** The letters of the lettered options a question offers (at least two), in order; none otherwise. */
export function optionLetters(question: string): string[] {
  const letters: string[] = [];
  for (const m of question.matchAll(OPTION_RE)) {
    const l = (m[1] ?? m[2]).toUpperCase();
    if (!letters.includes(l)) letters.push(l);
  }
  return letters.length >= 2 ? letters : [];
}

/**
 * A free-text answer as the option letter it names, when the question offers lettered options
 * and the letter is one of them ("B. Bath" → "B"); otherwise the answer unchanged.
 */
export function asOptionLetter(answer: string, question: string): string {
  const letters = optionLetters(question);
  const l = letters.length ? letterOf(answer) : undefined;
  return l && letters.includes(l) ? l : answer;
}

/** The option letter an answer names ("B", "(c)", "Answer: D. text", "option a"), if any. */
export function letterOf(answer: string): string | undefined {
  const t = answer.trim();
  const m =
    /^\(?([A-Da-d])(?:[.):：,]|\s|$)/.exec(t) ??
    /\b(?:option|answer|choice)(?:\s+is)?[\s:：]*\(?([A-Da-d])\b/i.exec(t) ??
    /(?:^|\s)\(?([A-D])\)?[.]?$/.exec(t);
  return m ? m[1].toUpperCase() : undefined;
}

/** An answer normalised for comparing: lower case, no punctuation or articles, single spaces. */
export function normalizeAnswer(answer: string): string {
  return answer
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s.-]/gu, ' ')
    .replace(/(?<!\d)[.-]|[.-](?!\d)/g, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

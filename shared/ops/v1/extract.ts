/**
 * The offline map step: one chunk and a question in, one protocol record out, computed from
 * the text alone (BM25 over the chunk's sentences, answer shapes next to the matched question
 * terms, option scoring, number aggregates, sentence centrality). Deterministic and honest: a
 * chunk where nothing matches is marked irrelevant, and 5 is given only when the answer
 * literally stands next to every question term. Pure: no I/O.
 */
import { bm25, isStopWord, sentenceSpans, stem, stemmedTerms, words } from '../../algo/text.ts';
import type { V1Profile } from '../../protocol/schemas.ts';
import { analyzeQuestion, type ChoiceOption, type QuestionInfo } from './question.ts';
import { NO_INFO, SUMMARY_CONFIDENCE, type V1Record } from './record.ts';
import { aggregateNumbers, formatNumber, pickSummary } from './compute.ts';
import { asksForCode, findCuedNumber, findKeyValues, type KeyHit, type KeyPhrase } from './retrieve.ts';
import { HAN, zhSpan } from './zh.ts';

export interface Sentence {
  text: string;
  terms: string[];
}

/**
 * Sentences of a text with their stemmed terms. Hard-wrapped prose is unwrapped first (a single
 * line break inside a paragraph becomes a space), so a sentence is not cut at every line end;
 * blank lines still separate paragraphs. Code keeps its lines (`unwrap` false).
 */
export function splitSentences(text: string, unwrap = true): Sentence[] {
  const src = unwrap ? text.replace(/([^\n])\n(?=[^\n])/g, '$1 ') : text;
  return sentenceSpans(src)
    .map((s) => s.text.trim())
    .filter((t) => t.length > 0)
    .map((t) => ({ text: t, terms: stemmedTerms(t) }));
}

const round = (x: number) => Math.round(x * 2) / 2;
const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1).trimEnd()}…`);
const quoteList = (ts: readonly string[]) => ts.map((t) => `"${t}"`).join(', ');

function irrelevant(chunk: number, why: string): V1Record {
  return { chunks: [chunk], evidence: '', rationale: why, answer: NO_INFO, confidence: 0, irrelevant: true };
}

// Word-like tokens of a sentence; a short quoted string is one token.
const TOKEN_RE = /"[^"\n]{1,80}"|“[^”\n]{1,80}”|[\p{L}\p{N}_]+(?:[-.,:/'’][\p{L}\p{N}_]+)*/gu;
const TITLES = /^(mr|mrs|ms|miss|sir|lady|lord|dr|captain|colonel|admiral|professor|prof|king|queen|prince|princess|st)$/i;
const MONTHS = /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*$/i;

interface Candidate {
  text: string;
  index: number;
  rank: number;
}

/** Answer-shaped tokens of a sentence for the expected answer type, best kinds first (lower rank). */
function candidates(tokens: string[], q: QuestionInfo): Candidate[] {
  const out: Candidate[] = [];
  const focus = new Set(q.focus);
  tokens.forEach((tok, index) => {
    const quoted = /^["“]/.test(tok);
    const text = quoted ? tok.slice(1, -1).trim() : tok;
    if (!quoted && (q.questionWords.has(tok.toLowerCase()) || focus.has(stem(tok)))) return;
    const isNum = /^-?\d+(?:[.,:]\d+)*$/.test(text);
    const isCode = !isNum && (/\d/.test(text) || /_/.test(text) || /\p{Ll}\p{Lu}/u.test(text));
    const isCap = /^\p{Lu}/u.test(text) && index > 0;
    let rank = -1;
    if (q.expects === 'number') rank = isNum ? 0 : isCode && /\d/.test(text) ? 1 : -1;
    else if (q.expects === 'time') rank = /^(1\d|20)\d\d$|^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$/.test(text) || MONTHS.test(text) ? 0 : -1;
    else if (q.expects === 'person' || q.expects === 'place') rank = isCap && !quoted ? 0 : quoted ? 1 : -1;
    else rank = quoted ? 0 : isNum ? 1 : isCode ? 2 : -1;
    if (rank >= 0 && text.length > 0) out.push({ text, index, rank });
  });
  // Names: runs of capitalised words ("Sir Walter Elliot"), which may include words of the
  // question, as long as they add a word of their own that is not a mere title.
  if (q.expects === 'person' || q.expects === 'place') {
    out.length = 0;
    for (let i = 1; i < tokens.length; i++) {
      if (!/^\p{Lu}/u.test(tokens[i])) continue;
      let j = i;
      while (j + 1 < tokens.length && /^\p{Lu}/u.test(tokens[j + 1])) j++;
      const run = tokens.slice(i, j + 1);
      const own = run.findIndex((t) => !q.questionWords.has(t.toLowerCase()) && !TITLES.test(t));
      if (own >= 0) out.push({ text: run.join(' '), index: i + own, rank: 0 });
      i = j;
    }
  }
  return out;
}

function lookup(text: string, chunk: number, q: QuestionInfo, profile: V1Profile): V1Record {
  const sents = splitSentences(text, profile !== 'code');
  if (q.focus.length === 0 || sents.length === 0) return irrelevant(chunk, 'The question has no content words to look for.');
  const focus = new Set(q.focus);
  const fScores = bm25(q.focus, sents.map((s) => s.terms));
  const cScores = bm25(q.context, sents.map((s) => s.terms));
  const matched = sents.map((s) => q.focus.filter((t) => s.terms.includes(t)));
  const need = q.focus.length <= 3 ? 1 : 2;
  const order = sents
    .map((_, i) => i)
    .filter((i) => matched[i].length >= need)
    .sort((a, b) => matched[b].length - matched[a].length || fScores[b] + 0.3 * cScores[b] - (fScores[a] + 0.3 * cScores[a]) || a - b);
  if (order.length === 0) {
    return irrelevant(chunk, `No sentence of this chunk mentions ${quoteList(q.focus)} (at least ${need} needed).`);
  }
  let pick: { i: number; cand?: Candidate; gap: number } = { i: order[0], gap: Infinity };
  for (const i of order.slice(0, 5)) {
    if (matched[i].length < matched[order[0]].length) break;
    const tokens = [...sents[i].text.matchAll(TOKEN_RE)].map((m) => m[0]);
    const hits = tokens.map((t, k) => (t.split(/[^\p{L}\p{N}]+/u).some((w) => focus.has(stem(w))) ? k : -1)).filter((k) => k >= 0);
    for (const c of candidates(tokens, q)) {
      const gap = Math.min(...hits.map((h) => Math.abs(h - c.index) - 1));
      if (!pick.cand || gap < pick.gap || (gap === pick.gap && c.rank < pick.cand.rank)) pick = { i, cand: c, gap };
    }
    if (pick.cand && pick.gap <= 3) break;
  }
  if (HAN.test(sents[order[0]].text)) return zhLookup(sents, order, matched, chunk, q, profile);
  const got = matched[pick.i];
  const coverage = got.length / q.focus.length;
  // A short span is trusted only when it stands next to the matched terms (and, for open
  // questions, next to all of them); otherwise the whole sentence is the answer.
  const near = pick.cand !== undefined && pick.gap <= 3;
  const span = near && (coverage === 1 || profile === 'retrieval' || q.expects === 'number') ? pick.cand : undefined;
  const best = sents[pick.i];
  let confidence: number;
  if (span && coverage === 1) confidence = 5;
  else if (coverage === 1) confidence = 3.5;
  else confidence = round(1 + 2.5 * coverage);
  if (profile === 'retrieval' && confidence < 5) confidence = Math.min(confidence, 4.5);
  const others = order.filter((i) => i !== pick.i).slice(0, 2).sort((a, b) => a - b);
  const evidence = clip([best.text, ...others.map((i) => sents[i].text)].join(' … '), 600);
  const where = `The best-matching sentence holds ${got.length} of ${q.focus.length} question terms (${quoteList(got)})`;
  const rationale = span
    ? `${where}; "${span.text}" stands right next to them, so it is taken as the answer.`
    : `${where}; no answer-shaped token stands right next to ${coverage === 1 ? 'them' : 'all of them'}, so the sentence itself is given.`;
  return { chunks: [chunk], evidence, rationale, answer: span ? span.text : best.text, confidence, irrelevant: false };
}

/** Lookup in Chinese sentences: the answer-shaped run next to the question's words (see zh.ts), else the sentence. */
function zhLookup(sents: Sentence[], order: number[], matched: string[][], chunk: number, q: QuestionInfo, profile: V1Profile): V1Record {
  const focus = new Set(q.focus);
  const top = order.filter((i) => matched[i].length === matched[order[0]].length).slice(0, 3);
  let pick = { i: order[0], span: undefined as ReturnType<typeof zhSpan> };
  for (const i of top) {
    const span = zhSpan(sents[i].text, focus, q.expects);
    if (span) {
      pick = { i, span };
      break;
    }
  }
  const got = matched[pick.i];
  const coverage = got.length / q.focus.length;
  let confidence = pick.span ? (coverage === 1 ? 5 : Math.min(4, round(1.5 + 2.5 * coverage))) : coverage === 1 ? 3.5 : round(1 + 2.5 * coverage);
  if (profile === 'retrieval' && confidence < 5) confidence = Math.min(confidence, 4.5);
  const others = order.filter((i) => i !== pick.i).slice(0, 2).sort((a, b) => a - b);
  const where = `The best-matching sentence holds ${got.length} of ${q.focus.length} question terms (${quoteList(got)})`;
  return {
    chunks: [chunk],
    evidence: clip([sents[pick.i].text, ...others.map((i) => sents[i].text)].join(' … '), 600),
    rationale: pick.span
      ? `${where}; "${pick.span.text}" stands next to them in the sentence's structure, so it is taken as the answer.`
      : `${where}; no short answer stands next to them, so the sentence itself is given.`,
    answer: pick.span ? pick.span.text : sents[pick.i].text,
    confidence,
    irrelevant: false,
  };
}

/** A record from the first place the chunk gives the key a value (confidence 5: the value stands next to the key). */
function keyRecord(chunk: number, key: KeyPhrase, hits: KeyHit[]): V1Record {
  const first = hits[0];
  const values = [...new Set(hits.map((h) => h.value))];
  const others = values.length > 1 ? ` Other values given to it here: ${quoteList(values.filter((v) => v !== first.value).slice(0, 3))}.` : '';
  return {
    chunks: [chunk],
    evidence: clip(first.evidence, 600),
    rationale: `"${key.key}" is given the value "${first.value}" in ${first.notation} of this chunk, the value right next to the key.${others}`,
    answer: first.value,
    confidence: values.length > 1 ? 4 : 5,
    irrelevant: false,
  };
}

function keyValue(text: string, chunk: number, key: string): V1Record {
  const k: KeyPhrase = { key, literal: true };
  const hits = findKeyValues(text, k);
  if (hits.length > 0) return keyRecord(chunk, k, hits);
  if (!text.includes(key)) return irrelevant(chunk, `The key "${key}" does not occur in this chunk.`);
  return irrelevant(chunk, `"${key}" occurs in this chunk, but not as a key followed by a value.`);
}

/**
 * A question that names a key ("What is the access number?"): its value in any notation the
 * chunk uses; else, for a number-like key, a number the chunk tells its reader to keep; else
 * nothing (the caller falls back to sentence ranking).
 */
function keyLookup(text: string, chunk: number, q: QuestionInfo, profile: V1Profile): V1Record | undefined {
  if (q.key) {
    const hits = findKeyValues(text, q.key);
    if (hits.length > 0) return keyRecord(chunk, q.key, hits);
  }
  if (!asksForCode(q.key?.key ?? q.asking)) return undefined;
  const keyWords = q.key ? (q.key.literal ? [] : words(q.key.key).filter((w) => !isStopWord(w))) : q.focus;
  const hit = findCuedNumber(splitSentences(text, profile !== 'code').map((s) => s.text), keyWords);
  if (!hit) return undefined;
  const all = keyWords.length > 0 && hit.keyWords === keyWords.length;
  return {
    chunks: [chunk],
    evidence: clip(hit.evidence, 600),
    rationale:
      `No value is written right next to ${q.key ? `"${q.key.key}"` : 'the words of the question'}, but this sentence sets the number ${hit.value} apart ` +
      `(${hit.keyWords} of ${keyWords.length} key words and ${hit.cueWords} cue word(s) such as "remember" or "code").`,
    answer: hit.value,
    confidence: all ? 4.5 : 4,
    irrelevant: false,
  };
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** For code questions whose options name functions: where each is defined, and whether its body looks broken. */
function codeOptions(text: string, chunk: number, options: ChoiceOption[]): V1Record | undefined {
  const found: Array<{ o: ChoiceOption; def: string; broken: boolean }> = [];
  for (const o of options) {
    const name = /[\w$.]+/.exec(o.text)?.[0];
    if (!name) continue;
    const re = new RegExp(`\\b(?:def|function|func|fn)\\s+${esc(name)}\\s*\\(|\\b${esc(name)}\\s*\\([^)\\n]*\\)\\s*(?:->[^{\\n]*)?\\{`);
    const m = re.exec(text);
    if (!m) continue;
    const body = text.slice(m.index, m.index + 4000).split('\n');
    const indent = /^\s*/.exec(text.slice(text.lastIndexOf('\n', m.index) + 1))?.[0].length ?? 0;
    const lines = [body[0]];
    for (const l of body.slice(1)) {
      if (l.trim() !== '' && (/^\s*/.exec(l)?.[0].length ?? 0) <= indent && !/^\s*[)\]}]/.test(l)) break;
      lines.push(l);
    }
    const code = lines.join('\n').replace(/(["'])(?:\\.|(?!\1).)*\1/g, '""');
    const bal = (a: string, b: string) => code.split(a).length - code.split(b).length;
    found.push({ o, def: clip(lines.slice(0, 12).join('\n'), 600), broken: bal('(', ')') !== 0 || bal('[', ']') !== 0 });
  }
  if (found.length === 0) return undefined;
  const hit = found.find((f) => f.broken) ?? found[0];
  return {
    chunks: [chunk],
    evidence: hit.def,
    rationale: hit.broken
      ? `Option ${hit.o.letter} (${hit.o.text}) is defined here and its brackets do not balance, an obvious fault.`
      : `Option ${hit.o.letter} (${hit.o.text}) is defined here; the offline checks found no obvious fault, so this is a weak guess.`,
    answer: hit.o.letter,
    confidence: hit.broken ? 3 : 1,
    irrelevant: false,
  };
}

function choice(text: string, chunk: number, q: QuestionInfo, profile: V1Profile): V1Record {
  if (profile === 'code') {
    const r = codeOptions(text, chunk, q.options);
    if (r) return r;
  }
  const sents = splitSentences(text, profile !== 'code');
  const docs = sents.map((s) => s.terms);
  const focusHit = sents.map((s) => (q.focus.length ? q.focus.filter((t) => s.terms.includes(t)).length / q.focus.length : 0));
  const scored = q.options.map((o) => {
    const s = bm25(o.terms, docs);
    let best = 0;
    let at = -1;
    s.forEach((v, i) => {
      const w = v * (1 + 0.5 * focusHit[i]);
      if (v > 0 && w > best) [best, at] = [w, i];
    });
    return { o, best, at };
  });
  const ranked = [...scored].sort((a, b) => b.best - a.best || a.o.letter.localeCompare(b.o.letter));
  const top = ranked[0];
  if (!top || top.best === 0) return irrelevant(chunk, 'None of the options is mentioned in this chunk.');
  const margin = (top.best - (ranked[1]?.best ?? 0)) / top.best;
  return {
    chunks: [chunk],
    evidence: clip(sents[top.at].text, 600),
    rationale:
      `Option ${top.o.letter} matches this chunk best (score ${top.best.toFixed(2)}` +
      (ranked[1] ? `, next ${ranked[1].o.letter} at ${ranked[1].best.toFixed(2)}` : '') +
      `); its best sentence holds ${Math.round(focusHit[top.at] * 100)}% of the question's terms.`,
    answer: top.o.letter,
    confidence: round(Math.min(3.5, 1 + 1.5 * margin + focusHit[top.at])),
    irrelevant: false,
  };
}

function mathRecord(text: string, chunk: number, q: QuestionInfo): V1Record {
  const nums = [...text.matchAll(/(?<![\p{L}\d.])-?\d+(?:\.\d+)?(?![\p{L}\d])/gu)].map((m) => Number(m[0]));
  if (nums.length === 0) return irrelevant(chunk, 'This chunk holds no numbers.');
  const op = q.mathOp ?? 'max';
  const value = aggregateNumbers(op, nums);
  const exact = op !== 'median';
  return {
    chunks: [chunk],
    evidence: `numbers=${nums.length}; sum=${formatNumber(nums.reduce((a, b) => a + b, 0))}; ${op}=${formatNumber(value)}`,
    rationale: `Computed the ${op} over the ${nums.length} numbers of this chunk; other chunks may change the overall result.`,
    answer: formatNumber(value),
    confidence: exact ? 4 : 1,
    irrelevant: false,
  };
}

function summaryRecord(text: string, chunk: number, q: QuestionInfo): V1Record {
  const sents = splitSentences(text).filter((s) => s.terms.length > 0);
  if (sents.length === 0) return irrelevant(chunk, 'This chunk holds no sentences with content words.');
  const { summary, picked } = pickSummary(sents, q.focus, 90);
  return {
    chunks: [chunk],
    evidence: '',
    rationale: `The ${picked} most central of ${sents.length} sentences in this chunk, in document order.`,
    answer: summary,
    confidence: SUMMARY_CONFIDENCE,
    irrelevant: false,
  };
}

/** The offline map step for one chunk. */
export function extractRecord(text: string, chunk: number, question: string, profile: V1Profile): V1Record {
  const q = analyzeQuestion(question, profile);
  switch (q.kind) {
    case 'kv':
      return keyValue(text, chunk, q.kvKey as string);
    case 'choice':
      return choice(text, chunk, q, profile);
    case 'math':
      return mathRecord(text, chunk, q);
    case 'summary':
      return summaryRecord(text, chunk, q);
    default:
      return keyLookup(text, chunk, q, profile) ?? lookup(text, chunk, q, profile);
  }
}

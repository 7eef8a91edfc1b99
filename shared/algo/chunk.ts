/**
 * Chunking a document by token budget (V1 §3, with its bugs fixed). Pure: no I/O.
 *
 * Guarantees: the chunk texts concatenated give back the input exactly (nothing dropped,
 * nothing repeated, in order); every chunk has at most `budgetTokens` tokens as counted by
 * `countTokens`; cuts prefer a line end, then a sentence end, then a word boundary, and only
 * inside a word longer than the budget fall back to a hard cut at a token boundary; the last
 * chunk is never tiny (under half the budget, the last two are re-split into about equal
 * halves). Pieces are counted once and their counts summed; since the count of a concatenation
 * can differ slightly from the sum, every chunk is recounted and re-split if it is over.
 */
import { countTokens, RUN_SLICE, sliceEnd, tokenPrefixLength } from './tokens.ts';

export interface Chunk {
  index: number;
  /** Offsets into the input, in UTF-16 code units: text === input.slice(start, end). */
  start: number;
  end: number;
  text: string;
  tokens: number;
}

/**
 * No token spans more characters than this (runs are counted in RUN_SLICE slices), so a span
 * longer than budget × this cannot fit and need not be counted.
 */
const CHARS_PER_TOKEN_MAX = RUN_SLICE;

/** Smallest budget that can always hold one code point (up to 4 UTF-8 bytes). */
export const MIN_CHUNK_TOKENS = 4;

export interface Unit {
  start: number;
  end: number;
  tokens: number;
}

const CJK_TERMINATORS = '。！？；';
const TERMINATORS = new Set(['.', '!', '?', ';', '…', ...CJK_TERMINATORS]);
const WS = /\s/;

/**
 * Sentence ends inside one line, found in linear time: right after a terminator run that is
 * followed by white space or the end (the space stays with the next sentence, as the encoding
 * glues a leading space to the next word), or after a CJK terminator.
 */
function sentenceCuts(text: string, start: number, end: number): number[] {
  const cuts: number[] = [];
  let i = start;
  while (i < end) {
    if (!TERMINATORS.has(text[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j < end && TERMINATORS.has(text[j])) j++;
    if (j < end && (CJK_TERMINATORS.includes(text[j - 1]) || WS.test(text[j]))) cuts.push(j);
    i = j;
  }
  cuts.push(end);
  return cuts;
}

/** Word spans inside [start, end): white space goes with the word after it; trailing white space with the last word. */
function wordCuts(text: string, start: number, end: number): number[] {
  const cuts: number[] = [];
  let i = start;
  while (i < end && WS.test(text[i])) i++;
  while (i < end) {
    while (i < end && !WS.test(text[i])) i++;
    let j = i;
    while (j < end && WS.test(text[j])) j++;
    if (j >= end) break;
    cuts.push(i);
    i = j;
  }
  cuts.push(end);
  return cuts;
}

/** End of the code point that starts at `pos`. */
function codePointEnd(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  if (c >= 0xd800 && c <= 0xdbff && pos + 1 < text.length) {
    const d = text.charCodeAt(pos + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return pos + 2;
  }
  return pos + 1;
}

/** Cut an over-long word into pieces of at most `max` tokens, each counted exactly. */
function hardCut(text: string, start: number, end: number, max: number, out: Unit[]): void {
  let pos = start;
  while (pos < end) {
    let target = max;
    for (;;) {
      // Walk RUN_SLICE-sized atoms while they fit, then cut the next atom at a token boundary.
      let q = pos;
      let used = 0;
      while (q < end) {
        const atomEnd = Math.min(end, sliceEnd(text, q, RUN_SLICE));
        const n = countTokens(text.slice(q, atomEnd));
        if (used + n <= target) {
          used += n;
          q = atomEnd;
          continue;
        }
        q += tokenPrefixLength(text.slice(q, atomEnd), target - used);
        break;
      }
      // Always make progress: at worst one code point, which fits any budget ≥ MIN_CHUNK_TOKENS.
      const one = Math.min(end, codePointEnd(text, pos));
      if (q === pos || target <= 1) q = one;
      const tokens = countTokens(text.slice(pos, q));
      if (tokens <= max || q === one) {
        out.push({ start: pos, end: q, tokens });
        pos = q;
        break;
      }
      target -= Math.max(1, tokens - max);
    }
  }
}

/** Split [start, end) into units of at most `maxUnit` tokens: lines, then sentences, then words, then hard cuts. */
export function splitUnits(text: string, start: number, end: number, maxUnit: number, hardMax: number): Unit[] {
  const out: Unit[] = [];
  const levels = [
    (s: number, e: number) => {
      const cuts: number[] = [];
      for (let i = s; i < e; ) {
        const nl = text.indexOf('\n', i);
        i = nl < 0 || nl >= e ? e : nl + 1;
        cuts.push(i);
      }
      return cuts;
    },
    (s: number, e: number) => sentenceCuts(text, s, e),
    (s: number, e: number) => wordCuts(text, s, e),
  ];
  // `over`: the span [s, e) is already known to exceed maxUnit (it was counted one level up,
  // or it is too long to fit whatever it holds), so a span the level does not split is not
  // counted again.
  const visit = (s: number, e: number, level: number, over: boolean): void => {
    let prev = s;
    for (const cut of levels[level](s, e)) {
      if (cut <= prev) continue;
      const whole = over && prev === s && cut === e;
      const tokens = whole || cut - prev > maxUnit * CHARS_PER_TOKEN_MAX ? Infinity : countTokens(text.slice(prev, cut));
      if (tokens <= maxUnit) out.push({ start: prev, end: cut, tokens });
      else if (level + 1 < levels.length) visit(prev, cut, level + 1, true);
      else hardCut(text, prev, cut, hardMax, out);
      prev = cut;
    }
  };
  visit(start, end, 0, false);
  return out;
}

/** Units to look back over, at most, for a better cut than the greedy one. */
const LOOKBACK_UNITS = 8;

/**
 * Greedy packing of units, fed one at a time, into ranges whose summed counts fit the budget.
 * When a range must close, a better-ranked cut within a short look-back (a few units, at most a
 * tenth of the budget) is preferred, e.g. not between a "key": and its value. Holds only the
 * units of the range being filled, so it also serves the streaming chunker.
 */
export class Packer {
  private cur: Unit[] = [];
  private sum = 0;

  constructor(
    private readonly budget: number,
    private readonly rankAt: (pos: number) => number,
  ) {}

  /** Add the next unit; returns the units of the range it closed, if it closed one. */
  add(u: Unit): Unit[] | null {
    let closed: Unit[] | null = null;
    const cur = this.cur;
    if (cur.length > 0 && this.sum + u.tokens > this.budget) {
      const i = cur.length;
      let k = i;
      let bestRank = this.rankAt(u.start);
      let back = 0;
      for (let j = i - 1; j > 0 && i - j <= LOOKBACK_UNITS && bestRank > 0; j--) {
        back += cur[j].tokens;
        if (back > this.budget / 10 || back + u.tokens > this.budget) break;
        const r = this.rankAt(cur[j].start);
        if (r < bestRank) [bestRank, k] = [r, j];
      }
      closed = cur.slice(0, k);
      this.cur = cur.slice(k);
      this.sum = this.cur.reduce((s, x) => s + x.tokens, 0);
    }
    this.cur.push(u);
    this.sum += u.tokens;
    return closed;
  }

  /** The units of the range still open (empty when none). */
  finish(): Unit[] {
    const last = this.cur;
    this.cur = [];
    this.sum = 0;
    return last;
  }

  /** Earliest position the open range still refers to (Infinity when empty). */
  firstStart(): number {
    return this.cur.length ? this.cur[0].start : Infinity;
  }

  /** Move every held position `by` code units to the left (the caller dropped that much text). */
  shift(by: number): void {
    this.cur = this.cur.map((u) => ({ ...u, start: u.start - by, end: u.end - by }));
  }
}

/**
 * Close one packed range: recount it exactly and keep it when it fits (or is a single unit);
 * otherwise pack its units again with a target lowered by the excess.
 */
export function settleRange(text: string, us: Unit[], target: number, budget: number, out: Unit[]): void {
  const start = us[0].start;
  const end = us[us.length - 1].end;
  const tokens = us.length === 1 ? us[0].tokens : countTokens(text.slice(start, end));
  if (tokens <= budget || us.length === 1) out.push({ start, end, tokens });
  else packVerified(text, us, Math.max(1, target - (tokens - budget) - 1), budget, out);
}

/** Pack with `target`, recount each range exactly, and re-pack any range over the budget. */
function packVerified(text: string, units: Unit[], target: number, budget: number, out: Unit[]): void {
  const packer = new Packer(target, (pos) => cutRank(text, pos));
  for (const u of units) {
    const closed = packer.add(u);
    if (closed) settleRange(text, closed, target, budget, out);
  }
  const last = packer.finish();
  if (last.length) settleRange(text, last, target, budget, out);
}

/**
 * How good a cut at `pos` is (lower is better): 0 line end, 1 sentence end, 2 word boundary,
 * 2.5 word boundary right after a ":" or "=" (it would part a label from its value), 3 inside a word.
 */
export function cutRank(text: string, pos: number): number {
  const prev = text[pos - 1];
  const next = text[pos];
  if (prev === '\n') return 0;
  if (TERMINATORS.has(prev) && (next === undefined || WS.test(next) || CJK_TERMINATORS.includes(prev))) return 1;
  if (!(WS.test(prev) || (next !== undefined && WS.test(next)))) return 3;
  let k = pos - 1;
  while (k >= 0 && k > pos - 64 && WS.test(text[k])) k--;
  return k >= 0 && (text[k] === ':' || text[k] === '=') ? 2.5 : 2;
}

/** Re-split the last two chunks into about equal halves, preferring good cut points. */
export function rebalanceTail(text: string, chunks: Unit[], budget: number): void {
  if (chunks.length < 2) return;
  const last = chunks[chunks.length - 1];
  if (last.tokens * 2 >= budget) return;
  const prev = chunks[chunks.length - 2];
  const unit = Math.max(MIN_CHUNK_TOKENS, Math.floor(budget / 16));
  const fine = splitUnits(text, prev.start, last.end, unit, unit);
  const total = fine.reduce((s, u) => s + u.tokens, 0);
  let best = -1;
  let bestScore = Infinity;
  let left = 0;
  for (let k = 1; k < fine.length; k++) {
    left += fine[k - 1].tokens;
    const right = total - left;
    if (left > budget || right > budget) continue;
    const score = Math.abs(left - right) / total + 0.04 * cutRank(text, fine[k].start);
    if (score < bestScore) {
      bestScore = score;
      best = k;
    }
  }
  if (best < 0) return;
  const cut = fine[best].start;
  const a = countTokens(text.slice(prev.start, cut));
  const b = countTokens(text.slice(cut, last.end));
  if (a > budget || b > budget || Math.min(a, b) <= last.tokens) return;
  chunks[chunks.length - 2] = { start: prev.start, end: cut, tokens: a };
  chunks[chunks.length - 1] = { start: cut, end: last.end, tokens: b };
}

/** Throws when the budget cannot hold every code point. */
export function checkBudget(budgetTokens: number): void {
  if (!Number.isInteger(budgetTokens) || budgetTokens < MIN_CHUNK_TOKENS) {
    throw new RangeError(`chunk budget must be an integer of at least ${MIN_CHUNK_TOKENS} tokens, got ${budgetTokens}`);
  }
}

/** Split a text into chunks of at most `budgetTokens` tokens each (see the module comment). */
export function chunkText(text: string, budgetTokens: number): Chunk[] {
  checkBudget(budgetTokens);
  if (text.length === 0) return [];
  const units = splitUnits(text, 0, text.length, budgetTokens, budgetTokens);
  const ranges: Unit[] = [];
  packVerified(text, units, budgetTokens, budgetTokens, ranges);
  rebalanceTail(text, ranges, budgetTokens);
  return ranges.map((r, index) => ({ index, start: r.start, end: r.end, text: text.slice(r.start, r.end), tokens: r.tokens }));
}

export interface BudgetInput {
  /** Model context window: prompt, document text and reply together. */
  window: number;
  /** Tokens of the prompt without the document text and without the question. */
  promptTokens: number;
  /** Tokens reserved for the model's reply. */
  maxOutputTokens: number;
  /** Tokens of the question. */
  questionTokens: number;
}

/** Tokens left for source text in one call: window − prompt − reserved output − question. */
export function budgetFor(b: BudgetInput): number {
  const left = b.window - b.promptTokens - b.maxOutputTokens - b.questionTokens;
  if (!(left > 0)) {
    const need = b.promptTokens + b.maxOutputTokens + b.questionTokens;
    throw new RangeError(
      `no room for document text: window ${b.window} − prompt ${b.promptTokens} − reserved output ` +
        `${b.maxOutputTokens} − question ${b.questionTokens} = ${left} tokens. Raise the window above ${need} ` +
        `(or lower maxOutputTokens, or shorten the question).`,
    );
  }
  return left;
}

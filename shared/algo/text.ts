/**
 * Plain-text helpers shared by the offline implementations: word tokens, stop words and
 * sentence spans. Pure: no I/O.
 */

const STOP = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have he her his how i if in into ' +
    'is it its may might more most no not of on or our she should so such than that the their them then there ' +
    'these they this those to was we were what when where which while who whom why will with would you your ' +
    'also both each other over under about after before between through during within without via using based ' +
    'we us one two three any all some many much very just only own same too s t ' +
    // Chinese function words (the offline engine segments Han text into words, see `words`).
    '的 了 是 在 和 与 及 或 也 都 就 而 被 把 对 从 向 这 那 这个 那个 一个 我 你 他 她 它 我们 你们 他们 ' +
    '什么 哪 哪里 哪个 谁 吗 呢 吧 啊 为 以 之 其 于 等 让 给 将 并 很 还 又 再 着 过 所 但 但是 因为 所以 ' +
    '如果 可以 会 能 要 多少 几 怎么 如何 为什么 请'
  ).split(/\s+/),
);

export function isStopWord(w: string): boolean {
  return STOP.has(w);
}

const HAN = /\p{Script=Han}/u;
let zhSegmenter: Intl.Segmenter | undefined;

/** Words of a run that holds Han characters, by the ICU dictionary segmenter (Chinese has no spaces). */
function segmentHan(run: string): string[] {
  zhSegmenter ??= new Intl.Segmenter('zh', { granularity: 'word' });
  const out: string[] = [];
  for (const s of zhSegmenter.segment(run)) if (s.isWordLike) out.push(s.segment);
  return out;
}

/**
 * Lower-cased word tokens (letters and digits; Unicode-aware). Runs of Chinese text are split
 * into words by `Intl.Segmenter` rather than kept as one token per clause.
 */
export function words(text: string): string[] {
  const raw = text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? [];
  if (!raw.some((w) => HAN.test(w))) return raw;
  return raw.flatMap((w) => (HAN.test(w) ? segmentHan(w) : [w]));
}

/** Word tokens without stop words and one-letter tokens (a single Han character is a word of its own). */
export function terms(text: string): string[] {
  return words(text).filter((w) => (w.length > 1 || HAN.test(w)) && !STOP.has(w));
}

export interface Span {
  start: number;
  end: number;
  text: string;
}

/**
 * Sentence spans that cover the text exactly (concatenated, they give back the input):
 * a sentence ends after ., !, ?, ; or their CJK forms, plus trailing spaces, or at a newline.
 */
export function sentenceSpans(text: string): Span[] {
  const spans: Span[] = [];
  // Lazily take characters up to a terminator run that is followed by white space or the end
  // (so "3.5" and "e.g.x" stay whole), a CJK terminator, or a newline.
  const re = /[^]*?(?:[.!?;]+(?:[^\S\n]*\n+|[^\S\n]+|$)|[。！？；]+[^\S\n]*|\n+|$)/gu;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      if (re.lastIndex >= text.length) break;
      re.lastIndex++;
      continue;
    }
    spans.push({ start: m.index, end: m.index + m[0].length, text: m[0] });
  }
  return spans;
}

/** Trimmed, non-empty sentences. */
export function sentences(text: string): string[] {
  return sentenceSpans(text)
    .map((s) => s.text.trim())
    .filter((s) => s.length > 0);
}

/**
 * The JSON value in a model's free-text reply, if any: a fenced ```json block, the whole
 * reply, or the span from the first "{" (or "[") to the last "}" (or "]"). Undefined if none parses.
 */
export function extractJson(text: string): unknown {
  const tries: string[] = [];
  for (const m of text.matchAll(/(`{3,}|~{3,})[ \t]*(?:json|JSON)?[ \t]*\n([^]*?)\n[ \t]*\1/g)) tries.push(m[2]);
  tries.push(text.trim());
  for (const [open, close] of [
    ['{', '}'],
    ['[', ']'],
  ]) {
    const a = text.indexOf(open);
    const b = text.lastIndexOf(close);
    if (a >= 0 && b > a) tries.push(text.slice(a, b + 1));
  }
  for (const t of tries) {
    try {
      return JSON.parse(t);
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

/**
 * A light English stemmer for matching question words to document words: folds plurals and
 * possessives ("digits" → "digit", "keys" → "key", "stories" → "story"). Deliberately mild, so
 * it never merges unrelated words.
 */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/['’]s$/, '');
  if (w.length > 4 && w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (w.length > 4 && /(?:ss|x|ch|sh)es$/.test(w)) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  return w;
}

/** Stemmed content words of a text (see `terms`). */
export function stemmedTerms(text: string): string[] {
  return terms(text).map(stem);
}

/**
 * Okapi BM25 score of each document (a list of terms) for the query terms, with idf computed
 * over the given documents. Repeated query terms count once.
 */
export function bm25(query: readonly string[], docs: readonly (readonly string[])[], k1 = 1.2, b = 0.75): number[] {
  const q = [...new Set(query)];
  const n = docs.length;
  if (n === 0 || q.length === 0) return docs.map(() => 0);
  const avgLen = docs.reduce((s, d) => s + d.length, 0) / n || 1;
  const df = new Map<string, number>();
  const tfs = docs.map((d) => {
    const tf = new Map<string, number>();
    for (const t of d) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const t of q) if (tf.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
    return tf;
  });
  return tfs.map((tf, i) => {
    let s = 0;
    for (const t of q) {
      const f = tf.get(t);
      if (!f) continue;
      const idf = Math.log(1 + (n - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5));
      s += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * docs[i].length) / avgLen));
    }
    return s;
  });
}

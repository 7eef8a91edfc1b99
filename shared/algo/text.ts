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
    'we us one two three any all some many much very just only own same too s t'
  ).split(/\s+/),
);

export function isStopWord(w: string): boolean {
  return STOP.has(w);
}

/** Lower-cased word tokens (letters and digits; Unicode-aware). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? [];
}

/** Word tokens without stop words and one-letter tokens. */
export function terms(text: string): string[] {
  return words(text).filter((w) => w.length > 1 && !STOP.has(w));
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

/**
 * Short answers in Chinese sentences for the offline engine. Chinese has no spaces or capital
 * letters to mark a name or a value, so the answer is read from the sentence's structure: a
 * run of words next to the question's words, best when a copula or preposition introduces it
 * ("馆长是李文澜", "建于一八九二年", "由石匠周大川修建"), of the kind the question asks for. Pure: no I/O.
 */
import { stem } from '../../algo/text.ts';
import type { Expect } from './question.ts';

export const HAN = /\p{Script=Han}/u;

/** Words that introduce a value: stripped from the front of a run, and a sign that an answer follows. */
const INTRO = /^(?:名叫|称为|叫做|是|为|叫|由|于|在|有|乃|系|共|约|达)/u;
const INTRO_WORD = /^(?:名叫|称为|叫做|是|为|叫|由|于)$/u;
const TRIM_END = /(?:的|了|之|等)+$/u;
const NUMERAL = /[\d〇零一二三四五六七八九十百千万亿两]/u;
const TIME = /(?:\d|[〇零一二三四五六七八九十])+\s*(?:年|月|日|号)|世纪|朝|时期|年代/u;

let segmenter: Intl.Segmenter | undefined;
function segments(text: string): string[] {
  segmenter ??= new Intl.Segmenter('zh', { granularity: 'word' });
  return [...segmenter.segment(text)].map((s) => s.segment);
}

export interface ZhSpan {
  text: string;
  /** Question words in the clause the span stands in. */
  clauseHits: number;
}

/**
 * The best answer-shaped run of a Chinese sentence for these (stemmed) question words: runs of
 * words that are not question words, standing next to one, scored by an introducing word, the
 * question words in their clause and the expected kind (a time, a number, a person).
 */
export function zhSpan(sentence: string, focus: ReadonlySet<string>, expects: Expect): ZhSpan | undefined {
  let best: (ZhSpan & { score: number }) | undefined;
  for (const clause of sentence.split(/[，,；;：:、。！？!?（）()“”"「」\n]+/u)) {
    const segs = segments(clause);
    const isFocus = segs.map((s) => focus.has(stem(s.toLowerCase())));
    const hits = new Set(segs.filter((_, i) => isFocus[i]).map((s) => s.toLowerCase())).size;
    if (hits === 0) continue;
    for (let i = 0; i < segs.length; ) {
      if (isFocus[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j < segs.length && !isFocus[j]) j++;
      const raw = segs.slice(i, j).join('').trim();
      const after = i > 0;
      const before = j < segs.length;
      // Introduced by a word of its own ("是李文澜") or by a question word that is such a word ("叫" in "叫什么名字").
      const introduced = INTRO.test(raw) || (after && INTRO_WORD.test(segs[i - 1]));
      const text = raw.replace(INTRO, '').replace(/^的/u, '').replace(TRIM_END, '').trim();
      i = j;
      if (!HAN.test(text) && !/\d/.test(text)) continue;
      if (text.length < 2 && !/\d/.test(text)) continue;
      if (text.length > 15) continue;
      let score = (introduced ? 2 : 0) + (after ? 1 : 0) + (before && !after ? 0.5 : 0) + 0.5 * hits;
      if (expects === 'time') score += TIME.test(text) ? 2 : -1;
      else if (expects === 'number') score += NUMERAL.test(text) ? 2 : -1;
      else if (expects === 'person') score += /\d/.test(text) || TIME.test(text) ? -1 : 1;
      if (!best || score > best.score) best = { text, clauseHits: hits, score };
    }
  }
  return best && { text: best.text, clauseHits: best.clauseHits };
}

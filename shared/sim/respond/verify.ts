/**
 * Responder for v2.verify: every check shown (a "Sentence N" block followed by the "Passage of
 * KEY" block it is checked against) is answered. A sentence is supported when the passage holds
 * most of its content words and every number it states; the evidence is the passage's sentence
 * that overlaps it most, copied exactly; an unsupported sentence is rewritten as that passage
 * sentence when they share enough words. Pure: no I/O.
 */
import { clip, quotable, rankSentences, stems, type RespondCtx } from './common.ts';

export interface ShownCheck {
  sentence: number;
  key: string;
  text: string;
  passage: string;
}

/** Sentence and passage blocks paired in order. */
export function checksOf(ctx: RespondCtx): ShownCheck[] {
  const out: ShownCheck[] = [];
  let cur: { n: number; text: string } | undefined;
  for (const f of ctx.view.fences) {
    const s = /^sentence\s+(\d+)/i.exec(f.label);
    const p = /^passage of\s+\[?([^\]\s]+)\]?/i.exec(f.label);
    if (s) cur = { n: Number(s[1]), text: f.body };
    else if (p && cur) out.push({ sentence: cur.n, key: p[1], text: cur.text, passage: f.body });
  }
  return out;
}

const numbers = (s: string) => s.match(/\d+(?:\.\d+)?/g) ?? [];

/** The start of a text cut at a word boundary (still an exact quote, no ellipsis). */
function exactCut(s: string, n: number): string {
  if (s.length <= n) return s;
  const cut = s.slice(0, n);
  const space = cut.lastIndexOf(' ');
  return space > n / 2 ? cut.slice(0, space) : cut;
}

export function respondVerify(ctx: RespondCtx): Record<string, unknown> {
  const checks = checksOf(ctx).map((c) => {
    const want = [...new Set(stems(c.text))];
    const have = new Set(stems(c.passage));
    const share = want.length ? want.filter((w) => have.has(w)).length / want.length : 0;
    const missingNumbers = numbers(c.text).filter((n) => !c.passage.includes(n));
    const supported = share >= 0.5 && missingNumbers.length === 0;
    const best = rankSentences(quotable(c.passage), c.text)[0];
    const evidence = best && best.hits > 0 ? exactCut(best.text, 240) : '';
    const reason = supported
      ? `The passage states ${Math.round(100 * share)}% of what the sentence says${numbers(c.text).length ? ', numbers included' : ''}.`
      : missingNumbers.length
        ? `The passage does not give ${missingNumbers.slice(0, 3).join(', ')}.`
        : `The passage shares only ${Math.round(100 * share)}% of the sentence's content words.`;
    const rewrite = !supported && best && best.cover >= 0.3 ? clip(best.text, 300) : '';
    return { sentence: c.sentence, key: c.key, supported, reason, evidence, rewrite };
  });
  return { checks };
}

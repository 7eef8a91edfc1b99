/**
 * Checks of a model's reply that a JSON Schema cannot express, shared by the ops' `check`:
 * text repeated over and over, a reply in the wrong language, an outline too thin to write a
 * survey from. Each returns sentences addressed to the model (empty: no problem). Pure: no I/O.
 */
import { sentences, words } from './text.ts';

/** Sentences that occur three or more times in one text (a model stuck in a loop). */
export function repetitionProblems(text: string, what = 'the text'): string[] {
  const counts = new Map<string, number>();
  for (const s of sentences(text)) {
    const key = s.toLowerCase().replace(/\s+/g, ' ').trim();
    if (key.length >= 20) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const looped = [...counts].filter(([, n]) => n >= 3);
  if (looped.length === 0) return [];
  const [s, n] = looped[0];
  return [`${what} repeats the sentence "${s.slice(0, 80)}" ${n} times; say each thing once.`];
}

/** Very frequent function words of a few languages, to tell which one a text is written in. */
const FUNCTION_WORDS: Record<string, ReadonlySet<string>> = {
  // Single letters ("a", "e", "o") are left out of every list: they are English words too, and
  // abbreviations such as "e.g." split into them.
  en: new Set('the of and to in is that for on with as are by this be it from an which we or these their its was not can has have at but than'.split(' ')),
  fr: new Set('le la les de des du et est un une pour dans que qui sur par au aux ce cette sont avec'.split(' ')),
  de: new Set('der die das und ist nicht ein eine zu den dem mit von für auf im sich des werden wird'.split(' ')),
  es: new Set('el la los las de del es un una para en que por con se como su al son'.split(' ')),
  it: new Set('il lo la gli le di del della è un una per che con sono nel come anche'.split(' ')),
  pt: new Set('os de do da é um uma para em que por com se não são'.split(' ')),
};
const LANGUAGE_NAMES: Record<string, string> = { en: 'English', fr: 'French', de: 'German', es: 'Spanish', it: 'Italian', pt: 'Portuguese', zh: 'Chinese', ja: 'Japanese', ko: 'Korean', ru: 'Russian' };
const SCRIPTS: Record<string, RegExp> = { zh: /\p{Script=Han}/u, ja: /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u, ko: /\p{Script=Hangul}/u, ru: /\p{Script=Cyrillic}/u };

/** A language code ("en", "French", "zh-CN") → its two-letter code, or undefined when unknown. */
export function languageCode(language: string | undefined): string | undefined {
  if (!language) return undefined;
  const l = language.trim().toLowerCase();
  const byName = Object.entries(LANGUAGE_NAMES).find(([, name]) => name.toLowerCase() === l)?.[0];
  const code = byName ?? l.slice(0, 2);
  return code in LANGUAGE_NAMES ? code : undefined;
}

/** The language a text is most likely written in (two-letter code), or undefined for short or unclear texts. */
export function guessLanguage(text: string): string | undefined {
  const letters = [...text.replace(/\[@[^\]]*\]|\$[^$]*\$|https?:\S+/g, ' ')].filter((c) => /\p{L}/u.test(c));
  if (letters.length < 60) return undefined;
  const latin = letters.filter((c) => /\p{Script=Latin}/u.test(c)).length / letters.length;
  if (latin < 0.5) {
    if (letters.some((c) => /[\p{Script=Hiragana}\p{Script=Katakana}]/u.test(c))) return 'ja';
    for (const code of ['ko', 'zh', 'ru']) if (letters.filter((c) => SCRIPTS[code].test(c)).length > letters.length * 0.3) return code;
    return undefined;
  }
  const ws = words(text).map((w) => w.toLowerCase());
  if (ws.length < 15) return undefined;
  const share = Object.entries(FUNCTION_WORDS).map(([code, set]) => [code, ws.filter((w) => set.has(w)).length / ws.length] as const);
  share.sort((a, b) => b[1] - a[1]);
  return share[0][1] >= 0.08 ? share[0][0] : undefined;
}

/** A problem when a text of some length is clearly in another language than asked (default English). */
export function languageProblems(text: string, language?: string, what = 'the text'): string[] {
  const want = languageCode(language) ?? 'en';
  const got = guessLanguage(text);
  if (!got || got === want) return [];
  return [`${what} is written in ${LANGUAGE_NAMES[got]}; write it in ${LANGUAGE_NAMES[want]}.`];
}

interface LooseSection {
  title: string;
  children?: LooseSection[];
}

/** An outline a survey can be written from: two or more top-level sections, titled, no title twice among siblings. */
export function outlineProblems(sections: readonly LooseSection[], surveyTitle?: string, minTop = 2): string[] {
  const problems: string[] = [];
  const least = Math.max(2, minTop);
  if (sections.length < least) problems.push(`The outline has ${sections.length} top-level section(s); give at least ${least}, each a distinct theme of the papers.`);
  // The same title twice under one parent is a duplicate; "Evaluation" under two parents is not.
  const twice = new Set<string>();
  const visit = (siblings: readonly LooseSection[]) => {
    const seen = new Set<string>();
    for (const s of siblings) {
      const t = s.title.trim().toLowerCase().replace(/\s+/g, ' ');
      if (!t) problems.push('A section has an empty title; give every section a specific title.');
      else if (seen.has(t)) twice.add(`"${t}"`);
      seen.add(t);
      if (s.children?.length) visit(s.children);
    }
  };
  visit(sections);
  if (twice.size) problems.push(`The title(s) ${[...twice].slice(0, 3).join(', ')} are used for more than one section under the same parent; each needs its own title.`);
  if (surveyTitle && sections.length > 0 && sections.every((s) => s.title.trim().toLowerCase() === surveyTitle.trim().toLowerCase()))
    problems.push('The sections only repeat the survey title; name the themes the papers actually cover.');
  return [...new Set(problems)];
}

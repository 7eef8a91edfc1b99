/**
 * "Answers in another language" for the sloppy simulator: English function words and common
 * research vocabulary swapped word by word for French or German, technical terms, numbers and
 * citations left as they are — the mixed text small models produce when they drift out of the
 * requested language. A rough rendering, meant to be detected, not read. Pure: no I/O.
 */
import type { Rng } from '../algo/rng.ts';

export const LANGUAGES = ['fr', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];

const GLOSSARY: Record<Language, Record<string, string>> = {
  fr: {
    the: 'le', a: 'un', an: 'un', of: 'de', and: 'et', or: 'ou', is: 'est', are: 'sont', was: 'était', were: 'étaient', in: 'dans', on: 'sur', to: 'à',
    for: 'pour', with: 'avec', without: 'sans', by: 'par', from: 'de', that: 'que', this: 'ce', these: 'ces', those: 'ceux', it: 'il', its: 'son',
    their: 'leur', they: 'ils', we: 'nous', our: 'notre', as: 'comme', at: 'à', be: 'être', has: 'a', have: 'ont', not: 'pas', no: 'aucun', but: 'mais',
    which: 'qui', when: 'quand', while: 'tandis que', than: 'que', more: 'plus', most: 'la plupart', less: 'moins', each: 'chaque', all: 'tous',
    paper: 'article', papers: 'articles', method: 'méthode', methods: 'méthodes', result: 'résultat', results: 'résultats', model: 'modèle',
    models: 'modèles', data: 'données', study: 'étude', studies: 'études', approach: 'approche', approaches: 'approches', work: 'travail',
    shows: 'montre', show: 'montrent', uses: 'utilise', use: 'utilisent', improves: 'améliore', reduces: 'réduit', memory: 'mémoire',
    section: 'section', survey: 'enquête', answer: 'réponse', question: 'question', text: 'texte', new: 'nouveau', between: 'entre',
    also: 'aussi', can: 'peut', only: 'seulement', into: 'dans', about: 'sur', over: 'sur', under: 'sous', both: 'les deux', other: 'autre',
    performance: 'performance', accuracy: 'précision', training: 'entraînement', large: 'grand', small: 'petit', time: 'temps', cost: 'coût',
  },
  de: {
    the: 'die', a: 'ein', an: 'ein', of: 'von', and: 'und', or: 'oder', is: 'ist', are: 'sind', was: 'war', were: 'waren', in: 'in', on: 'auf', to: 'zu',
    for: 'für', with: 'mit', without: 'ohne', by: 'durch', from: 'aus', that: 'dass', this: 'dies', these: 'diese', those: 'jene', it: 'es', its: 'sein',
    their: 'ihr', they: 'sie', we: 'wir', our: 'unser', as: 'wie', at: 'bei', be: 'sein', has: 'hat', have: 'haben', not: 'nicht', no: 'kein', but: 'aber',
    which: 'welche', when: 'wenn', while: 'während', than: 'als', more: 'mehr', most: 'meiste', less: 'weniger', each: 'jede', all: 'alle',
    paper: 'Arbeit', papers: 'Arbeiten', method: 'Methode', methods: 'Methoden', result: 'Ergebnis', results: 'Ergebnisse', model: 'Modell',
    models: 'Modelle', data: 'Daten', study: 'Studie', studies: 'Studien', approach: 'Ansatz', approaches: 'Ansätze', work: 'Arbeit',
    shows: 'zeigt', show: 'zeigen', uses: 'verwendet', use: 'verwenden', improves: 'verbessert', reduces: 'reduziert', memory: 'Speicher',
    section: 'Abschnitt', survey: 'Übersicht', answer: 'Antwort', question: 'Frage', text: 'Text', new: 'neu', between: 'zwischen',
    also: 'auch', can: 'kann', only: 'nur', into: 'in', about: 'über', over: 'über', under: 'unter', both: 'beide', other: 'andere',
    performance: 'Leistung', accuracy: 'Genauigkeit', training: 'Training', large: 'groß', small: 'klein', time: 'Zeit', cost: 'Kosten',
  },
};

export function pickLanguage(rng: Rng): Language {
  return LANGUAGES[rng.int(LANGUAGES.length)];
}

/** The text with every glossary word replaced (case of the first letter kept); citations untouched. */
export function translate(text: string, lang: Language): string {
  const g = GLOSSARY[lang];
  return text
    .split(/(\[[^\]]*\]|\\cite\{[^}]*\})/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/[A-Za-z]+/g, (w) => {
            const t = g[w.toLowerCase()];
            if (!t) return w;
            return w[0] === w[0].toUpperCase() && w[0] !== w[0].toLowerCase() ? t[0].toUpperCase() + t.slice(1) : t;
          }),
    )
    .join('');
}

/**
 * Sentences that stand on their own in a survey: LaTeX and web debris cleaned or refused, a
 * paper's first person reported under its authors' names ("We propose X" → "Chen et al.
 * propose X"), openings that point back at something the reader never saw ("However,", "This
 * limitation", "They") stripped, rewritten with the paper as subject, or refused. Plus sentence
 * keys for finding repeats. Pure: no I/O.
 */

/** How a paper is named as a grammatical subject: "Chen et al.", "Chen and Li", "Chen". */
export function paperSubject(authors: readonly string[] | undefined, title: string): string {
  const surname = (a: string) => {
    const parts = a.trim().replace(/,.*$/, '').split(/\s+/);
    const last = parts[parts.length - 1] ?? a;
    return /^\p{Lu}\p{L}/u.test(last) ? last : a.trim();
  };
  // A name with digits ("Author 1") stands in for a name; it is not one.
  const list = (authors ?? []).map((a) => a.trim()).filter((a) => a && !/\d/.test(a));
  if (list.length === 1) return surname(list[0]);
  if (list.length === 2) return `${surname(list[0])} and ${surname(list[1])}`;
  if (list.length > 2) return `${surname(list[0])} et al.`;
  const name = /^([^:]{2,40}):\s/.exec(title)?.[1];
  return name && name.split(/\s+/).length <= 4 ? `The authors of ${name}` : 'The authors of this study';
}

/** Simple inline math that reads as text once the dollars go ($\times$ → ×, $k$ → k); null when it does not. */
function mathAsText(m: string): string | null {
  const t = m
    .replace(/\\times/g, '×')
    .replace(/\\sim/g, '~')
    .replace(/\\approx/g, '≈')
    .replace(/\\le(q)?/g, '≤')
    .replace(/\\ge(q)?/g, '≥')
    .replace(/\\%/g, '%')
    .replace(/\\mathcal\{(\w)\}/g, '$1')
    .replace(/\\text(?:rm|bf|it)?\{([^{}]*)\}/g, '$1')
    .replace(/[{}]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return /\\|\^|_/.test(t) || t.length > 16 ? null : t;
}

/** Web debris and availability notes: never survey content. */
const DEBRIS = /https?:\/\/|www\.|github|\.com\b|\.io\b|\bcode (?:and \w+ )?(?:is|are|will be) (?:publicly |openly )?(?:available|released)|\b(?:is|are|will be) (?:made )?publicly available|\bproject page\b|\bopen-?sourced? at\b|\bavailable at\b|\bcorresponding author\b|\bequal contribution\b/i;

/**
 * A sentence cleaned of markup, or null when it cannot be shown as prose: text formatting and
 * citation commands go, simple inline math becomes text, and anything with a URL, an
 * availability note or math that does not read as text is refused.
 */
export function cleanProse(s: string): string | null {
  if (DEBRIS.test(s)) return null;
  let t = s
    .replace(/\\(?:cite|citep|citet|ref|eqref|label|footnote)\{[^{}]*\}/g, '')
    .replace(/\\(?:textbf|textit|emph|texttt|underline|mathrm|mathbf)\{([^{}]*)\}/g, '$1');
  let ok = true;
  t = t.replace(/\$\$[^$]*\$\$|\$([^$]*)\$/g, (all, inner: string | undefined) => {
    const r = inner === undefined ? null : mathAsText(inner);
    if (r === null) ok = false;
    return r ?? '';
  });
  if (!ok || /\\[a-zA-Z]+|\$|[{}]/.test(t)) return null;
  t = t.replace(/(\d)\s+×/g, '$1×').replace(/\s+([,.;:])/g, '$1').replace(/\s{2,}/g, ' ').trim();
  return t.length ? t : null;
}

/** Openers that connect to a sentence the reader does not have; dropping them leaves a whole sentence. */
const CONNECTOR =
  /^(?:however|moreover|furthermore|additionally|in addition|also|thus|therefore|hence|consequently|as a result|accordingly|finally|lastly|specifically|in particular|notably|importantly|crucially|meanwhile|besides|nevertheless|nonetheless|instead|then|overall|in summary|in short|to this end|to that end|for this purpose|in practice|in contrast|by contrast|on the other hand|conversely|similarly|likewise|first(?:ly)?|second(?:ly)?|third(?:ly)?|here|in this regard|despite (?:this|that|these|those)(?: [\w-]+){0,3}|building on (?:this|these|that)|based on (?:this|these|that)(?: \w+){0,2}|motivated by (?:this|these|that)(?: \w+){0,2}|inspired by (?:this|these|that)(?: \w+){0,2}|to (?:address|tackle|overcome|mitigate|solve|bridge|fill|alleviate|remedy|resolve|handle|close) (?:this|these|that|those|such|the above|both)(?: [\w-]+){0,4}|given (?:this|these|that)(?: \w+){0,2}|with (?:this|these)(?: \w+){0,2}|for (?:this|these) reasons?)\s*,\s*|^in this (?:paper|work|study|article|letter|report)\b,?\s*|^(?:however|moreover|furthermore|additionally|nevertheless|nonetheless|consequently|therefore|hence)\s+(?=\S)/i;

/** Nouns by which a paper refers to its own contribution. */
const OWN_NOUN = 'method|approach|framework|technique|design|system|scheme|strategy|model|mechanism|algorithm|architecture|pipeline|solution|policy|module|estimator|method\'s|approach\'s';

/** Openings that point back and that no rewrite can resolve. */
const ANAPHOR = /^(?:it|its|they|their|them|this|these|that|those|such|both|each|either|neither|he|she|his|her|the former|the latter|the same|another|other|further|said|here|thereby|so)\b/i;

/** True when a sentence opens with a word that points at a sentence before it ("They", "This limitation", "However,"). */
export function opensWithAnaphor(s: string): boolean {
  const t = s.replace(/^[\s"'“(]+/, '');
  if (/^(?:there (?:is|are|was|were|exist|exists|remain|remains)|that is,)\b/i.test(t)) return false;
  if (CONNECTOR.test(t)) return true;
  return ANAPHOR.test(t) || /^(?:we|our|us)\b/i.test(t);
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The sentence as it can stand in a survey under `subject` (how its paper is named), or null
 * when its opening points at something it cannot carry along. Connectors go; "We …" becomes
 * "<subject> …"; "This/Our/The proposed method" becomes "The method of <subject>"; "This
 * paper/work" becomes "The study by <subject>"; later first-person words become third person.
 */
export function standalone(sentence: string, subject: string): string | null {
  let t = sentence.trim();
  for (let i = 0; i < 3; i++) {
    const m = CONNECTOR.exec(t);
    if (!m) break;
    t = capitalise(t.slice(m[0].length));
  }
  let named = false;
  const own = new RegExp(`^(?:this|our|the proposed|the presented|the resulting|such an?|this new) (${OWN_NOUN})\\b`, 'i');
  const study = /^(?:this|our|the present) (?:paper|work|study|article|letter|report|research)\b/i;
  if (/^we\b/i.test(t)) {
    t = `${subject}${t.slice(2)}`;
    named = true;
  } else if (own.test(t)) {
    t = t.replace(own, (_a, noun: string) => `The ${noun.toLowerCase()} of ${subject}`);
    named = true;
  } else if (study.test(t)) {
    t = t.replace(study, `The study by ${subject}`);
    named = true;
  } else if (/^our\b/i.test(t)) {
    t = t.replace(/^our\s+([\p{L}-]+)/iu, (_a, w: string) => `The ${w} of ${subject}`);
    named = true;
  }
  if (!named && opensWithAnaphor(t)) return null;
  // "in this paper" inside the sentence says nothing once the paper is cited.
  t = t.replace(/,?\s+in this (?:paper|work|study|article)\b,?/gi, (m) => (m.endsWith(',') && m.startsWith(',') ? ',' : ''));
  // Later first-person words: the first names the paper unless it is named already.
  let first = !named;
  t = t.replace(/\b(we|our|us|ourselves)\b/gi, (w) => {
    const low = w.toLowerCase();
    if (low === 'we') {
      if (first) {
        first = false;
        return subject;
      }
      return 'they';
    }
    return low === 'our' ? 'their' : low === 'us' ? 'them' : 'themselves';
  });
  return /^[\p{Lu}\p{N}"“(]/u.test(t) ? t : capitalise(t);
}

/** A key under which two renderings of one sentence compare equal (citations, case, spacing and punctuation ignored). */
export function sentenceKey(s: string): string {
  return s
    .replace(/\[\s*@[^\]]*\]|\[\d+(?:,\s*\d+)*\]/g, ' ')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Sentences that state an open problem, a limitation or a direction for future work. */
export const OPEN_PROBLEM =
  /\b(?:(?:remains?|remained|is still|are still)\s+(?:an?\s+)?(?:open|unclear|unexplored|under-?explored|unsolved|unresolved|challenging|difficult|elusive|limited|largely|poorly|costly|inefficient|(?:key |major |significant |critical |fundamental )?(?:challenge|problem|bottleneck))|future (?:work|research|directions?)|open (?:problem|question|challenge|issue)s?|limitations?\b|unexplored|under-?explored|not yet|(?:has|have) yet to|lack of|unclear|unsolved|(?:a|the) (?:key |major |significant |critical |fundamental |central )?challenge (?:is|lies|remains)|challenges? (?:remain|persist))/i;

/** A sentence that states an open problem in its own words (not "addresses these limitations", "inherits this limitation"). */
export function statesOpenProblem(s: string): boolean {
  if (!OPEN_PROBLEM.test(s)) return false;
  if (/\b(?:this|these|those|such|that|the above)\s+(?:[\w-]+\s+)?(?:limitations?|challenges?|problems?|issues?|gaps?|bottlenecks?)\b/i.test(s)) return false;
  // A sentence about solving a limitation reports a contribution, not an open problem.
  return !/\b(?:address|addresses|addressing|resolve|resolves|overcome|overcomes|tackle|tackles|mitigate|mitigates|solve|solves|alleviate|alleviates|remedy|remedies|circumvent|circumvents|bypass|bypasses)\b/i.test(s);
}

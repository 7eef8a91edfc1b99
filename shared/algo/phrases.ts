/**
 * Noun phrases without a tagger: maximal runs of content words between stop words, boilerplate
 * verbs and punctuation ("attention sinks", "mixed-precision KV cache quantization"), scored for
 * a group of documents by how many of them use a phrase against how common it is in the whole
 * corpus, and turned into section headings ("KV Cache Quantization and Outlier Channels").
 * Pure: no I/O, deterministic.
 */
import { isStopWord } from './text.ts';

/**
 * Words that never belong in a phrase: research boilerplate, verbs and adverbs of abstracts,
 * web and markup debris. They break runs, like stop words.
 */
const BREAK = new Set(
  (
    'paper papers work works study studies article authors author propose proposes proposed proposing present presents presented ' +
    'introduce introduces introduced introducing novel new approach approaches method methods technique techniques framework frameworks ' +
    'show shows shown showing demonstrate demonstrates demonstrated demonstrating existing address addresses addressed addressing ' +
    'challenge challenges challenging issue issues problem problems particularly various different effective effectively efficient ' +
    'efficiently efficiency significant significantly substantial substantially reduce reduces reduced reducing improve improves improved ' +
    'improving improvement improvements achieve achieves achieved achieving result results resulting performance typically become becomes ' +
    'becoming essential critical crucial however further finally first second third while whereas well often yet still even thus ' +
    'therefore hence compared compare comparing including include includes included respectively additional additionally increasingly ' +
    'moreover furthermore specifically notably importantly extensive experiments experiment experimental evaluation evaluations evaluate ' +
    'evaluated evaluates outperform outperforms outperforming state-of-the-art sota baseline baselines enable enables enabled enabling ' +
    'allow allows allowing make makes making made use uses used using leverage leverages leveraging utilize utilizes utilizing employ ' +
    'employs employed provide provides provided providing require requires required requiring need needs remain remains remaining ' +
    'maintain maintains maintaining preserve preserves preserving keep keeps achieve obtain obtains obtained consider considers ' +
    'considered find finds found observe observes observed reveal reveals revealed suggest suggests called named termed dubbed ' +
    'available code github com http https www org html pdf arxiv et al fig figure table tables section sections subsection subsections appendix ' +
    'up times across like less lower higher high low large small many much more most less least key main recent recently ' +
    'overall simple simply whole little best better worse strong stronger able due given toward towards upon versus vs ' +
    'thereby whose whereby can cannot could would should may might must will shall also just only even ever never ' +
    'here there where which who what when how why this that these those such it its they their them our we us i one ones ' +
    'e.g i.e etc via per without within between among across along about into onto over under ' +
    'mechanism mechanisms strategy strategies scheme schemes design designs solution solutions module modules component components ' +
    'keeping evict evicts store stores compute computes generate generates selects select retain retains exploit exploits ' +
    'extract extracts report reports reported relate relates gather collect note notes describe discuss side contrast ' +
    'centre centres centred center centers centered increase increases increased eliminate eliminates de facto ' +
    'promising remarkable impressive notable considerable great good competitive superior comparable pose poses posed ' +
    'inducing induce induces emerging emerged rapid rapidly growing grown ' +
    'beyond against despite throughout amid around behind below above near unlike whilst ' +
    'although because since unless whether though whereas every each both all any either neither another other others ' +
    'adopt adopts adopted relies rely relying allocate allocates allocated match matches matched protect protects protected ' +
    'run runs re-runs aggregate aggregates continue continues continuing suffer suffers incur incurs grow grows scale scales ' +
    'depend depends operate operates yield yields exhibit exhibits capture captures learn learns integrate integrates combine ' +
    'combines apply applies perform performs produce produces predict predicts estimate estimates determine determines ' +
    'identify identifies explore explores investigate investigates study analyze analyzes analyse analyses focus focuses ' +
    'remain lead leads led enhance enhances enhanced boost boosts ensure ensures handle handles achieve outperformed ' +
    'tackle tackles mitigate mitigates alleviate alleviates accelerate accelerates support supports introduce aim aims'
  ).split(/\s+/),
);

const TOKEN = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

/** A word that may stand inside a phrase. */
export function phraseWord(w: string): boolean {
  const low = w.toLowerCase();
  if (low.length < 2 || isStopWord(low) || BREAK.has(low)) return false;
  if (/^\d/.test(low)) return false; // numbers and "4-bit"-style quantities are results, not topics
  if (/ly$/.test(low) && low.length > 4) return false; // adverbs
  return true;
}

/** Key of a phrase for counting: lower case, last word's plural folded ("attention sinks" → "attention sink"). */
export function phraseKey(words: readonly string[]): string {
  const low = words.map((w) => w.toLowerCase());
  low[low.length - 1] = singular(low[low.length - 1]);
  return low.join(' ');
}

/** A plural folded to its singular ("caches" → "cache", "policies" → "policy", "classes" → "class"). */
export function singular(w: string): string {
  if (w.length > 4 && w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) return w.slice(0, -1);
  return w;
}

export interface PhraseOccurrence {
  key: string;
  surface: string;
}

/**
 * Candidate phrases of a text: every contiguous sub-run of 1 to `maxWords` words of each maximal
 * run of phrase words. Runs end at stop words, boilerplate, numbers and any punctuation other
 * than a hyphen inside a word. LaTeX commands and citation marks are skipped.
 */
export function phraseCandidates(text: string, maxWords = 4): PhraseOccurrence[] {
  const clean = text.replace(/\[\s*@[^\]]*\]/g, ' . ').replace(/\$[^$]*\$/g, ' . ').replace(/https?:\/\/\S+/g, ' . ');
  const runs: string[][] = [];
  let run: string[] = [];
  let last = 0;
  for (const m of clean.matchAll(TOKEN)) {
    const w = m[0];
    const gap = clean.slice(last, m.index);
    last = m.index! + w.length;
    const latex = clean[m.index! - 1] === '\\';
    if (!/^[ \t]*$/.test(gap) || latex || !phraseWord(w)) {
      if (run.length) runs.push(run);
      run = [];
      if (latex || !phraseWord(w)) continue;
    }
    run.push(w);
  }
  if (run.length) runs.push(run);
  const out: PhraseOccurrence[] = [];
  for (const r of runs)
    for (let len = 1; len <= Math.min(maxWords, r.length); len++)
      for (let i = 0; i + len <= r.length; i++) {
        const ws = r.slice(i, i + len);
        out.push({ key: phraseKey(ws), surface: ws.join(' ') });
      }
  return out;
}

/** Phrase statistics of a corpus: document frequency per key and the most frequent surface form. */
export interface PhraseIndex {
  docs: number;
  df: Map<string, number>;
  /** Phrase keys of each document. */
  sets: Set<string>[];
  forms: Map<string, string>;
}

export function indexPhrases(texts: readonly string[], maxWords = 4): PhraseIndex {
  const df = new Map<string, number>();
  const counts = new Map<string, Map<string, number>>();
  const sets = texts.map((t) => {
    const set = new Set<string>();
    for (const o of phraseCandidates(t, maxWords)) {
      set.add(o.key);
      let c = counts.get(o.key);
      if (!c) counts.set(o.key, (c = new Map()));
      c.set(o.surface, (c.get(o.surface) ?? 0) + 1);
    }
    for (const k of set) df.set(k, (df.get(k) ?? 0) + 1);
    return set;
  });
  const forms = new Map<string, string>();
  for (const [k, c] of counts) forms.set(k, preferredForm(c));
  return { docs: texts.length, df, sets, forms };
}

/** The surface form to show: the most frequent, but a lower-case spelling beats a capitalised plain one. */
function preferredForm(c: Map<string, number>): string {
  const ranked = [...c.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  const best = ranked[0][0];
  const lower = ranked.find(([s]) => s === s.toLowerCase());
  // "Attention Sinks" from a title yields to "attention sinks" from running text; "KV Cache" keeps its acronym.
  if (lower && best.split(' ').every((w) => w === w.toLowerCase() || w === w[0].toUpperCase() + w.slice(1).toLowerCase())) return lower[0];
  return best;
}

/** A single word that reads as an adjective ("Long", "Computational", "Adaptive") names no topic alone. */
const ADJECTIVE = /(?:al|ive|ous|ic|ble|ent|ant|ful|less|ary|ory|ed)$/;
const LONE_ADJECTIVE = new Set('full size long short fast slow deep wide small big general unified dynamic static sparse dense training-free plug-and-play query-agnostic task-agnostic'.split(' '));
/** Words that may stand in a phrase ("language model") but name nothing when a phrase is made only of them (and topic words). */
const VAGUE = new Set(
  (
    'model models data system systems analysis performance importance important task tasks general overview number numbers ' +
    'progress type types aspect aspects set sets way ways part parts term terms long short high low large small common shared ' +
    'current recent limit limits complex input inputs output outputs text texts information capability capabilities ability ' +
    'abilities quality cost costs time level levels setting settings scenario scenarios application applications process ' +
    'control generation inference training evaluation benchmark benchmarks policy policies representation representations'
  ).split(/\s+/),
);

export interface RankOptions {
  /** Words of the survey topic: a phrase made only of them says nothing about a section. */
  topic?: ReadonlySet<string>;
  /** Words a phrase must not contain (a parent's heading words). */
  avoid?: ReadonlySet<string>;
  /** Fewest group documents that must use a phrase (default: 2 when the group has 3 or more). */
  minDf?: number;
  /** Phrase keys to favour (those of paper titles): their score counts 1.5 times. */
  boost?: ReadonlySet<string>;
  max?: number;
}

const topicWord = (topic: ReadonlySet<string>, w: string) => topic.has(w) || [...topic].some((t) => singular(t) === singular(w));

/**
 * Phrases that characterise a group of documents of the corpus, best first: the share of the
 * group that uses a phrase times its rarity in the corpus (idf), with a lift for two- and
 * three-word phrases (they name a topic better than a single word).
 */
export function rankGroupPhrases(index: PhraseIndex, members: readonly number[], opts: RankOptions = {}): string[] {
  const n = members.length;
  if (n === 0) return [];
  const topic = opts.topic ?? new Set<string>();
  const avoid = opts.avoid ?? new Set<string>();
  const minDf = opts.minDf ?? (n >= 3 ? 2 : 1);
  const local = new Map<string, number>();
  for (const i of members) for (const k of index.sets[i]) local.set(k, (local.get(k) ?? 0) + 1);
  const scored: [string, number][] = [];
  for (const [k, c] of local) {
    if (c < minDf) continue;
    const ws = k.split(' ');
    if (ws.flatMap((w) => w.split('-')).every((w) => topicWord(topic, w))) continue;
    // The field's everyday vocabulary (in over a third of all documents) names no particular section.
    if (index.docs >= 12 && (index.df.get(k) ?? 0) > index.docs / 3) continue;
    if (ws.some((w) => w.split('-').some((p) => avoid.has(p) || avoid.has(singular(p))))) continue;
    if (ws.length === 1 && (ws[0].length < 3 || ADJECTIVE.test(ws[0]) || LONE_ADJECTIVE.has(ws[0]))) continue;
    if (ws.flatMap((w) => w.split('-')).every((w) => VAGUE.has(w) || VAGUE.has(singular(w)) || topicWord(topic, w))) continue;
    const idf = Math.log((1 + index.docs) / (1 + (index.df.get(k) ?? c))) + 1;
    const lift = ws.length === 1 ? 1 : ws.length === 2 ? 1.6 : 1.8;
    scored.push([k, (c / n) * idf * lift * (opts.boost?.has(k) ? 1.5 : 1)]);
  }
  scored.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  return scored.slice(0, opts.max ?? 30).map(([k]) => k);
}

/**
 * Pick up to `max` phrases from a ranked list that share no word (after plural folding) with a
 * phrase already picked; a longer phrase that contains a picked one replaces it.
 */
export function distinctPhrases(ranked: readonly string[], max: number): string[] {
  const chosen: string[] = [];
  const wordsOf = (k: string) => new Set(k.split(' ').map(singular));
  for (const k of ranked) {
    const ws = wordsOf(k);
    const clash = chosen.findIndex((c) => [...wordsOf(c)].some((w) => ws.has(w)));
    if (clash < 0) {
      if (chosen.length < max) chosen.push(k);
      continue;
    }
    const other = wordsOf(chosen[clash]);
    const contains = [...other].every((w) => ws.has(w)) && ws.size > other.size;
    const clashesElsewhere = chosen.some((c, i) => i !== clash && [...wordsOf(c)].some((w) => ws.has(w)));
    if (contains && !clashesElsewhere && k.split(' ').length <= 4) chosen[clash] = k;
  }
  return chosen;
}

/** Display form of a phrase key, in title case when `title` is set ("kv cache quantization" → "KV Cache Quantization"). */
export function displayPhrase(key: string, forms: ReadonlyMap<string, string>, title = false): string {
  const surface = forms.get(key) ?? key;
  if (!title) return surface;
  return surface
    .split(' ')
    .map((w) => (w === w.toLowerCase() ? w.charAt(0).toUpperCase() + w.slice(1) : w))
    .join(' ');
}

/** A heading from the best one or two distinct phrases: "Token Eviction and Attention Sinks". */
export function phraseHeading(ranked: readonly string[], forms: ReadonlyMap<string, string>, max = 2): string {
  // Several words name a topic better than one: phrases first, single words only to fill up.
  const multi = ranked.filter((k) => k.includes(' '));
  const picked = distinctPhrases([...multi, ...ranked.filter((k) => !k.includes(' '))], max);
  // Two long phrases make an unwieldy heading: keep the first alone when together they exceed 7 words.
  const parts = picked.length === 2 && picked.join(' ').split(' ').length > 7 ? picked.slice(0, 1) : picked;
  return parts.map((k) => displayPhrase(k, forms, true)).join(' and ');
}

/** True when every word of a heading is a stop word, boilerplate or a bare number: it names no topic. */
export function isGenericHeading(title: string): boolean {
  const ws = title.toLowerCase().match(TOKEN) ?? [];
  return ws.every((w) => !phraseWord(w) || w === 'and');
}

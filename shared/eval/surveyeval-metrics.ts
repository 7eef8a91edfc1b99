/**
 * SurveyEval metrics that need no judge (citation validity, source coverage, section
 * balance, length, and lexical proxies for citation precision and recall) and the
 * arithmetic that turns judge verdicts into the table's Fait., Prec. and Recall. Pure.
 *
 * A survey is a `SurveySubject`: its Markdown, the papers it was written from (in input
 * order) and the map from citation number to paper. A number the map does not know is an
 * invalid citation: it is counted (and its claim-citation pair is unsupported), never a crash.
 */
import { stemmedTerms, words } from '../algo/text.ts';
import { citedClaims, cutReferences, findNumericCitations, level2Sections, proseOf, splitSentences, type Claim } from './surveyeval-text.ts';

export interface EvalPaper {
  title: string;
  text: string;
}

export interface SurveySubject {
  title: string;
  /** The survey as Markdown; a References section, if any, is ignored. */
  content: string;
  papers: EvalPaper[];
  /**
   * refs[n - 1] is the index in `papers` of citation number n (null: unknown). Absent: the
   * numbers index `papers` directly, as in upstream's output files.
   */
  refs?: (number | null)[];
}

/** Paper index of citation number n, or null when n points outside the reference list. */
export function resolveCitation(s: SurveySubject, n: number): number | null {
  if (!Number.isInteger(n) || n < 1) return null;
  if (s.refs) {
    const i = s.refs[n - 1];
    return i === undefined || i === null || i < 0 || i >= s.papers.length ? null : i;
  }
  return n <= s.papers.length ? n - 1 : null;
}

/** Normalised Shannon entropy of the parts' sizes: 1 = all equal, 0 = one part holds all. */
export function balance(sizes: readonly number[]): number | null {
  const xs = sizes.filter((x) => x > 0);
  if (sizes.length === 0) return null;
  if (xs.length <= 1) return 0;
  const total = xs.reduce((a, b) => a + b, 0);
  const h = -xs.reduce((acc, x) => acc + (x / total) * Math.log(x / total), 0);
  return h / Math.log(sizes.length);
}

/** Distinct stemmed content words of a claim found in the source, as a share (0..1). */
export function lexicalSupport(claim: string, source: ReadonlySet<string> | string): number {
  const src = typeof source === 'string' ? new Set(stemmedTerms(source)) : source;
  const ts = [...new Set(stemmedTerms(claim))];
  if (ts.length === 0) return 0;
  return ts.filter((t) => src.has(t)).length / ts.length;
}

/** Share of a claim's content words that must occur in the cited paper for the offline check. */
export const LEXICAL_SUPPORT_THRESHOLD = 0.6;

/** One support check: does paper `paper` support claim `claim`? Pairs are unique. */
export interface SupportCheck {
  claim: number;
  paper: number;
}

export interface SupportPlan {
  claims: Claim[];
  checks: SupportCheck[];
  /** Per claim: indices into `checks`, or -1 for a citation outside the reference list. */
  claimChecks: number[][];
}

/** Every (claim, cited paper) pair once; citations that do not resolve are kept as -1. */
export function planSupport(s: SurveySubject): SupportPlan {
  const claims = citedClaims(s.content);
  const checks: SupportCheck[] = [];
  const index = new Map<string, number>();
  const claimChecks = claims.map((c, ci) =>
    c.numbers.map((n) => {
      const paper = resolveCitation(s, n);
      if (paper === null) return -1;
      const key = `${ci}:${paper}`;
      let k = index.get(key);
      if (k === undefined) {
        k = checks.length;
        checks.push({ claim: ci, paper });
        index.set(key, k);
      }
      return k;
    }),
  );
  return { claims, checks, claimChecks };
}

export interface SupportScores {
  /** Fait.: claims with at least one supporting citation / claims judged (0-100). */
  faithfulness: number | null;
  /** Prec.: supported (claim, citation) pairs / pairs judged, unresolved pairs included (0-100). */
  precision: number | null;
  /** Recall: papers that support at least one claim / papers (0-100). */
  recall: number | null;
  claims: number;
  pairs: number;
  supportedPairs: number;
  /** Pairs whose citation number points outside the reference list (counted unsupported). */
  unresolvedPairs: number;
  /** Checks that returned no verdict (left out of the denominators, reported). */
  unchecked: number;
}

/** Fait., Prec. and Recall from one verdict per check (null: the check failed). */
export function supportScores(plan: SupportPlan, verdicts: readonly (boolean | null)[], paperCount: number): SupportScores {
  let pairs = 0;
  let supportedPairs = 0;
  let unresolvedPairs = 0;
  let judgedClaims = 0;
  let faithful = 0;
  const supporting = new Set<number>();
  plan.claimChecks.forEach((ks) => {
    let judged = false;
    let ok = false;
    for (const k of ks) {
      if (k < 0) {
        unresolvedPairs++;
        pairs++;
        judged = true;
        continue;
      }
      const v = verdicts[k];
      if (v === null || v === undefined) continue;
      pairs++;
      judged = true;
      if (v) {
        supportedPairs++;
        ok = true;
        supporting.add(plan.checks[k].paper);
      }
    }
    if (judged) judgedClaims++;
    if (ok) faithful++;
  });
  const pct = (a: number, b: number) => (b > 0 ? (100 * a) / b : null);
  return {
    faithfulness: pct(faithful, judgedClaims),
    precision: pct(supportedPairs, pairs),
    recall: pct(supporting.size, paperCount),
    claims: plan.claims.length,
    pairs,
    supportedPairs,
    unresolvedPairs,
    unchecked: verdicts.filter((v) => v === null || v === undefined).length,
  };
}

export interface FreeMetrics {
  words: number;
  characters: number;
  sections: number;
  sentences: number;
  /** Citation numbers written (a bracket [1, 3] counts 2). */
  citations: number;
  invalidCitations: number;
  /** Share of citation numbers that resolve to a paper (0-100). */
  citationValidity: number | null;
  papers: number;
  citedPapers: number;
  /** Share of the input papers cited at least once (0-100). */
  sourceCoverage: number | null;
  /** Normalised entropy of the level-2 section lengths in words (0-100). */
  sectionBalance: number | null;
  claims: number;
  /** Lexical proxies of Fait., Prec. and Recall (content-word overlap with the cited paper). */
  faithfulnessProxy: number | null;
  precisionProxy: number | null;
  recallProxy: number | null;
}

/** The judge-free metrics of one survey. */
export function freeMetrics(s: SurveySubject): FreeMetrics {
  const body = cutReferences(s.content);
  const prose = proseOf(body);
  const uses = findNumericCitations(prose);
  const numbers = uses.flatMap((u) => u.numbers);
  const resolved = numbers.map((n) => resolveCitation(s, n));
  const invalid = resolved.filter((r) => r === null).length;
  const cited = new Set(resolved.filter((r): r is number => r !== null));
  const sections = level2Sections(body);
  const plan = planSupport(s);
  const termSets = new Map<number, Set<string>>();
  const termsOf = (i: number) => {
    let t = termSets.get(i);
    if (!t) termSets.set(i, (t = new Set(stemmedTerms(s.papers[i].text))));
    return t;
  };
  const verdicts = plan.checks.map((c) => lexicalSupport(plan.claims[c.claim].text, termsOf(c.paper)) >= LEXICAL_SUPPORT_THRESHOLD);
  const proxy = supportScores(plan, verdicts, s.papers.length);
  const bal = balance(sections.map((x) => words(x.text).length));
  return {
    words: words(prose).length,
    characters: body.length,
    sections: sections.length,
    sentences: prose.split(/\n\s*\n/).flatMap((p) => splitSentences(p)).length,
    citations: numbers.length,
    invalidCitations: invalid,
    citationValidity: numbers.length ? (100 * (numbers.length - invalid)) / numbers.length : null,
    papers: s.papers.length,
    citedPapers: cited.size,
    sourceCoverage: s.papers.length ? (100 * cited.size) / s.papers.length : null,
    sectionBalance: bal === null ? null : 100 * bal,
    claims: plan.claims.length,
    faithfulnessProxy: proxy.faithfulness,
    precisionProxy: proxy.precision,
    recallProxy: proxy.recall,
  };
}

/** Mean of the numbers present (null when none). */
export function mean(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** Sample standard deviation of the numbers present (null below two values). */
export function stdev(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length < 2) return null;
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1));
}

import { describe, expect, it } from 'vitest';
import { balance, freeMetrics, planSupport, resolveCitation, supportScores, type SurveySubject } from '../../shared/eval/surveyeval-metrics.ts';
import { citedClaims, cutReferences, findNumericCitations, level2Sections, splitSentences } from '../../shared/eval/surveyeval-text.ts';
import { evaluateSurvey, normaliseEntry, subjectFromRecord, subjectFromSurvey } from '../../shared/eval/surveyeval.ts';
import { localRunner } from '../../shared/eval/tasks.ts';

const PAPERS = [
  { title: 'Quantized caches', text: 'We quantize the key value cache to four bits and keep accuracy on long inputs.' },
  { title: 'Token eviction', text: 'Evicting tokens that receive little attention keeps a small cache with the same quality.' },
  { title: 'Host offloading', text: 'Offloading cache blocks to host memory lets one GPU serve a million tokens.' },
];

/** Two sections of equal length; the second cites a number (9) that no reference has. */
const SURVEY = [
  '# KV cache memory',
  '',
  'The cache grows with the context [1].',
  '',
  '## 1 Compression',
  '',
  'Caches can be quantized to four bits while keeping accuracy [1]. Evicting tokens with little attention keeps the cache small [2, 9].',
  '',
  '## 2 Placement',
  '',
  'Offloading cache blocks to host memory lets one GPU serve a million tokens [3]. A later study reports tenfold savings on phones.',
  '',
  '## References',
  '',
  '1. Quantized caches',
  '2. Token eviction [7]',
].join('\n');

const subject = (over: Partial<SurveySubject> = {}): SurveySubject => ({ title: 'KV cache memory', content: SURVEY, papers: PAPERS, ...over });

describe('reading a survey', () => {
  it('cut the reference list and split level-2 sections', () => {
    expect(cutReferences(SURVEY)).not.toContain('Token eviction');
    expect(level2Sections(SURVEY).map((s) => s.title)).toEqual(['1 Compression', '2 Placement']);
    expect(level2Sections('# Only a title\n\nOne paragraph [1].')).toEqual([{ title: '(whole survey)', text: 'One paragraph [1].' }]);
  });
  it('parse numeric citations whole, with lists and ranges, and skip links and code', () => {
    const uses = findNumericCitations('See [12], [3, 5; 7], [2-4] and [8–9] but not [x](http://a) or `[6]`.');
    expect(uses.map((u) => u.numbers)).toEqual([[12], [3, 5, 7], [2, 3, 4], [8, 9]]);
  });
  it('split sentences without breaking at e.g., et al. or decimals', () => {
    const s = splitSentences('Prior work, e.g. the study by Smith et al. in 2020, shrinks the cache 2.5 times [1]. It is fast [2].');
    expect(s).toEqual(['Prior work, e.g. the study by Smith et al. in 2020, shrinks the cache 2.5 times [1].', 'It is fast [2].']);
  });
  it('take cited sentences as claims without their brackets', () => {
    const claims = citedClaims(SURVEY);
    expect(claims.map((c) => c.numbers)).toEqual([[1], [1], [2, 9], [3]]);
    expect(claims[2].text).toBe('Evicting tokens with little attention keeps the cache small.');
  });
});

describe('judge-free metrics', () => {
  it('count a citation outside the reference list instead of crashing', () => {
    const f = freeMetrics(subject());
    expect(f.citations).toBe(5);
    expect(f.invalidCitations).toBe(1);
    expect(f.citationValidity).toBeCloseTo(80, 6);
    expect(resolveCitation(subject(), 9)).toBeNull();
    expect(resolveCitation(subject(), 0)).toBeNull();
  });
  it('measure source coverage as the share of input papers cited', () => {
    expect(freeMetrics(subject()).sourceCoverage).toBeCloseTo(100, 6);
    const fewer = subject({ content: SURVEY.replace('[3]', '') });
    expect(freeMetrics(fewer).sourceCoverage).toBeCloseTo((100 * 2) / 3, 6);
    expect(freeMetrics(fewer).citedPapers).toBe(2);
  });
  it('measure section balance as the normalised entropy of section lengths', () => {
    expect(balance([10, 10])).toBeCloseTo(1, 9);
    expect(balance([30, 10])).toBeCloseTo(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)) / Math.log(2), 9);
    expect(balance([10, 0])).toBe(0);
    expect(balance([])).toBeNull();
    const f = freeMetrics(subject());
    expect(f.sections).toBe(2);
    expect(f.sectionBalance).toBeGreaterThan(90);
  });
  it('map citation numbers through the reference list of a survey this system wrote', () => {
    const entry = { title: 'KV cache memory', papers: PAPERS.map((p) => ({ title: p.title, content: p.text })) };
    const s = subjectFromSurvey(entry, SURVEY, [{ id: 'P003' }, { id: 'P001' }, { id: 'P002' }]);
    expect(s.papers.map((p) => p.text)).toEqual(PAPERS.map((p) => p.text));
    expect([1, 2, 3, 4, 9].map((n) => resolveCitation(s, n))).toEqual([2, 0, 1, null, null]);
  });
  it('accept `txt` and `content` for the survey and for the papers', () => {
    const a = subjectFromRecord({ title: 't', content: 'A claim [1].', papers: [{ title: 'p', txt: 'source one' }] });
    const b = subjectFromRecord({ title: 't', txt: 'A claim [1].', papers: [{ title: 'p', content: 'source one' }] });
    expect(a).toEqual(b);
    expect(a.papers[0].text).toBe('source one');
    expect((normaliseEntry({ papers: [{ title: 'p', content: 'x' }] }).papers as { txt: string }[])[0].txt).toBe('x');
  });
});

describe('support arithmetic', () => {
  it('plan each (claim, paper) check once and score Fait., Prec. and Recall', () => {
    const s = subject({ content: 'Caches can be quantized to four bits [1, 1][1]. Evicting tokens works [2, 9]. Offloading helps [2].' });
    const plan = planSupport(s);
    expect(plan.checks).toEqual([{ claim: 0, paper: 0 }, { claim: 1, paper: 1 }, { claim: 2, paper: 1 }]);
    expect(plan.claimChecks).toEqual([[0], [1, -1], [2]]);
    // claim 0 supported; claim 1: its paper says no and 9 is unresolved; claim 2's check failed.
    const sc = supportScores(plan, [true, false, null], 3);
    expect(sc).toMatchObject({ pairs: 3, supportedPairs: 1, unresolvedPairs: 1, unchecked: 1, claims: 3 });
    expect(sc.precision).toBeCloseTo(100 / 3, 6);
    expect(sc.faithfulness).toBeCloseTo(50, 6);
    expect(sc.recall).toBeCloseTo(100 / 3, 6);
  });
  it('evaluate a hand-made survey with the offline judge: one support task per pair, all nine metrics', async () => {
    const runner = localRunner();
    const r = await evaluateSurvey(subject(), runner, { keyPrefix: 'k' });
    const pairs = planSupport(subject()).checks.length;
    // 2 rubric + 2 sections × 2 families + pairs + 2 fact extractions + 1 dedup
    expect(runner.usage().tasks).toBe(2 + 4 + pairs + 2 + 1);
    expect(r.failures).toEqual([]);
    for (const v of Object.values(r.metrics)) expect(v).not.toBeNull();
    expect(r.support.unresolvedPairs).toBe(1);
    expect(r.metrics.precision).toBeLessThan(100);
  });
});

import { describe, expect, it } from 'vitest';
import { parseScore, parseVerdict, ScoreParseError } from '../../shared/eval/surveyeval-text.ts';
import { dedupOp, factsOp, rubricOp, sectionOp, supportOp } from '../../shared/ops/eval/index.ts';

describe('score parsing', () => {
  it('read the score of structured output', () => {
    expect(parseScore('{"rationale": "clear plan, 3 weak spots", "score": 4}', 1, 5)).toBe(4);
    expect(parseScore('```json\n{"score": 85.5, "rationale": "x"}\n```', 0, 100)).toBe(85.5);
  });
  it('take a labelled score, not the first integer of the reply', () => {
    // Upstream took the first integer: 1 here.
    expect(parseScore('On a scale from 1 to 5, the structure is solid. Score: 4', 1, 5)).toBe(4);
    expect(parseScore('Score (1-5): 3', 1, 5)).toBe(3);
    expect(parseScore('**Score:** 2', 1, 5)).toBe(2);
    expect(parseScore('I would rate it 4 out of 5.', 1, 5)).toBe(4);
    expect(parseScore('Section 2 has 3 issues. 4/5', 1, 5)).toBe(4);
    expect(parseScore('<SCORE>78</SCORE>', 0, 100)).toBe(78);
    expect(parseScore('5', 1, 5)).toBe(5);
  });
  it('let the last labelled score win (the verdict follows the reasoning)', () => {
    expect(parseScore('First impression, score: 2. After reading all sections, final score: 4.', 1, 5)).toBe(4);
  });
  it('refuse a reply without a score or with one out of range', () => {
    expect(() => parseScore('The survey covers 12 sections across 3 themes.', 1, 5)).toThrow(ScoreParseError);
    expect(() => parseScore('Score: 7', 1, 5)).toThrow(/outside 1-5/);
    expect(() => parseScore('{"score": -3}', 0, 100)).toThrow(/outside/);
  });
  it('read support verdicts by the last verdict word', () => {
    expect(parseVerdict('Yes.')).toBe(true);
    expect(parseVerdict('No, the source only mentions caches in passing.')).toBe(false);
    expect(parseVerdict('The claim is not supported by the source.')).toBe(false);
    expect(parseVerdict('{"supported": true, "rationale": "stated in section 3"}')).toBe(true);
    expect(() => parseVerdict('It is hard to say.')).toThrow(ScoreParseError);
  });
});

describe('eval ops on free-text replies', () => {
  it('rubric and section replies go through the labelled-score parser', () => {
    expect(rubricOp.parse!('Reasoning... Rating: 3', { title: 't', criterion: 'structure', contentKey: 'k', maxChars: 1000 }).score).toBe(3);
    const sec = sectionOp.parse!('Overall score: 70', { title: 't', family: 'language', section: { title: 's', text: 'x' } });
    expect(sec.dimensionScores).toEqual([70, 70, 70]);
  });
  it('the section score is the mean of its dimensions, whatever the judge summed', () => {
    const input = { title: 't', family: 'critical' as const, section: { title: 's', text: 'x' } };
    expect(sectionOp.finalize!({ rationale: '', dimensionScores: [90, 60, 30], score: 99 }, input).score).toBe(60);
  });
  it('support, facts and dedup replies', () => {
    expect(supportOp.parse!('Answer: yes', { claim: 'c', paperTitle: 'p', sourceKey: 'k', maxSourceChars: 1000 }).supported).toBe(true);
    const facts = factsOp.parse!('1. Claim 1: Caches grow linearly.\n2. Eviction keeps heavy hitters.', { title: 't', section: { title: 's', text: 'x' } });
    expect(facts.claims).toEqual(['Caches grow linearly.', 'Eviction keeps heavy hitters.']);
    const claims = ['a', 'b', 'c'];
    expect(dedupOp.parse!('Remove: 2, 3', { claims }).remove).toEqual([2, 3]);
    expect(dedupOp.parse!('None of them repeat.', { claims }).remove).toEqual([]);
    // Numbers outside the list are dropped, duplicates merged.
    expect(dedupOp.finalize!({ rationale: '', remove: [3, 3, 0, 9, 2] }, { claims }).remove).toEqual([2, 3]);
  });
});

/** The V1 structured information protocol: parsing model replies (shared/ops/v1/record.ts). */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIDENCE,
  isRelevant,
  NO_INFO,
  parseConfidence,
  parseRecordText,
  RecordSchema,
  recordCost,
  renderRecord,
  truncateRecord,
} from '../../shared/ops/v1/record.ts';
import { parseReduceReply } from '../../shared/ops/v1/reduce.ts';

const Q = 'What is the pass key?';
const parse = (text: string, question = Q) => parseRecordText(text, { chunks: [7], question });

describe('parseRecordText', () => {
  it('reads the four plain headers into the record fields', () => {
    const r = parse(
      'Extracted Information: The pass key is 71432.\nRationale: The text states it.\nAnswer: 71432\nConfidence Score: 5',
    );
    expect(r).toEqual({
      chunks: [7],
      evidence: 'The pass key is 71432.',
      rationale: 'The text states it.',
      answer: '71432',
      confidence: 5,
      irrelevant: false,
    });
    expect(RecordSchema.safeParse(r).success).toBe(true);
  });

  it('accepts markdown bold, headings, numbering, full-width colons, other cases and multi-line fields', () => {
    const variants = [
      '**Evidence:** The pass key is 71432.\n**Reasoning:** stated\n**Answer:** 71432\n**Confidence:** 4.5',
      '**Extracted Information**: The pass key is 71432.\n**Rationale**: stated\n**Answer**: 71432\n**Confidence Score**: 4.5',
      '## Extracted Information\nThe pass key is 71432.\n## Rationale\nstated\n## Answer\n71432\n## Confidence Score\n4.5',
      '1. Extracted Information: The pass key is 71432.\n2. Rationale: stated\n3. Answer: 71432\n4. Confidence Score (0-5): 4.5',
      'EXTRACTED INFORMATION： The pass key is 71432.\nRATIONALE： stated\nANSWER： 71432\nCONFIDENCE SCORE： 4.5',
      'extracted information - The pass key is 71432.\nrationale - stated\nanswer - 71432\nconfidence score - 4.5',
    ];
    for (const v of variants) {
      const r = parse(v);
      expect(r.evidence).toBe('The pass key is 71432.');
      expect(r.rationale).toBe('stated');
      expect(r.answer).toBe('71432');
      expect(r.confidence).toBe(4.5);
      expect(r.irrelevant).toBe(false);
    }
  });

  it('keeps a fenced code block as the evidence under an Extracted Code header', () => {
    const r = parse('Extracted Code:\n```python\ndef f(x):\n    return x +\n```\nRationale: syntax error\nAnswer: B\nConfidence Score: 3');
    expect(r.evidence).toContain('def f(x):');
    expect(r.answer).toBe('B');
  });

  it('marks a record irrelevant when its Answer field holds the marker, with confidence 0', () => {
    const r = parse(`Extracted Information: nothing\nRationale: the excerpt is about weather\nAnswer: ${NO_INFO}\nConfidence Score: 3`);
    expect(r.irrelevant).toBe(true);
    expect(r.confidence).toBe(0);
    expect(isRelevant(r, Q)).toBe(false);
  });

  it('keeps a record whose rationale merely mentions the marker (upstream bug 4)', () => {
    const r = parse(
      `Extracted Information: The pass key is 71432.\nRationale: Unlike chunks that deserve ${NO_INFO}, this one states it.\nAnswer: 71432\nConfidence Score: 5`,
    );
    expect(r.irrelevant).toBe(false);
    expect(isRelevant(r, Q)).toBe(true);
  });

  it('does not filter on the marker when the question itself contains it (upstream bug 3)', () => {
    const question = `Which placeholder does the form print, for example ${NO_INFO}?`;
    const r = parse(`Extracted Information: the form prints it\nRationale: seen in the form\nAnswer: ${NO_INFO}\nConfidence Score: 4`, question);
    expect(r.irrelevant).toBe(false);
    expect(isRelevant({ ...r, irrelevant: true }, question)).toBe(true);
  });

  it('takes a reply without any header as the answer, with the default confidence', () => {
    const r = parse('The pass key is 71432.');
    expect(r.answer).toBe('The pass key is 71432.');
    expect(r.confidence).toBe(DEFAULT_CONFIDENCE);
    expect(r.irrelevant).toBe(false);
  });

  it('reads a Summary header as the answer of a summary record', () => {
    const r = parse('Summary: Anne meets Wentworth again in Bath.');
    expect(r.answer).toBe('Anne meets Wentworth again in Bath.');
  });

  it('rejects an empty reply', () => {
    expect(() => parse('   \n')).toThrow(/empty/);
  });
});

describe('parseConfidence', () => {
  it('clamps scores to 0-5 and converts other scales', () => {
    expect(parseConfidence('4.5')).toBe(4.5);
    expect(parseConfidence('7')).toBe(5);
    expect(parseConfidence('-2')).toBe(0);
    expect(parseConfidence('8/10')).toBe(4);
    expect(parseConfidence('4 out of 5')).toBe(4);
    expect(parseConfidence('90%')).toBe(4.5);
    expect(parseConfidence('3,5 (fairly sure)')).toBe(3.5);
    expect(parseConfidence('high')).toBeUndefined();
  });

  it('clamps a parsed record to the schema range', () => {
    expect(parse('Answer: 71432\nConfidence Score: 12').confidence).toBe(5);
    expect(RecordSchema.safeParse(parse('Answer: 71432\nConfidence Score: 12')).success).toBe(true);
  });
});

describe('rendering and truncation', () => {
  const r = { chunks: [3, 4, 5, 9], evidence: 'e '.repeat(300), rationale: 'because', answer: '71432', confidence: 4.5, irrelevant: false };

  it('labels a record with its position and compact source chunks', () => {
    expect(renderRecord(r, 2).startsWith('Record 2 (from chunks 3-5, 9):\n')).toBe(true);
    expect(renderRecord(r, 2)).toContain('Answer: 71432\nConfidence: 4.5\n');
  });

  it('truncates the evidence first so the rendered record fits, keeping the answer', () => {
    const t = truncateRecord(r, 1, 60);
    expect(recordCost(t, 1)).toBeLessThanOrEqual(60);
    expect(t.answer).toBe('71432');
    expect(t.rationale).toBe('because');
    expect(t.evidence.length).toBeLessThan(r.evidence.length);
  });
});

describe('parseReduceReply', () => {
  const records = [
    { chunks: [2], evidence: 'x', rationale: 'y', answer: '71432', confidence: 5, irrelevant: false },
    { chunks: [8], evidence: 'x', rationale: 'y', answer: '11111', confidence: 2, irrelevant: false },
  ];

  it('reads the final answer and cites the chunks of the records that agree with it', () => {
    const out = parseReduceReply('Rationale: record 1 is literal.\nAnswer: 71432\nConfidence Score: 5', { records, question: Q, profile: 'retrieval' });
    expect(out).toEqual({ answer: '71432', rationale: 'record 1 is literal.', confidence: 5, chunks: [2] });
  });

  it('falls back to the agreeing records confidence when the reply gives none, and to 0 with no records', () => {
    expect(parseReduceReply('Answer: 71432', { records, question: Q, profile: 'retrieval' }).confidence).toBe(5);
    expect(parseReduceReply('Answer: nothing relevant', { records: [], question: Q, profile: 'qa' }).confidence).toBe(0);
  });
});

describe('the text parser and JSON that did not fit', () => {
  it('refuses a cut-off or ill-typed JSON reply instead of taking it whole as the answer', () => {
    for (const text of ['{"answer":"Wind moves the', '{}', '{"answer": ""}', '```json\n{"evidence": 3}\n```']) {
      expect(() => parse(text), text).toThrow(/does not fit/);
      expect(() => parseReduceReply(text, { records: [], question: Q, profile: 'qa' }), text).toThrow(/does not fit/);
    }
  });
});

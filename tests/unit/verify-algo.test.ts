/** Citation verification, pure part: cited sentences, claims, lexical and numeric support, and the repairs. */
import { describe, expect, it } from 'vitest';
import {
  applyChecks,
  checkSentence,
  citedSentences,
  claimSegments,
  entitiesIn,
  indexSource,
  numbersIn,
  opensWithAnaphor,
  summarise,
  summaryLine,
  withCitation,
  type SourceIndex,
} from '../../shared/algo/verify.ts';

const P1 =
  'We study key-value cache quantization for long prompts. KIVI stores keys per channel and values per token in 2 bits. ' +
  'On LLaMA-2-7B the method reduces peak memory by 2.6 times with less than 1% accuracy loss on LongBench. ' +
  'Grouped Query Attention models benefit the most.';
const P2 =
  'Token eviction keeps a small budget of important entries. The policy scores tokens by accumulated attention and keeps heavy hitters together with a recent window. ' +
  'With a budget of 20% of the cache, generation quality on summarisation stays close to the full cache.';

const sources = new Map<string, SourceIndex>([
  ['P1', indexSource('P1', P1)],
  ['P2', indexSource('P2', P2)],
]);

describe('finding cited sentences', () => {
  it('keeps a bracket citing several sources inside its sentence and attaches a bare trailing bracket', () => {
    const text = 'Intro sentence without citation. Quantization stores the cache in 2 bits [@P1; @P2]. Eviction keeps heavy hitters. [@P2]\n\nAnother paragraph.';
    const cs = citedSentences(text);
    expect(cs.map((c) => c.keys)).toEqual([['P1', 'P2'], ['P2']]);
    expect(cs[0].text).toBe('Quantization stores the cache in 2 bits [@P1; @P2].');
    expect(cs[1].text).toBe('Eviction keeps heavy hitters. [@P2]');
    expect(text.slice(cs[0].start, cs[0].end)).toBe(cs[0].text);
  });

  it('splits a sentence citing two sources into the claim each bracket stands for', () => {
    const segs = claimSegments('Per-channel key quantization in 2 bits halves memory [@P1], while attention-based eviction keeps heavy hitters and a recent window [@P2].');
    expect(segs.map((s) => s.keys)).toEqual([['P1'], ['P2']]);
    expect(segs[0].text).toMatch(/^Per-channel key quantization in 2 bits halves memory$/);
    expect(segs[1].text).toMatch(/attention-based eviction keeps heavy hitters/);
    expect(segs.every((s) => !s.short)).toBe(true);
  });
});

describe('claims of a sentence', () => {
  it('reads numbers with separators and decimals, ignoring citation ids', () => {
    expect(numbersIn('It saves 1,024 MB, 2.50 times less, at 40% [@P12].').sort()).toEqual(['1024', '2.5', '40']);
  });

  it('names acronyms, model names and capitalised multi-word names, not the sentence opener', () => {
    const e = entitiesIn('The Grouped Query Attention layers of LLaMA-2-7B and KIVI use the KV cache on H2O [@P1].');
    expect(e).toEqual(expect.arrayContaining(['Grouped Query Attention', 'LLaMA-2-7B', 'KIVI', 'KV', 'H2O']));
    expect(e).not.toContain('The Grouped Query Attention');
  });

  it('tells an opening that points back from one that stands alone', () => {
    expect(opensWithAnaphor('They fail to preserve long-range facts [@P1].')).toBe(true);
    expect(opensWithAnaphor('However, the cost grows with length.')).toBe(true);
    expect(opensWithAnaphor('This limitation is severe.')).toBe(true);
    expect(opensWithAnaphor('This survey covers 12 papers.')).toBe(false);
    expect(opensWithAnaphor('Theory predicts a quadratic cost.')).toBe(false);
  });
});

describe('checking a citation against its source', () => {
  it('accepts a sentence whose numbers, names and words are in the cited source', () => {
    const [c] = checkSentence(0, 'On LLaMA-2-7B the method reduces peak memory by 2.6 times with less than 1% accuracy loss [@P1].', sources);
    expect(c.supported).toBe(true);
    expect(c.missing).toEqual([]);
    expect(c.evidence).toMatch(/2\.6 times/);
  });

  it('flags a sentence whose number is not in the cited source, naming the number', () => {
    const [c] = checkSentence(0, 'On LLaMA-2-7B the method reduces peak memory by 4.8 times with less than 1% accuracy loss [@P1].', sources);
    expect(c.supported).toBe(false);
    expect(c.missing).toEqual(['4.8']);
    expect(c.reason).toMatch(/4\.8/);
  });

  it('flags a name the source never mentions', () => {
    const [c] = checkSentence(0, 'On Mistral-7B the method reduces peak memory by 2.6 times [@P1].', sources);
    expect(c.supported).toBe(false);
    expect(c.missing).toContain('Mistral-7B');
  });

  it('flags a claim about something else even without numbers or names', () => {
    const [c] = checkSentence(0, 'Speculative decoding drafts several tokens with a small model and verifies them in parallel [@P2].', sources);
    expect(c.supported).toBe(false);
    expect(c.reason).toMatch(/content words/);
  });

  it('judges each bracket of a two-source sentence on its own claim', () => {
    const checks = checkSentence(0, 'KIVI stores keys per channel in 2 bits [@P1], while eviction scores tokens by accumulated attention and keeps heavy hitters [@P2].', sources);
    expect(checks.map((c) => [c.key, c.supported])).toEqual([
      ['P1', true],
      ['P2', true],
    ]);
  });

  it('finds no support for a source without text', () => {
    const [c] = checkSentence(0, 'KIVI stores keys per channel in 2 bits [@P9].', sources);
    expect(c.supported).toBe(false);
  });
});

describe('applying the verdicts', () => {
  const text = [
    'KIVI stores keys per channel and values per token in 2 bits [@P1].',
    'On LLaMA-2-7B the method reduces peak memory by 4.8 times [@P1; @P2].',
    'Speculative decoding drafts 5 tokens with a small model [@P2].',
  ].join(' ');
  const cited = citedSentences(text);
  const checks = cited.flatMap((s, i) => checkSentence(i, s.text, sources));

  it('drops a sentence none of whose citations is supported, keeps a supported one, and records every action', () => {
    const { text: out, reports } = applyChecks('1.1', text, cited, checks, 'repair');
    expect(reports.map((r) => r.verdict)).toEqual(['supported', 'unsupported', 'unsupported']);
    expect(reports.map((r) => r.action)).toEqual(['kept', 'removed', 'removed']);
    expect(out).toBe('KIVI stores keys per channel and values per token in 2 bits [@P1].');
    expect(reports.every((r) => r.section === '1.1')).toBe(true);
  });

  it('removes only the unsupported citation when another citation supports the sentence', () => {
    const t = 'KIVI stores keys per channel and values per token in 2 bits [@P1; @P2].';
    const cs = citedSentences(t);
    const ks = checkSentence(0, cs[0].text, sources);
    expect(ks.map((k) => k.supported)).toEqual([true, false]);
    const { text: out, reports } = applyChecks('2', t, cs, ks, 'repair');
    expect(out).toBe('KIVI stores keys per channel and values per token in 2 bits [@P1].');
    expect(reports[0]).toMatchObject({ verdict: 'partial', action: 'citation removed', applied: true, cited: ['P1', 'P2'] });
  });

  it('rewrites an unsupported sentence to the source sentence offered, citing that source', () => {
    const t = 'The method reduces peak memory by 4.8 times [@P1].';
    const cs = citedSentences(t);
    const ks = checkSentence(0, cs[0].text, sources).map((k) => ({ ...k, rewrite: 'On LLaMA-2-7B the method reduces peak memory by 2.6 times.' }));
    const { text: out, reports } = applyChecks('3', t, cs, ks, 'repair');
    expect(out).toBe('On LLaMA-2-7B the method reduces peak memory by 2.6 times [@P1].');
    expect(reports[0]).toMatchObject({ action: 'rewritten', result: out });
  });

  it('changes nothing in report mode but records what repair would do', () => {
    const { text: out, reports } = applyChecks('1.1', text, cited, checks, 'report');
    expect(out).toBe(text);
    expect(reports.filter((r) => r.action === 'removed' && !r.applied)).toHaveLength(2);
    const s = summarise(reports);
    expect(s).toMatchObject({ checked: 3, supported: 1, repaired: 0, removed: 0 });
    expect(summaryLine(s, 'report')).toMatch(/3 cited sentences checked, 1 supported \(report only/);
  });

  it('leaves a sentence whose check did not run as written, reported unchecked', () => {
    const { text: out, reports } = applyChecks('1', text, cited, [], 'repair');
    expect(out).toBe(text);
    expect(reports.every((r) => r.verdict === 'unchecked' && r.action === 'kept')).toBe(true);
    expect(summarise(reports).unchecked).toBe(3);
  });

  it('puts a citation before the final stop', () => {
    expect(withCitation('Memory drops by half.', 'P3')).toBe('Memory drops by half [@P3].');
    expect(withCitation('Memory drops by half', 'P3')).toBe('Memory drops by half [@P3].');
  });
});

describe('sentences written about papers', () => {
  it('does not end a sentence at "et al." and reads "0.5-3B" as numbers, not a name', () => {
    const t = 'Liu et al. [@P1] and Yao et al. [@P2] compress the cache. Models of 0.5-3B parameters were tested [@P1].';
    expect(citedSentences(t).map((c) => c.keys)).toEqual([['P1', 'P2'], ['P1']]);
    expect(entitiesIn('Models of 0.5-3B parameters')).toEqual([]);
    expect(numbersIn('Models of 0.5-3B parameters')).toEqual(['0.5', '3']);
  });
});

describe('claims about several sources and about authors', () => {
  it('checks a collective claim against each whole source and drops the source it does not describe', () => {
    const t = 'A group of papers [@P1; @P2] centres on heavy hitters and summarisation quality.';
    const checks = checkSentence(0, t, sources);
    expect(checks.map((c) => [c.key, c.supported])).toEqual([
      ['P1', false],
      ['P2', true],
    ]);
    expect(checks[0].reason).toMatch(/in the source/);
  });

  it('does not take the authors named as subject, nor words across a comma, for a claimed name', () => {
    expect(entitiesIn('Using FineWebEdu and Cosmopedia, Jia et al. generate 128K-length sequences [@P1].')).toEqual(['FineWebEdu']);
    expect(entitiesIn('Chen and Li propose Grouped Query Attention [@P1].')).toEqual(['Grouped Query Attention']);
  });
});

describe('what a source is', () => {
  it('counts its title and reads through text formatting', () => {
    const src = indexSource('P7', 'We propose \\textbf{H}ierarchical \\textbf{S}parse \\textbf{A}ttention (HSA) for RNNs with long-range random access.', 'Random Access for Recurrent Models');
    const sents = new Map([['P7', src]]);
    expect(checkSentence(0, 'Hu et al. propose Hierarchical Sparse Attention (HSA) for RNNs with long-range random access [@P7].', sents)[0].supported).toBe(true);
    expect(checkSentence(0, 'Hu et al. present “Random Access for Recurrent Models” [@P7].', sents)[0].supported).toBe(true);
  });
});

describe('a section is never emptied', () => {
  it('keeps its only sentences without their unsupported citations instead of removing them', () => {
    const t = 'Speculative decoding drafts 5 tokens with a small model [@P2].';
    const cs = citedSentences(t);
    const { text: out, reports } = applyChecks('4', t, cs, checkSentence(0, cs[0].text, sources), 'repair');
    expect(out).toBe('Speculative decoding drafts 5 tokens with a small model.');
    expect(reports[0]).toMatchObject({ verdict: 'unsupported', action: 'citation removed', applied: true });
  });
});

describe('openings that look like anaphors but are not', () => {
  it('accepts an author named He, "Instead of X" and "In addition to X", not "In addition to this" or "Instead,"', () => {
    expect(opensWithAnaphor('He et al. propose a static attention pattern [@P1].')).toBe(false);
    expect(opensWithAnaphor('Instead of rounding, Du et al. rotate the cache [@P1].')).toBe(false);
    expect(opensWithAnaphor('In addition to quantization, the cache can be paged.')).toBe(false);
    expect(opensWithAnaphor('In addition to this, the key findings include longer training.')).toBe(true);
    expect(opensWithAnaphor('Instead, the cache is paged.')).toBe(true);
  });
});

describe('one claim said of several papers named in turn', () => {
  it('checks each paper of "A [@P1] and B [@P2] keep heavy hitters …" against the whole claim', () => {
    const segs = claimSegments('Liu et al. [@P1] and Yao et al. [@P2] keep heavy hitters with a recent window.');
    expect(segs.map((s) => [s.keys, s.collective, s.short])).toEqual([
      [['P1'], true, false],
      [['P2'], true, false],
    ]);
    const checks = checkSentence(0, 'Liu et al. [@P1] and Yao et al. [@P2] keep heavy hitters with a recent window.', sources);
    expect(checks.map((c) => [c.key, c.supported])).toEqual([
      ['P1', false],
      ['P2', true],
    ]);
  });
});

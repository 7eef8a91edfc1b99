/** Survey quality metrics on small hand-written surveys: each one passes on a clean survey and fails on a flawed one. */
import { describe, expect, it } from 'vitest';
import {
  anaphorOpenings,
  bodySentences,
  genericHeading,
  genericHeadings,
  misfiledPapers,
  qualityTable,
  repeatedSentences,
  surveyQuality,
  type SectionText,
} from '../../shared/eval/survey-quality.ts';

const CLEAN = `# Memory for the KV Cache

**Abstract.** This survey covers cache quantization and token eviction for long prompts.

## 1 Cache Quantization

Per-channel key quantization stores the cache in 2 bits with little loss [1]. Rotations spread outliers before rounding [2].

| paper | bits |
|---|---|
| [1] | 2 |

## 2 Attention-Based Token Eviction

Heavy-hitter eviction keeps the tokens with the largest accumulated attention [3]. Attention sinks at the start of the sequence must stay in the cache [4].

## 3 Conclusion

Quantization and eviction are complementary ways to shrink the cache.

## References

[1] A. Author. *Quantized caches*. This line is not prose of the survey. They say so.
`;

describe('body prose', () => {
  it('reads sentences outside headings, tables and references, without citation numbers', () => {
    const s = bodySentences(CLEAN);
    expect(s).toContain('Per-channel key quantization stores the cache in 2 bits with little loss.');
    expect(s.some((x) => x.includes('|'))).toBe(false);
    expect(s.some((x) => x.includes('They say so'))).toBe(false);
  });
});

describe('repeated sentences', () => {
  it('finds none in a clean survey', () => {
    expect(repeatedSentences(CLEAN).count).toBe(0);
  });
  it('counts a sentence that comes back with other citations or case', () => {
    const md = CLEAN.replace('Quantization and eviction are complementary', 'heavy-hitter eviction keeps the tokens with the largest accumulated attention [5]. Quantization and eviction are complementary');
    const r = repeatedSentences(md);
    expect(r.count).toBe(1);
    expect(r.examples[0]).toMatch(/^heavy-hitter eviction/);
  });
});

describe('unresolved anaphor openings', () => {
  it('finds none in a clean survey ("This survey" points at the document)', () => {
    expect(anaphorOpenings(CLEAN).count).toBe(0);
  });
  it('counts sentences opening with a pronoun or connective', () => {
    const md = CLEAN.replace('Rotations spread outliers before rounding [2].', 'They fail to preserve outliers [2]. However, rotations help.');
    const r = anaphorOpenings(md);
    expect(r.count).toBe(2);
    expect(r.share).toBeCloseTo(2 / r.total);
  });
});

describe('generic headings', () => {
  it('accepts headings that name a topic', () => {
    expect(genericHeadings(CLEAN).count).toBe(0);
    expect(genericHeading('Memory and Latency of Offloading')).toBeNull();
  });
  it('refuses term lists, debris and generic words', () => {
    expect(genericHeading('Token, Long and Importance')).toBe('a list of single words');
    expect(genericHeading('Code and Mechanism')).toMatch(/debris: code/);
    expect(genericHeading('Authors, GitHub and Com')).toMatch(/debris/);
    expect(genericHeading('Methods and Results')).toBe('only generic words');
    const md = CLEAN.replace('## 2 Attention-Based Token Eviction', '## 2 Agent, Collections and High');
    expect(genericHeadings(md).headings).toEqual([{ number: '2', title: 'Agent, Collections and High', why: 'a list of single words' }]);
  });
});

describe('papers filed against their own abstract', () => {
  const abstracts = new Map([
    ['P1', 'We quantize the key cache per channel to two bits and calibrate scales.'],
    ['P2', 'Quantization of cache values with rotations that spread outliers before rounding to low bits.'],
    ['P3', 'We evict tokens with little accumulated attention and keep heavy hitters in a recent window.'],
    ['P4', 'Eviction must keep attention sinks; evicting the first tokens collapses generation.'],
  ]);
  const sections = (p4In: string): SectionText[] => [
    { number: '1', title: 'Cache Quantization', text: 'Keys are quantized per channel to two bits [@P1]. Rotations spread outliers before low-bit rounding [@P2].' },
    { number: '2', title: 'Token Eviction by Attention', text: 'Tokens with little accumulated attention are evicted [@P3].' },
  ].map((s) => (s.number === p4In ? { ...s, text: `${s.text} Attention sinks must not be evicted [@P4].` } : s));

  it('finds none when every paper sits in the section nearest its abstract', () => {
    expect(misfiledPapers(sections('2'), abstracts)).toMatchObject({ count: 0, checked: 4 });
  });
  it('flags an eviction paper cited under quantization', () => {
    const r = misfiledPapers(sections('1'), abstracts);
    expect(r.papers).toMatchObject([{ id: 'P4', citedIn: ['1'], closer: '2' }]);
  });
  it('calls it clear only when the section it is cited in is less than half as close as the nearest', () => {
    const r = misfiledPapers(sections('1'), abstracts);
    expect(r.papers[0].clear).toBe(true);
    expect(r.clear).toBe(1);
    // Cited in both sections: it is also in its nearest one, so nothing is misfiled.
    const both = sections('1').map((s) => (s.number === '2' ? { ...s, text: `${s.text} Attention sinks must not be evicted [@P4].` } : s));
    expect(misfiledPapers(both, abstracts)).toMatchObject({ count: 0, clear: 0 });
  });
});

describe('the goals', () => {
  const secs: SectionText[] = [];
  it('pass on a clean survey with supported citations', () => {
    const r = surveyQuality({ markdown: CLEAN, sections: secs, abstracts: new Map(), support: { citations: 40, citationsSupported: 39 } });
    expect(r.goals.filter((g) => g.pass === false)).toEqual([]);
    expect(r.supportRate).toBeCloseTo(0.975);
    expect(qualityTable('KV cache', r)).toMatch(/\| citations supported \| 39\/40 \(97\.5%\) \| ≥ 95% \| PASS \|/);
  });
  it('fail on a low support rate or when nothing was verified', () => {
    const low = surveyQuality({ markdown: CLEAN, sections: secs, abstracts: new Map(), support: { citations: 40, citationsSupported: 30 } });
    expect(low.goals.find((g) => g.metric === 'citations supported')!.pass).toBe(false);
    const none = surveyQuality({ markdown: CLEAN, sections: secs, abstracts: new Map() });
    expect(none.goals.find((g) => g.metric === 'citations supported')).toMatchObject({ value: 'not verified', pass: false });
  });
});

describe('headings with a part that names nothing', () => {
  it('refuses "Remarkable Progress and KV Caches" but accepts "KV Cache Quantization and Vision-Language Models"', () => {
    expect(genericHeading('Remarkable Progress and KV Caches')).toBe('a part that names nothing');
    expect(genericHeading('Number and Speedup')).toBe('a list of single words');
    expect(genericHeading('KV Cache Quantization and Vision-Language Models')).toBeNull();
  });
});

describe('sentence boundaries in the measures', () => {
  it('does not cut a sentence at "et al." or before a lower-case piece after ";"', () => {
    const md = '## 1 Cache Quantization\n\nInstead of rounding, Du et al. rotate the cache [1]; however, the errors grow with length [2].\n';
    expect(bodySentences(md)).toEqual(['Instead of rounding, Du et al. rotate the cache; however, the errors grow with length.']);
    expect(anaphorOpenings(md).count).toBe(0);
  });
});

/**
 * The offline survey's prose, piece by piece: noun-phrase headings, sentences that stand on their
 * own, comparison tables, leaves grouped by approach, summaries that repeat nothing, the
 * conclusion, retitled outlines, and an assembly with no sentence twice.
 */
import { describe, expect, it } from 'vitest';
import { distinctPhrases, indexPhrases, isGenericHeading, phraseCandidates, phraseHeading, rankGroupPhrases } from '../../shared/algo/phrases.ts';
import { cleanProse, opensWithAnaphor, paperSubject, sentenceKey, standalone } from '../../shared/algo/prose.ts';
import { comparisonTable, reportedFigure } from '../../shared/algo/compare-table.ts';
import { conclusionProse, leafProse, parentProse, usableSentences } from '../../shared/algo/survey-prose.ts';
import { retitleOutline } from '../../shared/algo/retitle.ts';
import { assembleSurvey, dropRepeats, OFFLINE_SECTION_NOTE } from '../../shared/algo/assemble.ts';
import { citedKeys } from '../../shared/algo/citations.ts';
import { concludeOp } from '../../shared/ops/v2/conclude.ts';
import type { OutlineNode } from '../../shared/algo/outline.ts';
import { headingFidelity, heldOutTerms } from '../../shared/algo/heading-fidelity.ts';

const QUANT = [
  'Mixed-precision KV cache quantization keeps outlier channels in eight bits.',
  'KV cache quantization to two bits with outlier channels kept apart.',
  'Rotations spread outlier channels before KV cache quantization.',
];
const EVICT = [
  'Token eviction keeps attention sinks and heavy hitters in the cache.',
  'Attention sinks must survive token eviction under a fixed budget.',
  'Learned token eviction predicts which entries to drop.',
];

describe('noun phrases', () => {
  it('takes runs of content words between stop words, boilerplate and punctuation', () => {
    const got = phraseCandidates('We propose mixed-precision KV cache quantization, keeping outlier channels.').map((o) => o.surface);
    expect(got).toContain('mixed-precision KV cache quantization');
    expect(got).toContain('outlier channels');
    expect(got.some((s) => /propose|keeping|We/.test(s))).toBe(false);
  });

  it('names a group by the phrases its documents share and the rest of the corpus lacks, never by topic words alone', () => {
    const index = indexPhrases([...QUANT, ...EVICT]);
    const topic = new Set(['kv', 'cache']);
    const quant = rankGroupPhrases(index, [0, 1, 2], { topic });
    const evict = rankGroupPhrases(index, [3, 4, 5], { topic });
    expect(phraseHeading(quant, index.forms)).toMatch(/Outlier Channels|Cache Quantization/);
    expect(phraseHeading(evict, index.forms)).toMatch(/Token Eviction|Attention Sinks/);
    expect(quant).not.toContain('kv cache');
  });

  it('picks phrases that share no word, letting a longer phrase replace the one it contains', () => {
    expect(distinctPhrases(['cache', 'kv cache quantization', 'outlier channel', 'channel'], 2)).toEqual(['kv cache quantization', 'outlier channel']);
  });

  it('calls a heading generic when no word of it names a topic', () => {
    expect(isGenericHeading('Code and Mechanism')).toBe(true);
    expect(isGenericHeading('Authors, Available and Github')).toBe(true);
    expect(isGenericHeading('Token Eviction and Attention Sinks')).toBe(false);
  });
});

describe('sentences that stand on their own', () => {
  it('names the paper for its first person and strips connectors', () => {
    expect(standalone('To address this issue, we propose HCAttention, a hybrid design.', 'Chen et al.')).toBe('Chen et al. propose HCAttention, a hybrid design.');
    expect(standalone('However, most methods score tokens by attention.', 'Chen et al.')).toBe('Most methods score tokens by attention.');
    expect(standalone('However its capacity is limited to 4,096 tokens.', 'Chen et al.')).toBeNull();
    expect(standalone('Moreover the cache grows with length.', 'Chen et al.')).toBe('The cache grows with length.');
    expect(standalone('Our method halves memory while we keep accuracy.', 'Li and Wu')).toBe('The method of Li and Wu halves memory while they keep accuracy.');
    expect(standalone('This paper studies cache reuse.', 'Li')).toBe('The study by Li studies cache reuse.');
    expect(standalone('In this paper we study cache reuse.', 'Li')).toBe('Li study cache reuse.');
  });

  it('refuses an opening that points at a sentence the reader does not have', () => {
    expect(standalone('They fail to preserve accuracy.', 'Chen et al.')).toBeNull();
    expect(standalone('This limitation hurts long contexts.', 'Chen et al.')).toBeNull();
    expect(standalone('It reaches 2x speed.', 'Chen et al.')).toBeNull();
    expect(opensWithAnaphor('There are many caches.')).toBe(false);
    expect(opensWithAnaphor('These methods fail.')).toBe(true);
  });

  it('cleans simple markup and refuses URLs, availability notes and math that does not read as text', () => {
    expect(cleanProse('It reaches 8$\\times$ compression with \\textbf{no} loss.')).toBe('It reaches 8× compression with no loss.');
    expect(cleanProse('Code is available at https://github.com/x/y.')).toBeNull();
    expect(cleanProse('The bound is $\\Omega(n^2 d)$ memory.')).toBeNull();
  });

  it('names a paper by its authors, never by a placeholder name', () => {
    expect(paperSubject(['Bo Chen', 'Xiaoyu Li', 'Yekun Ke'], 't')).toBe('Chen et al.');
    expect(paperSubject(['Ada Lovelace', 'Alan Turing'], 't')).toBe('Lovelace and Turing');
    expect(paperSubject(['Author 1'], 'StreamMem: Streaming memory')).toBe('The authors of StreamMem');
  });

  it('keys a sentence the same with or without citations, case and spacing', () => {
    expect(sentenceKey('Eviction drops tokens [@P1].')).toBe(sentenceKey('eviction  drops tokens [3]'));
  });
});

describe('comparison tables', () => {
  it('reports the shortest clause with a measured result, preferring percentages and factors', () => {
    expect(reportedFigure(['With 4 GPUs, the method reaches 8× compression, at equal accuracy [@P1].'])).toBe('the method reaches 8× compression');
    expect(reportedFigure(['No figure here at all [@P1].'])).toBeNull();
  });

  it('is written only when at least two papers state a result', () => {
    const row = (p: string, r: string | null) => ({ paper: p, year: 2025, approach: 'x', reports: r });
    expect(comparisonTable([row('A', '2× faster'), row('B', null), row('C', null)])).toBe('');
    const t = comparisonTable([row('A [@P1]', '2× faster'), row('B [@P2]', '30% less memory'), row('C [@P3]', null)]);
    expect(t.split('\n')[0]).toBe('| Paper | Year | Approach | What it reports |');
    expect(t).toContain('| C [@P3] | 2025 | x | — |');
  });
});

const paper = (id: string, title: string, text: string, subject = `Author${id}`) => ({ paperId: id, paperTitle: title, text, subject, year: 2025 });

describe('offline section prose', () => {
  const papers = [
    paper('P1', 'Two-bit KV quantization', 'We quantize KV cache entries to two bits with outlier channels kept apart [@P1]. It saves 70% memory [@P1].'),
    paper('P2', 'Rotated quantization', 'Rotations spread outlier channels before quantization of the cache [@P2]. Accuracy stays within 1% of full precision [@P2].'),
    paper('P3', 'Mixed precision cache', 'Mixed-precision quantization keeps outlier channels in eight bits and reaches 4× compression [@P3].'),
    paper('P4', 'Sink-aware eviction', 'Token eviction keeps attention sinks and heavy hitters in the cache [@P4]. However, token eviction loses 2% accuracy [@P4].'),
    paper('P5', 'Budgeted eviction', 'Attention sinks must survive token eviction under a fixed budget of 512 tokens [@P5].'),
    paper('P6', 'Learned eviction', 'A learned policy for token eviction predicts which entries to drop [@P6]. They fail on long inputs [@P6].'),
  ];

  it('groups a leaf by approach, cites every paper, and leaves out what cannot stand alone', () => {
    const out = leafProse({ surveyTitle: 'KV cache', sectionTitle: 'Compression', construction: '', papers });
    expect(new Set(citedKeys(out.text))).toEqual(new Set(['P1', 'P2', 'P3', 'P4', 'P5', 'P6']));
    expect(out.text).toMatch(/follow two lines of work/);
    expect(out.text).toContain('AuthorP1 quantize KV cache entries');
    expect(out.text).toContain('Token eviction loses 2% accuracy [@P4].');
    expect(out.text).not.toMatch(/They fail|It saves/);
    expect(out.table).toContain('| Paper | Year | Approach | What it reports |');
  });

  it('gives every usable sentence its paper\'s citation', () => {
    expect(usableSentences(paper('P9', 't', 'We cut memory by half on long inputs.'))).toEqual(['AuthorP9 cut memory by half on long inputs [@P9].']);
  });

  it('summarises subsections in a parent without repeating any of their sentences', () => {
    const leafA = leafProse({ surveyTitle: 'KV cache', sectionTitle: 'Quantization', construction: '', papers: papers.slice(0, 3) }).text;
    const leafB = leafProse({ surveyTitle: 'KV cache', sectionTitle: 'Eviction', construction: '', papers: papers.slice(3) }).text;
    const text = parentProse('KV cache', '1', [
      { number: '1.1', title: 'Quantization', text: leafA, papers: 3 },
      { number: '1.2', title: 'Eviction', text: leafB, papers: 3 },
    ]);
    expect(text).toMatch(/Quantization \(1\.1, three papers\) centres on .*outlier channels/i);
    for (const s of `${leafA} ${leafB}`.split(/(?<=\.) /)) if (s.length > 30) expect(text).not.toContain(s);
  });

  it('concludes with shared themes, the splits and the papers\' own open problems, none quoted twice', () => {
    const sections = [
      { number: '1', title: 'Quantization', text: 'Outlier channels limit quantization [@P1]. Memory budgets matter for outlier channels [@P2].' },
      { number: '2', title: 'Eviction', text: 'Attention sinks guide token eviction [@P4]. Memory budgets decide eviction with outlier channels [@P5].' },
    ];
    const notes = [
      { paperId: 'P1', subject: 'Chen et al.', text: 'How to quantize below two bits remains an open problem [@P1].' },
      { paperId: 'P4', subject: 'Li', text: 'Attention sinks guide token eviction [@P4]. We leave learned budgets to future work [@P4].' },
    ];
    const text = conclusionProse('KV cache', sections, notes);
    expect(text).toMatch(/Common ground: .*outlier channels comes up in two of the two sections/i);
    expect(text).toMatch(/part ways/);
    expect(text).toContain('- How to quantize below two bits remains an open problem [@P1].');
    expect(text).toContain('- Li leave learned budgets to future work [@P4].');
    expect(text.match(/Attention sinks guide token eviction/g)).toBeNull();
    const pointing = ['To address these challenges, we propose a latent cache [@P2].', 'Unified video generation inherits this limitation of the cache [@P2].', 'The design resolves two fundamental limitations of sparse attention [@P2].'];
    expect(conclusionProse('KV cache', sections, pointing.map((text) => ({ paperId: 'P2', subject: 'Wu', text })))).toMatch(/None of the papers states an open problem/);
  });

  it('v2.conclude offline writes that conclusion, and a model reply may cite only the material\'s papers', async () => {
    const input = { title: 'KV cache', number: '3', sections: [{ number: '1', title: 'A', text: 'Outlier channels limit quantization [@P1].' }], notes: [] };
    const out = await concludeOp.extractive(input, { blobText: async () => '' });
    expect(out.text).toMatch(/None of the papers states an open problem/);
    expect(concludeOp.finalize!({ text: 'Open questions remain [@P1; @P99].' }, input).text).toBe('Open questions remain [@P1].');
  });
});

const node = (id: string, title: string, children: OutlineNode[] = []): OutlineNode => ({ id, title, construction: '', analysis: '', children });

describe('retitled outlines', () => {
  it('heads each section with the phrases of the papers filed under it, a child avoiding its parent\'s words', () => {
    const outline = node('S0', 'KV cache', [node('S1', 'Token and Long', [node('S1.1', 'Authors and Github'), node('S1.2', 'Com')]), node('S2', 'Available and Code')]);
    const papers = [...QUANT, ...EVICT, 'Paged memory for the KV cache.', 'Offloading KV cache pages to CPU memory.', 'Paged memory and offloading of cache pages.'].map((t, i) => ({ id: `P${i + 1}`, title: t, abstract: t }));
    const filed = new Map([
      ['S1.1', ['P1', 'P2', 'P3']],
      ['S1.2', ['P4', 'P5', 'P6']],
      ['S2', ['P7', 'P8', 'P9']],
    ]);
    const { outline: fresh, renamed } = retitleOutline(outline, filed, papers, 'KV cache');
    const titles = [fresh.children[0].title, ...fresh.children[0].children.map((c) => c.title), fresh.children[1].title];
    expect(titles.every((t) => !isGenericHeading(t))).toBe(true);
    expect(titles[1]).toMatch(/Outlier Channels|Quantization/);
    expect(titles[2]).toMatch(/Eviction|Attention Sinks/);
    expect(titles[3]).toMatch(/Paged Memory|Pages|Offloading/);
    expect(new Set(titles).size).toBe(titles.length);
    expect(renamed.length).toBeGreaterThanOrEqual(3);
    expect(fresh.children[0].children.map((c) => c.id)).toEqual(['S1.1', 'S1.2']);
  });
});

describe('assembly', () => {
  it('drops a sentence where it recurs, keeping table rows and bullets', () => {
    const seen = new Set<string>();
    dropRepeats('Eviction keeps attention sinks in the cache [@P1]. Other text that is long enough here.', seen);
    const r = dropRepeats('Eviction keeps attention sinks in the cache [@P1]. A new sentence that is long enough to count.\n| a | b |\n- Eviction keeps attention sinks in the cache [@P1].', seen);
    expect(r.removed).toBe(2);
    expect(r.text).toBe('A new sentence that is long enough to count.\n| a | b |');
  });

  it('finds a repeat even when a citation bracket holds a semicolon', () => {
    const seen = new Set<string>();
    dropRepeats('Fourteen papers [@P1; @P2] centre on reasoning and VLA models.', seen);
    expect(dropRepeats('Fourteen papers [@P3; @P4] centre on reasoning and VLA models.', seen)).toEqual({ text: '', removed: 1 });
  });

  it('puts the conclusion last before the references and marks sections the offline engine wrote', () => {
    const outline = node('S0', 'T', [node('S1', 'One'), node('S2', 'Two')]);
    const texts = new Map([
      ['S0', 'Intro text that is long enough to be a sentence.'],
      ['S1', 'First section sentence that is long enough [@P1].'],
      ['S2', 'First section sentence that is long enough [@P1]. Second section sentence, long enough too [@P2].'],
    ]);
    const doc = assembleSurvey({
      title: 'T',
      outline,
      texts,
      sources: [
        { id: 'P1', title: 'a', authors: [], year: 2024, url: '' },
        { id: 'P2', title: 'b', authors: [], year: 2024, url: '' },
      ] as never,
      conclusion: { title: 'Conclusion', text: 'Open problems remain in this area [@P2].' },
      offlineSections: new Set(['S2']),
    });
    expect(doc.markdown).toMatch(/## 2 Two\n\n> Note: this section was written by the offline engine[^\n]*\n\nSecond section sentence/);
    expect(doc.markdown).toMatch(/## 3 Conclusion\n\nOpen problems remain in this area \[2\]\.\n\n## References/);
    expect(doc.repeatsRemoved).toBe(1);
    expect(OFFLINE_SECTION_NOTE).toMatch(/^> Note:/);
  });
});

describe('heading fidelity (the offline judge\'s held-out score)', () => {
  const sources = [
    ...['P1', 'P2', 'P3'].map((id) => ({ id, terms: { quantization: 3, 'outlier channels': 2, outlier: 2, channels: 2, bits: 2, precision: 2, rotation: 1, calibration: 1 }, filed: [] })),
    ...['P4', 'P5', 'P6'].map((id) => ({ id, terms: { eviction: 3, 'attention sinks': 2, attention: 2, sinks: 2, tokens: 2, budget: 2, heavy: 1, hitters: 1 }, filed: [] })),
  ];
  const leaf = (id: string, title: string, ids: string[]) => ({ ...node(id, title), analysis: `Compare [${ids.map((i) => `@${i}`).join('; ')}].` });
  const outline = (a: string, b: string) => node('S0', 'KV cache', [leaf('S1', a, ['P1', 'P2', 'P3']), leaf('S2', b, ['P4', 'P5', 'P6'])]);

  it('rewards headings that name the sources under them, on terms held out by a fixed hash', () => {
    const named = headingFidelity(outline('Quantization with Outlier Channels, Bits and Precision', 'Eviction with Attention Sinks, Tokens and Budget'), sources);
    const generic = headingFidelity(outline('Methods and Results', 'Approaches and Performance'), sources);
    expect(named.sources).toBe(6);
    expect(named.score).toBeGreaterThan(generic.score);
    expect(generic.score).toBe(0);
    expect(heldOutTerms(sources[0])).toEqual(heldOutTerms(sources[1]));
  });
});

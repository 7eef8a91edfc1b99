import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  citedKeys,
  filterCitations,
  findCitations,
  numberCitations,
  referenceList,
  renderReferences,
  toBibtex,
  type RefSource,
} from '../../shared/algo/citations.ts';

const known = (...ids: string[]) => {
  const s = new Set(ids);
  return (k: string) => s.has(k);
};

describe('finding citations', () => {
  it('reads single and grouped keys in written order', () => {
    expect(findCitations('A [@P012] and B [@P012; @P003], C [@P7,@P8].').map((c) => c.keys)).toEqual([['P012'], ['P012', 'P003'], ['P7', 'P8']]);
    expect(citedKeys('x [@P2] y [@P1; @P2]')).toEqual(['P2', 'P1']);
  });

  it('ignores ordinary brackets, links and brackets inside math and code', () => {
    const text = [
      'An interval [0, 1] and a [link](http://x) and [@P001](http://y).',
      'Inline math $[@P002]$ and display $$\\left[@P003\\right]$$.',
      'Code `[@P004]` and ``a ` [@P005]``.',
      '```',
      'fenced [@P006]',
      '```',
      '~~~python',
      'x = [@P007]',
      '~~~',
      'Real one [@P008].',
    ].join('\n');
    expect(citedKeys(text)).toEqual(['P008']);
  });

  it('does not take prices for math', () => {
    expect(citedKeys('It costs $5 and [@P001] says $10.')).toEqual(['P001']);
  });

  it('does not let LaTeX-style quotes swallow citations across paragraphs', () => {
    const text = "A ``quoted'' phrase [@P1].\n\nMore text [@P2] and ``another'' one [@P3].";
    expect(citedKeys(text)).toEqual(['P1', 'P2', 'P3']);
    expect(citedKeys('multi ``code [@P4]\nspan`` here')).toEqual([]);
  });

  it('treats an unclosed fence as running to the end', () => {
    expect(citedKeys('ok [@P1]\n```\nnot [@P2]')).toEqual(['P1']);
  });
});

describe('filtering unknown keys', () => {
  it('drops unknown keys, removes emptied brackets with their space, and counts the drops', () => {
    const r = filterCitations('Claim [@P001; @P404]. Other [@X9]. Fine.', known('P001'));
    expect(r.text).toBe('Claim [@P001]. Other. Fine.');
    expect(r.dropped).toEqual(['P404', 'X9']);
  });
});

describe('numbering', () => {
  it('numbers by first appearance and sorts numbers inside a bracket', () => {
    const r = numberCitations('B [@P002]. A [@P001; @P002]. C [@P003; @P001].', known('P001', 'P002', 'P003'));
    expect(r.text).toBe('B [1]. A [1, 2]. C [2, 3].');
    expect(r.order).toEqual(['P002', 'P001', 'P003']);
  });

  it('merges adjacent brackets and de-duplicates', () => {
    const r = numberCitations('X [@P1] [@P2][@P1].', known('P1', 'P2'));
    expect(r.text).toBe('X [1, 2].');
    expect(r.marks).toBe(1);
  });

  it('leaves math and code untouched while numbering the rest', () => {
    const text = 'Range $x \\in [0,1]$ and `arr[@P9]` [@P9].\n$$[a, b]$$';
    const r = numberCitations(text, known('P9'));
    expect(r.text).toBe('Range $x \\in [0,1]$ and `arr[@P9]` [1].\n$$[a, b]$$');
  });

  it('drops unknown ids and counts them', () => {
    const r = numberCitations('A [@P1; @ghost]. B [@ghost].', known('P1'));
    expect(r.text).toBe('A [1]. B.');
    expect(r.dropped).toEqual(['ghost', 'ghost']);
  });

  it('every number written resolves to a key and every cited key gets one number', () => {
    const id = fc.integer({ min: 1, max: 30 }).map((i) => `P${i}`);
    const piece = fc.oneof(
      fc.array(id, { minLength: 1, maxLength: 3 }).map((ks) => `[${ks.map((k) => `@${k}`).join('; ')}]`),
      fc.constantFrom(' text. ', ' $[1,2]$ ', ' `[@P5]` ', '\n', ' [see 4] '),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = pieces.join('');
        const r = numberCitations(text, (k) => Number(k.slice(1)) <= 20);
        const used = new Set<number>();
        for (const m of r.text.matchAll(/\[(\d+(?:, \d+)*)\]/g)) m[1].split(', ').forEach((x) => used.add(Number(x)));
        for (const u of used) expect(u).toBeLessThanOrEqual(r.order.length);
        expect(used.size).toBe(r.order.length);
        expect(r.order.every((k) => Number(k.slice(1)) <= 20)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('references', () => {
  const sources = new Map<string, RefSource>([
    ['P001', { id: 'P001', title: 'Quantizing *KV* caches', authors: ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra'], year: 2025, url: 'https://arxiv.org/abs/2501.00001', arxivId: '2501.00001' }],
    ['P002', { id: 'P002', title: 'Eviction & more', authors: [], year: null, url: null }],
    ['P003', { id: 'P003', title: 'Never cited', authors: ['X Y'], year: 2024, url: null }],
  ]);

  it('lists only cited sources, in number order, with authors, year and url', () => {
    const refs = referenceList(['P002', 'P001'], sources);
    expect(refs.map((r) => [r.number, r.id])).toEqual([
      [1, 'P002'],
      [2, 'P001'],
    ]);
    const md = renderReferences(refs);
    expect(md).toContain('[1] *Eviction & more*.');
    expect(md).toContain('[2] Ada Lovelace, Alan Turing, Grace Hopper et al. (2025). *Quantizing \\*KV\\* caches*. <https://arxiv.org/abs/2501.00001>');
    expect(md).not.toContain('Never cited');
  });

  it('exports BibTeX with unique keys and escaped fields', () => {
    const bib = toBibtex(referenceList(['P001', 'P002'], sources));
    expect(bib).toContain('@article{lovelace2025quantizing,');
    expect(bib).toContain('journal = {arXiv preprint arXiv:2501.00001}');
    expect(bib).toContain('title = {Eviction \\& more}');
    expect(bib).toContain('@misc{anoneviction,');
    const twice = toBibtex(referenceList(['P001', 'P004'], new Map([...sources, ['P004', { ...sources.get('P001')!, id: 'P004' }]])));
    expect(twice).toContain('@article{lovelace2025quantizing,');
    expect(twice).toContain('@article{lovelace2025quantizinga,');
  });
});

describe('citation marks left open', () => {
  it('removes a mark a cut-off reply left unclosed at the end of a line', () => {
    const r = numberCitations('Eviction keeps heavy hitters [@P1]. A group of papers [@P2;\nNext line [@P2].', () => true);
    expect(r.text).toBe('Eviction keeps heavy hitters [1]. A group of papers\nNext line [2].');
    expect(r.order).toEqual(['P1', 'P2']);
  });
});

/** Pure parts of the sources front end: identifiers, BibTeX/RIS, dedupe, the BM25 filter, globs. */
import { describe, expect, it } from 'vitest';
import { findArxivId, findDoi, normaliseTitle, splitAuthors } from '../../shared/sources/ids.ts';
import { parseBibtex, parseRis } from '../../shared/sources/bib.ts';
import { dedupe } from '../../shared/sources/dedupe.ts';
import { bm25Filter } from '../../shared/sources/relevance.ts';
import { globRegex } from '../../shared/sources/local.ts';
import type { SourceDoc } from '../../shared/sources/types.ts';

const doc = (title: string, over: Partial<SourceDoc> = {}): SourceDoc => ({
  title, text: `${title} text`, authors: [], year: null, doi: null, arxivId: null, url: null,
  provenance: { origin: 'local', path: `${title}.pdf`, retrievedAt: '2026-01-01T00:00:00.000Z', sha256: '0'.repeat(64), format: 'pdf' }, ...over,
});

describe('identifiers', () => {
  it('finds DOIs and arXiv ids in the ways papers write them', () => {
    expect(findDoi('see https://doi.org/10.1145/3600006.3613165.')).toBe('10.1145/3600006.3613165');
    expect(findArxivId('arXiv:2503.14881v2 [cs.LG]')).toBe('2503.14881');
    expect(findArxivId('https://arxiv.org/abs/2401.01234')).toBe('2401.01234');
    expect(findArxivId('no id here 2023')).toBeNull();
  });
  it('compares titles without case, accents or punctuation, and reads "Last, First" authors', () => {
    expect(normaliseTitle('KV-Cache: Compression, Revisited!')).toBe(normaliseTitle('kv cache compression revisited'));
    expect(splitAuthors('Lovelace, Ada and Turing, Alan')).toEqual(['Ada Lovelace', 'Alan Turing']);
    expect(splitAuthors('Han Chen,Zicong Jiang,Zining Zhang')).toEqual(['Han Chen', 'Zicong Jiang', 'Zining Zhang']);
    expect(splitAuthors('Ada Lovelace; Alan Turing')).toEqual(['Ada Lovelace', 'Alan Turing']);
  });
});

describe('bibliographies', () => {
  it('reads BibTeX entries with nested braces and Zotero/JabRef file fields', () => {
    const bib = `@article{kwon2023,
  title = {Efficient Memory Management for {LLM} Serving},
  author = {Kwon, Woosuk and Li, Zhuohan},
  year = 2023,
  doi = {10.1145/3600006.3613165},
  file = {Full Text PDF:papers/kwon.pdf:application/pdf}
}
@misc{x, title="Only metadata", eprint = {2401.01234}}`;
    const [a, b] = parseBibtex(bib);
    expect(a).toMatchObject({ key: 'kwon2023', title: 'Efficient Memory Management for LLM Serving', authors: ['Woosuk Kwon', 'Zhuohan Li'], year: 2023, doi: '10.1145/3600006.3613165', files: ['papers/kwon.pdf'] });
    expect(b).toMatchObject({ key: 'x', title: 'Only metadata', arxivId: '2401.01234', files: [] });
  });
  it('reads RIS records with L1 file links', () => {
    const ris = 'TY  - JOUR\nTI  - Paged attention\nAU  - Kwon, Woosuk\nPY  - 2023\nDO  - 10.1145/3600006.3613165\nL1  - file:///tmp/some%20dir/kwon.pdf\nER  - \n';
    expect(parseRis(ris)).toEqual([expect.objectContaining({ title: 'Paged attention', authors: ['Woosuk Kwon'], year: 2023, files: ['/tmp/some dir/kwon.pdf'] })]);
  });
});

describe('dedupe', () => {
  it('keeps one source per DOI, arXiv id or normalised title, filled from the duplicates, and reports them', () => {
    const out = dedupe([
      doc('Paged Attention for LLM Serving', { doi: '10.1/ABC' }),
      doc('A different title', { doi: '10.1/abc', text: 'a much longer text than the first one had', authors: ['A B'] }),
      doc('Streaming LLMs with attention sinks', { arxivId: '2309.17453v4' }),
      doc('streaming llms, with attention sinks', { provenance: { ...doc('y').provenance, path: 'copy.pdf' } }),
      doc('Unrelated work on retrieval'),
    ]);
    expect(out.docs.map((d) => d.title)).toEqual(['Paged Attention for LLM Serving', 'Streaming LLMs with attention sinks', 'Unrelated work on retrieval']);
    expect(out.docs[0]).toMatchObject({ text: 'a much longer text than the first one had', authors: ['A B'] });
    expect(out.duplicates.map((d) => d.reason)).toEqual([expect.stringMatching(/same DOI/), expect.stringMatching(/same title/)]);
  });
});

describe('bm25Filter', () => {
  it('drops sources that share no term with the topic and keeps the best ones in input order', () => {
    const docs = [doc('Baking sourdough bread at home'), doc('KV cache compression by quantization'), doc('Cache eviction for long contexts'), doc('Compression of the KV cache with low rank')];
    const { kept, dropped } = bm25Filter('KV cache compression', docs, 2);
    expect(kept.map((k) => k.index)).toEqual([1, 3]);
    expect(dropped.map((d) => d.index)).toContain(0);
  });
});

describe('globRegex', () => {
  it('matches ** across folders, * within one, {a,b} alternatives and [0-9] classes', () => {
    expect(globRegex('papers/**/*.pdf').test('papers/a/b/x.pdf')).toBe(true);
    expect(globRegex('papers/**/*.pdf').test('papers/x.pdf')).toBe(true);
    expect(globRegex('papers/*.{md,txt}').test('papers/a/x.md')).toBe(false);
    expect(globRegex('papers/*.{md,txt}').test('papers/x.txt')).toBe(true);
    expect(globRegex('papers/00[0-3].pdf').test('papers/002.pdf')).toBe(true);
    expect(globRegex('papers/00[!0-3].pdf').test('papers/002.pdf')).toBe(false);
    expect(globRegex('a[1.pdf').test('a[1.pdf')).toBe(true);
  });
});

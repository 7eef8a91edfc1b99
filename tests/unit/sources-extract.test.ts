/** Extraction from bytes: each format's text and metadata, and each unusable file's reason. */
import { describe, expect, it } from 'vitest';
import { extractDocument, sniffFormat } from '../../shared/sources/extract.ts';
import { makeArticleHtml, makeDocx, makeEncryptedPdf, makePdf, makeScannedPdf } from '../helpers/fake-docs.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const BODY = 'Quantizing the key and value cache to four bits keeps accuracy on long contexts while halving memory. '.repeat(6);

describe('extractDocument', () => {
  it('reads a PDF text layer and its title, authors, date and arXiv id from the metadata', async () => {
    const r = await extractDocument(await makePdf(BODY, { title: 'Four-bit KV caches', authors: ['Ada Lovelace', 'Alan Turing'], date: '2024-03-05', subject: 'arXiv:2401.01234' }), 'x.pdf');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.doc.format).toBe('pdf');
    expect(r.doc.text).toContain('Quantizing the key and value cache to four bits');
    expect(r.doc).toMatchObject({ title: 'Four-bit KV caches', authors: ['Ada Lovelace', 'Alan Turing'], year: 2024, arxivId: '2401.01234' });
  }, 60_000);

  it('refuses an encrypted, a corrupt and a scanned PDF, each with its reason', async () => {
    expect(await extractDocument(makeEncryptedPdf(), 'locked.pdf')).toEqual({ ok: false, reason: expect.stringMatching(/encrypted/) });
    expect(await extractDocument(enc('%PDF-1.7\n1 0 obj <<< broken'), 'bad.pdf')).toEqual({ ok: false, reason: expect.stringMatching(/corrupt PDF/) });
    expect(await extractDocument(await makeScannedPdf(), 'scan.pdf')).toEqual({ ok: false, reason: expect.stringMatching(/no text layer/) });
  }, 60_000);

  it('reads a DOCX with its first heading as the title', async () => {
    const r = await extractDocument(await makeDocx('Eviction of cache entries', [BODY]), 'paper.docx');
    expect(r.ok && r.doc).toMatchObject({ format: 'docx', title: 'Eviction of cache entries' });
    expect(r.ok && r.doc.text).toContain('halving memory');
  });

  it('keeps the article of an HTML page, not its navigation or footer, and reads the citation meta tags', async () => {
    const html = makeArticleHtml({ title: 'Paged attention for serving', authors: ['Woosuk Kwon'], doi: '10.1145/3600006.3613165', date: '2023/10/23', paragraphs: [BODY, BODY] });
    const r = await extractDocument(enc(html), 'page.html');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.doc).toMatchObject({ format: 'html', title: 'Paged attention for serving', authors: ['Woosuk Kwon'], doi: '10.1145/3600006.3613165', year: 2023 });
    expect(r.doc.text).toContain('halving memory');
    expect(r.doc.text).not.toMatch(/Cookie settings|Sign in/);
  });

  it('takes a Markdown title from its first heading and refuses binary and empty files', async () => {
    const r = await extractDocument(enc(`Intro line\n\n# Offloading the cache\n\n${BODY}`), 'notes.md');
    expect(r.ok && r.doc).toMatchObject({ format: 'markdown', title: 'Offloading the cache' });
    expect(await extractDocument(new Uint8Array([1, 2, 0, 3, 4]), 'x.txt')).toEqual({ ok: false, reason: expect.stringMatching(/binary/) });
    expect(await extractDocument(new Uint8Array(), 'x.txt')).toEqual({ ok: false, reason: 'empty file' });
    expect(await extractDocument(enc('tiny'), 'x.txt')).toEqual({ ok: false, reason: expect.stringMatching(/almost no text/) });
  });

  it('sniffs the format from the bytes before the name: a PDF called .txt is a PDF, HTML called .txt is HTML', async () => {
    expect(sniffFormat(await makePdf(BODY), 'misnamed.txt')).toBe('pdf');
    expect(sniffFormat(enc('<!doctype html><html><body>x</body></html>'), 'page.txt')).toBe('html');
    expect(sniffFormat(enc('plain words'), 'a.md')).toBe('markdown');
  });

  it('refuses an HTML page over the HTML size limit without parsing it', async () => {
    const big = enc(`<html><body><p>${'word '.repeat(5000)}</p></body></html>`);
    const r = await extractDocument(big, 'big.html', '', { maxBytes: 1 << 20, maxHtmlBytes: 10_000, minTextChars: 40, maxPdfPages: 10 });
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/over the .* limit for HTML/) });
  });
});

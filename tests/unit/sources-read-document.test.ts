/** `ask --doc` input reading: PDF, HTML and DOCX are extracted, text is read as before, unusable documents are refused with their reason. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDocument } from '../../cli/commands/sources.ts';
import { makeArticleHtml, makeDocx, makePdf, makeScannedPdf } from '../helpers/fake-docs.ts';

const dir = mkdtempSync(join(tmpdir(), 'llmxmr-readdoc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const put = (name: string, data: string | Uint8Array) => (writeFileSync(join(dir, name), data), join(dir, name));
const TEXT = 'The archive room code is 7319 and the pump runs at night. '.repeat(10);
const MB = 1024 * 1024;

describe('readDocument', () => {
  it('extracts the text of a PDF, an HTML page and a DOCX', async () => {
    expect(await readDocument(put('a.pdf', await makePdf(TEXT)), 8 * MB, '--max-input-mb')).toContain('archive room code is 7319');
    const html = await readDocument(put('a.html', makeArticleHtml({ title: 'Notes', paragraphs: [TEXT, TEXT] })), 8 * MB, '--max-input-mb');
    expect(html).toContain('archive room code is 7319');
    expect(html).not.toContain('Cookie settings');
    expect(await readDocument(put('a.docx', await makeDocx('Notes', [TEXT])), 8 * MB, '--max-input-mb')).toContain('archive room code is 7319');
  });

  it('sniffs a PDF saved as .txt, and reads plain text unchanged', async () => {
    expect(await readDocument(put('really-a-pdf.txt', await makePdf(TEXT)), 8 * MB, '--max-input-mb')).toContain('archive room code is 7319');
    expect(await readDocument(put('plain.txt', TEXT), 8 * MB, '--max-input-mb')).toBe(TEXT);
  });

  it('refuses a scanned PDF and a document over the size limit, naming the reason', async () => {
    await expect(readDocument(put('scan.pdf', await makeScannedPdf()), 8 * MB, '--max-input-mb')).rejects.toThrow(/cannot be used: the PDF has no text layer/);
    await expect(readDocument(put('big.pdf', await makePdf(TEXT.repeat(40))), 1000, '--max-input-mb')).rejects.toThrow(/the limit is 0\.0 MB \(raise it with --max-input-mb\)/);
  });
});

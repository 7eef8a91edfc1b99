/**
 * PDF text and metadata with pdfjs-dist (Mozilla's PDF.js, the legacy build that runs on Node).
 * Lines are rebuilt from the text items' end-of-line marks; the document information dictionary
 * gives title, author and date where the producer set them.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ExtractResult } from './extract.ts';
import { findArxivId, findDoi, findYear, splitAuthors } from './ids.ts';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let lib: Promise<PdfJs> | undefined;
// pdf.js is an ES module loaded on first use, through a small CommonJS file that is not bundled
// (esm-loader.cjs says why). Both paths are absolute, so it works from the sources and the bundle,
// which sits two folders below the repository root like this file.
const here = createRequire(import.meta.url);
const importEsm = here(join(dirname(fileURLToPath(import.meta.url)), '../../shared/sources/esm-loader.cjs')) as (url: string) => Promise<PdfJs>;
const pdfjs = () => (lib ??= importEsm(pathToFileURL(here.resolve('pdfjs-dist/legacy/build/pdf.mjs')).href));

/** A title in the info dictionary that names the file or the tool instead of the work is ignored. */
function usableTitle(t: unknown): string | undefined {
  const s = typeof t === 'string' ? t.replace(/\s+/g, ' ').trim() : '';
  if (s.length < 4 || /^(untitled|microsoft word|document\d*)\b|\.(pdf|docx?|tex|dvi)$/i.test(s)) return undefined;
  return s;
}

export async function extractPdf(bytes: Uint8Array, maxPages: number): Promise<ExtractResult> {
  const { getDocument } = await pdfjs();
  // pdf.js takes ownership of (detaches) the buffer it is given: hand it a copy.
  const task = getDocument({ data: new Uint8Array(bytes), verbosity: 0, isEvalSupported: false, useSystemFonts: false, stopAtErrors: false });
  let doc;
  try {
    doc = await task.promise;
  } catch (e) {
    const err = e as { name?: string; message?: string };
    await task.destroy().catch(() => undefined);
    if (err?.name === 'PasswordException') return { ok: false, reason: 'the PDF is encrypted with a password' };
    if (err?.name === 'InvalidPDFException') return { ok: false, reason: `corrupt PDF (${err.message ?? 'invalid structure'})` };
    return { ok: false, reason: `unreadable PDF (${err?.message ?? String(e)})` };
  }
  try {
    const info = ((await doc.getMetadata().catch(() => null))?.info ?? {}) as Record<string, unknown>;
    const pages: string[] = [];
    const n = Math.min(doc.numPages, maxPages);
    for (let i = 1; i <= n; i++) {
      const page = await doc.getPage(i);
      const content = await page.getTextContent();
      let line = '';
      const lines: string[] = [];
      for (const item of content.items as { str?: string; hasEOL?: boolean }[]) {
        if (typeof item.str !== 'string') continue;
        line += item.str;
        if (item.hasEOL) {
          lines.push(line.trimEnd());
          line = '';
        } else if (item.str && !item.str.endsWith(' ')) line += ' ';
      }
      if (line.trim()) lines.push(line.trimEnd());
      pages.push(lines.join('\n').replace(/[ \t]+/g, ' '));
      page.cleanup();
    }
    // Words hyphenated across lines are joined again.
    const text = pages.join('\n\n').replace(/(\p{Ll})-\n(\p{Ll})/gu, '$1$2').trim();
    const subject = typeof info.Subject === 'string' ? info.Subject : '';
    const keywords = typeof info.Keywords === 'string' ? info.Keywords : '';
    const opening = text.slice(0, 4000);
    return {
      ok: true,
      doc: {
        format: 'pdf',
        text,
        title: usableTitle(info.Title) ?? text.split('\n').map((l) => l.trim()).find((l) => l.length >= 8)?.slice(0, 200),
        authors: splitAuthors(typeof info.Author === 'string' ? info.Author : ''),
        year: findYear(typeof info.CreationDate === 'string' ? info.CreationDate.replace(/^D:/, '').slice(0, 4) : ''),
        doi: findDoi(`${subject} ${keywords}`) ?? findDoi(opening),
        arxivId: findArxivId(`${subject} ${keywords}`) ?? findArxivId(opening),
        ...(subject.length > 80 ? { abstract: subject } : {}),
      },
    };
  } finally {
    await doc.destroy().catch(() => undefined);
  }
}

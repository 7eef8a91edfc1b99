/**
 * Text out of a file's bytes, whatever its format: PDF (pdfjs-dist), HTML main text
 * (@mozilla/readability over linkedom's DOM), DOCX (mammoth), Markdown and plain text.
 * The format is sniffed from the bytes first (a PDF named .txt is still a PDF), the extension
 * only breaks ties. No file or network I/O: callers pass bytes. Unusable input is a reason,
 * never an exception: an encrypted, corrupt or scanned PDF, a binary file, an empty text.
 */
import { extractPdf } from './extract-pdf.ts';
import { extractHtml } from './extract-html.ts';
import { extractDocx } from './extract-docx.ts';

export type Format = 'pdf' | 'docx' | 'html' | 'markdown' | 'text';

/** What a file said about itself besides its text. */
export interface Extracted {
  format: Format;
  text: string;
  title?: string;
  authors?: string[];
  year?: number | null;
  doi?: string | null;
  arxivId?: string | null;
  url?: string | null;
  abstract?: string;
}

export type ExtractResult = { ok: true; doc: Extracted } | { ok: false; reason: string };

export const EXTRACT_LIMITS = {
  /** Bytes of one file of any format. */
  maxBytes: 64 * 1024 * 1024,
  /** Bytes of one HTML page (Readability builds a whole DOM). */
  maxHtmlBytes: 16 * 1024 * 1024,
  /** Characters of text that count as "has text" (a scanned PDF has none). */
  minTextChars: 40,
  /** PDF pages read (the opening holds abstract, method and results). */
  maxPdfPages: 400,
};

const EXT: Record<string, Format> = {
  pdf: 'pdf', docx: 'docx', html: 'html', htm: 'html', xhtml: 'html', md: 'markdown', markdown: 'markdown', txt: 'text', text: 'text',
};

export function formatOfName(name: string): Format | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return ext ? EXT[ext] : undefined;
}

/** The format the bytes are (magic numbers, then markup), with the name's extension as a hint. */
export function sniffFormat(bytes: Uint8Array, name = '', contentType = ''): Format | 'binary' | 'zip' {
  const head = Buffer.from(bytes.subarray(0, 1024));
  if (head.subarray(0, 5).toString('latin1') === '%PDF-' || head.indexOf('%PDF-') >= 0 && head.indexOf('%PDF-') < 1024) return 'pdf';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    // A ZIP: a DOCX holds word/document.xml (named near the start in practice; the name decides otherwise).
    const probe = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 1 << 20))).toString('latin1');
    return probe.includes('word/') || formatOfName(name) === 'docx' ? 'docx' : 'zip';
  }
  if (head.includes(0)) return 'binary';
  const start = head.toString('utf8').replace(/^\uFEFF/, '').trimStart().slice(0, 200).toLowerCase();
  if (/^<!doctype html|^<html[\s>]|^<head[\s>]|^<body[\s>]|^<\?xml[^>]*>\s*<html/.test(start) || /html/.test(contentType)) return 'html';
  const hinted = formatOfName(name);
  if (hinted === 'html') return 'html';
  if (hinted === 'markdown' || /markdown/.test(contentType)) return 'markdown';
  return 'text';
}

function textOf(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes).replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

function markdownTitle(text: string): string | undefined {
  const m = /^#\s+(.+?)\s*#*\s*$/m.exec(text);
  return m?.[1];
}

function firstLine(text: string): string | undefined {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.length >= 4);
  return line ? line.slice(0, 200) : undefined;
}

export async function extractDocument(bytes: Uint8Array, name = '', contentType = '', limits = EXTRACT_LIMITS): Promise<ExtractResult> {
  if (bytes.length === 0) return { ok: false, reason: 'empty file' };
  if (bytes.length > limits.maxBytes) return { ok: false, reason: `${(bytes.length / 1048576).toFixed(1)} MB is over the ${limits.maxBytes / 1048576} MB limit per file` };
  const format = sniffFormat(bytes, name, contentType);
  if (format === 'binary') return { ok: false, reason: 'binary file of no supported format (PDF, DOCX, HTML, Markdown, text)' };
  if (format === 'zip') return { ok: false, reason: 'a ZIP archive that is not a DOCX document' };
  let got: ExtractResult;
  if (format === 'pdf') got = await extractPdf(bytes, limits.maxPdfPages);
  else if (format === 'docx') got = await extractDocx(bytes);
  else if (format === 'html') {
    if (bytes.length > limits.maxHtmlBytes) return { ok: false, reason: `HTML page of ${(bytes.length / 1048576).toFixed(1)} MB is over the ${limits.maxHtmlBytes / 1048576} MB limit for HTML` };
    got = extractHtml(textOf(bytes));
  } else {
    const text = textOf(bytes).trim();
    got = { ok: true, doc: { format, text, title: (format === 'markdown' ? markdownTitle(text) : undefined) ?? firstLine(text) } };
  }
  if (!got.ok) return got;
  const chars = got.doc.text.replace(/\s+/g, '').length;
  if (chars < limits.minTextChars) {
    const why = format === 'pdf' ? 'the PDF has no text layer (a scanned document? no OCR is done)' : `almost no text (${chars} characters)`;
    return { ok: false, reason: why };
  }
  return got;
}

/**
 * Fixture documents written by the tests themselves: PDFs with a text layer and metadata
 * (pdf-lib), a PDF without text (a drawn rectangle, like a scan), a password-protected PDF
 * (a hand-built file with a standard security handler whose user password is not empty),
 * a DOCX (docx) and HTML pages.
 */
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { Document, Packer, Paragraph, HeadingLevel } from 'docx';

export interface PdfMeta {
  title?: string;
  authors?: string[];
  date?: string;
  /** Put in the Subject field, e.g. "doi:10.1234/x" or "arXiv:2503.14881". */
  subject?: string;
}

/** Lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const w of para.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + w.length > width) {
        out.push(line);
        line = w;
      } else line = line ? `${line} ${w}` : w;
    }
    out.push(line);
  }
  return out;
}

/** Characters the standard Helvetica font (WinAnsi) can draw; others become a space. */
const drawable = (s: string) => s.replace(/[^\x20-\x7e\u00a0-\u00ff\n]/g, ' ');

export async function makePdf(body: string, meta: PdfMeta = {}): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  if (meta.title) doc.setTitle(drawable(meta.title));
  if (meta.authors?.length) doc.setAuthor(drawable(meta.authors.join('; ')));
  if (meta.subject) doc.setSubject(drawable(meta.subject));
  if (meta.date) doc.setCreationDate(new Date(meta.date));
  const lines = wrap(drawable(body), 90);
  const perPage = 50;
  for (let i = 0; i < Math.max(1, lines.length); i += perPage) {
    const page = doc.addPage([612, 792]);
    lines.slice(i, i + perPage).forEach((l, j) => page.drawText(l, { x: 40, y: 750 - j * 14, size: 10, font }));
  }
  return doc.save();
}

/** A PDF whose one page holds only a drawn shape: no text layer, like a scanned page. */
export async function makeScannedPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle('Scanned page');
  const page = doc.addPage([612, 792]);
  page.drawRectangle({ x: 50, y: 50, width: 400, height: 600, borderWidth: 2 });
  return doc.save();
}

/** A PDF with a standard security handler whose user password is not empty (opening it needs a password). */
export function makeEncryptedPdf(): Uint8Array {
  const hex = (n: number, seed: number) => Array.from({ length: n }, (_, i) => ((i * 37 + seed) & 0xff).toString(16).padStart(2, '0')).join('');
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>',
    `<< /Filter /Standard /V 1 /R 2 /O <${hex(32, 11)}> /U <${hex(32, 91)}> /P -44 >>`,
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R /Encrypt 4 0 R /ID [<${hex(16, 3)}><${hex(16, 3)}>] >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out);
}

export async function makeDocx(title: string, paragraphs: string[]): Promise<Uint8Array> {
  const doc = new Document({
    creator: 'tests',
    title,
    sections: [{ children: [new Paragraph({ text: title, heading: HeadingLevel.HEADING_1 }), ...paragraphs.map((p) => new Paragraph({ text: p }))] }],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

/** An article page with scholarly meta tags, navigation and a footer around the main text. */
export function makeArticleHtml(o: { title: string; authors?: string[]; doi?: string; date?: string; paragraphs: string[] }): string {
  const meta = [
    `<meta name="citation_title" content="${o.title}">`,
    ...(o.authors ?? []).map((a) => `<meta name="citation_author" content="${a}">`),
    ...(o.doi ? [`<meta name="citation_doi" content="${o.doi}">`] : []),
    ...(o.date ? [`<meta name="citation_publication_date" content="${o.date}">`] : []),
  ].join('\n');
  return `<!DOCTYPE html><html><head><title>${o.title} | Example Press</title>${meta}</head><body>
<nav><a href="/">Home</a> <a href="/about">About us</a> <a href="/login">Sign in</a></nav>
<article><h1>${o.title}</h1>${o.paragraphs.map((p) => `<p>${p}</p>`).join('\n')}</article>
<footer>Copyright Example Press. Cookie settings. Terms of use.</footer></body></html>`;
}

/**
 * BibTeX and RIS entries that point at local PDFs (Zotero, JabRef and Mendeley exports): each
 * entry's metadata plus the file it names. Pure parsing; the local retriever reads the files.
 */
import { findArxivId, findDoi, findYear, splitAuthors } from './ids.ts';

export interface BibEntry {
  key: string;
  title?: string;
  authors: string[];
  year: number | null;
  doi: string | null;
  arxivId: string | null;
  url: string | null;
  abstract?: string;
  venue?: string;
  /** File paths the entry names (as written; relative to the .bib file's folder unless absolute). */
  files: string[];
}

function stripBraces(v: string): string {
  return v.replace(/[{}]/g, '').replace(/\\&/g, '&').replace(/\s+/g, ' ').trim();
}

/** A field value: {…} with nesting, "…", or a bare word/number. Returns [value, next index]. */
function readValue(s: string, i: number): [string, number] {
  while (/\s/.test(s[i] ?? '')) i++;
  if (s[i] === '{') {
    let depth = 0;
    const start = i;
    for (; i < s.length; i++) {
      if (s[i] === '{') depth++;
      else if (s[i] === '}' && --depth === 0) return [s.slice(start + 1, i), i + 1];
    }
    return [s.slice(start + 1), s.length];
  }
  if (s[i] === '"') {
    const end = s.indexOf('"', i + 1);
    return [s.slice(i + 1, end < 0 ? s.length : end), end < 0 ? s.length : end + 1];
  }
  const m = /^[^,}\s]+/.exec(s.slice(i));
  return [m ? m[0] : '', i + (m ? m[0].length : 0)];
}

/** The path part of a BibTeX file field: "Description:path/to.pdf:PDF" (Zotero, JabRef) or a bare path; several joined by ";". */
function bibFiles(v: string): string[] {
  return v
    .split(';')
    .map((f) => {
      const parts = f.split(':');
      // "desc:path:type" → path; a Windows drive ("C:\\…") keeps its colon.
      if (parts.length >= 3) return parts.slice(1, -1).join(':');
      return f;
    })
    .map((f) => f.replace(/\\:/g, ':').trim())
    .filter(Boolean);
}

export function parseBibtex(text: string): BibEntry[] {
  const out: BibEntry[] = [];
  const at = /@(\w+)\s*\{\s*([^,\s]*)\s*,/g;
  let m: RegExpExecArray | null;
  while ((m = at.exec(text))) {
    if (/^(comment|preamble|string)$/i.test(m[1])) continue;
    const fields: Record<string, string> = {};
    let i = at.lastIndex;
    for (;;) {
      const f = /^\s*,?\s*([\w-]+)\s*=\s*/.exec(text.slice(i, i + 200));
      if (!f) break;
      const [value, next] = readValue(text, i + f[0].length);
      fields[f[1].toLowerCase()] = value;
      i = next;
    }
    at.lastIndex = i;
    const doi = findDoi(fields.doi ?? '');
    out.push({
      key: m[2],
      ...(fields.title ? { title: stripBraces(fields.title) } : {}),
      authors: splitAuthors(stripBraces(fields.author ?? '')),
      year: findYear(fields.year ?? fields.date ?? ''),
      doi,
      arxivId: findArxivId(fields.eprint ? `arXiv:${fields.eprint}` : fields.url ?? ''),
      url: fields.url ? stripBraces(fields.url) : null,
      ...(fields.abstract ? { abstract: stripBraces(fields.abstract) } : {}),
      ...(fields.journal || fields.booktitle ? { venue: stripBraces(fields.journal ?? fields.booktitle) } : {}),
      files: fields.file ? bibFiles(fields.file) : fields.pdf ? [fields.pdf.trim()] : [],
    });
  }
  return out;
}

/** RIS: "TY  - JOUR" … "ER  -"; files in L1 (or UR when it names a .pdf), file:// URLs decoded. */
export function parseRis(text: string): BibEntry[] {
  const out: BibEntry[] = [];
  let cur: Record<string, string[]> | null = null;
  const flush = () => {
    if (!cur) return;
    const one = (k: string) => cur![k]?.[0];
    const files = [...(cur.L1 ?? []), ...(cur.UR ?? []).filter((u) => /\.pdf$/i.test(u) && !/^https?:/i.test(u))].map((f) =>
      f.startsWith('file://') ? decodeURIComponent(f.replace(/^file:\/\//, '')) : f,
    );
    const url = (cur.UR ?? []).find((u) => /^https?:/i.test(u)) ?? null;
    out.push({
      key: one('ID') ?? `ris${out.length + 1}`,
      ...((one('TI') ?? one('T1')) ? { title: (one('TI') ?? one('T1'))! } : {}),
      authors: [...(cur.AU ?? []), ...(cur.A1 ?? [])].flatMap((a) => splitAuthors(a)),
      year: findYear(one('PY') ?? one('Y1') ?? one('DA') ?? ''),
      doi: findDoi(one('DO') ?? ''),
      arxivId: findArxivId(url ?? ''),
      url,
      ...(one('AB') ? { abstract: one('AB')! } : {}),
      ...((one('JO') ?? one('T2')) ? { venue: (one('JO') ?? one('T2'))! } : {}),
      files,
    });
    cur = null;
  };
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z][A-Z0-9])\s{1,2}-\s?(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'TY') {
      flush();
      cur = {};
    } else if (m[1] === 'ER') flush();
    else if (cur) (cur[m[1]] ??= []).push(m[2].trim());
  }
  flush();
  return out;
}

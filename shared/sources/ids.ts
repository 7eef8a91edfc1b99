/** Identifiers a source may carry, found in metadata or text: DOI, arXiv id, a comparable title. */
import { createHash } from 'node:crypto';

const DOI = /\b(10\.\d{4,9}\/[^\s"'<>{}]+)/i;
const ARXIV_NEW = /\barxiv(?:\.org\/(?:abs|pdf)\/|:\s*)(\d{4}\.\d{4,5})(v\d+)?/i;

/** A DOI in lower case without a trailing period or bracket, or null. */
export function findDoi(text: string | null | undefined): string | null {
  const m = DOI.exec(text ?? '');
  return m ? m[1].replace(/[.,;:)\]]+$/, '').toLowerCase() : null;
}

/** An arXiv id ("2503.14881", version dropped) named as arXiv:…, or in an arxiv.org URL, or alone. */
export function findArxivId(text: string | null | undefined): string | null {
  const s = text ?? '';
  const m = ARXIV_NEW.exec(s);
  if (m) return m[1];
  const bare = /^\s*(\d{4}\.\d{4,5})(v\d+)?\s*$/.exec(s);
  return bare ? bare[1] : null;
}

/** Lower case, letters and digits only, single spaces: two spellings of one title compare equal. */
export function normaliseTitle(title: string): string {
  return title.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** The first plausible publication year (1900–2100) in a string. */
export function findYear(text: string | null | undefined): number | null {
  const m = /\b(19\d\d|20\d\d|2100)\b/.exec(text ?? '');
  return m ? Number(m[1]) : null;
}

/** Split an author field: "A; B", "A and B", "A, B, C", "Last, First and Other, Name" (BibTeX). */
export function splitAuthors(field: string | null | undefined): string[] {
  const s = (field ?? '').replace(/\s+/g, ' ').trim();
  if (!s) return [];
  // "A and B", "A; B", or "A, B, C" (two commas or more: a plain list, not "Last, First").
  const parts = /\band\b/.test(s) ? s.split(/\s+and\s+/) : s.includes(';') ? s.split(/\s*;\s*/) : (s.match(/,/g)?.length ?? 0) >= 2 ? s.split(/\s*,\s*/) : [s];
  return parts
    .map((p) => {
      const t = p.trim().replace(/^[{"]+|[}"]+$/g, '');
      // "Last, First" (one comma) becomes "First Last".
      const c = t.split(/\s*,\s*/);
      return c.length === 2 && c[1] ? `${c[1]} ${c[0]}` : t;
    })
    .filter(Boolean);
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

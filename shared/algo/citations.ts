/**
 * Citations: the inline syntax is `[@P012]` or `[@P012; @P003]`. Finding them skips fenced
 * code, inline code and `$…$` / `$$…$$` math, so brackets there are never touched. Unknown
 * keys are dropped and counted; numbering is by first appearance ([1], [1, 3]); the reference
 * list holds the cited sources only, optionally as BibTeX. Pure: no I/O.
 */

interface Range {
  start: number;
  end: number;
}

/** Ranges of fenced code, inline code and math, in order; brackets inside are left alone. */
export function protectedRanges(text: string): Range[] {
  const out: Range[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const atLineStart = i === 0 || text[i - 1] === '\n';
    if (atLineStart) {
      const f = /^ {0,3}(`{3,}|~{3,})[^\n]*/.exec(text.slice(i, i + 200));
      if (f) {
        const mark = f[1];
        const closeRe = new RegExp(`\\n {0,3}${mark[0] === '`' ? '`' : '~'}{${mark.length},}[ \\t]*(?=\\n|$)`, 'g');
        closeRe.lastIndex = i + f[0].length;
        const c = closeRe.exec(text);
        const end = c ? c.index + c[0].length : n;
        out.push({ start: i, end });
        i = end;
        continue;
      }
    }
    const ch = text[i];
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === '`') {
      let run = 1;
      while (text[i + run] === '`') run++;
      // A code span closes with a run of the same length within its paragraph (LaTeX quotes
      // such as ``this'' must not swallow the text up to the next pair of backticks).
      const ticks = '`'.repeat(run);
      const para = text.indexOf('\n\n', i);
      const limit = para < 0 ? n : para;
      let j = text.indexOf(ticks, i + run);
      while (j >= 0 && j < limit && (text[j + run] === '`' || text[j - 1] === '`')) j = text.indexOf(ticks, j + 1);
      if (j >= 0 && j < limit) {
        out.push({ start: i, end: j + run });
        i = j + run;
      } else i += run;
      continue;
    }
    if (ch === '$') {
      if (text[i + 1] === '$') {
        const j = text.indexOf('$$', i + 2);
        if (j >= 0) {
          out.push({ start: i, end: j + 2 });
          i = j + 2;
          continue;
        }
        i += 2;
        continue;
      }
      // Inline math: "$x$" opens on a non-space and closes on a non-space within the paragraph,
      // and the closing $ is not followed by a digit (so "$5 and $10" is not math).
      if (text[i + 1] && !/\s/.test(text[i + 1])) {
        let j = i + 1;
        let end = -1;
        while (j < n) {
          if (text[j] === '\\') {
            j += 2;
            continue;
          }
          if (text[j] === '\n' && text[j + 1] === '\n') break;
          if (text[j] === '$') {
            if (!/\s/.test(text[j - 1]) && !/\d/.test(text[j + 1] ?? '')) end = j + 1;
            break;
          }
          j++;
        }
        if (end > 0) {
          out.push({ start: i, end });
          i = end;
          continue;
        }
      }
    }
    i++;
  }
  return out;
}

export interface CitationMark {
  start: number;
  end: number;
  keys: string[];
}

const CITE = /\[\s*@[\w:.\-]+(?:\s*[;,]\s*@?[\w:.\-]+)*\s*\](?!\()/g;

/** Every citation bracket outside code and math, with its keys in written order. */
export function findCitations(text: string): CitationMark[] {
  const prot = protectedRanges(text);
  const out: CitationMark[] = [];
  let p = 0;
  for (const m of text.matchAll(CITE)) {
    const start = m.index!;
    const end = start + m[0].length;
    while (p < prot.length && prot[p].end <= start) p++;
    if (p < prot.length && prot[p].start < end) continue;
    const keys = m[0]
      .slice(1, -1)
      .split(/[;,]/)
      .map((k) => k.trim().replace(/^@/, '').replace(/[.:\-]+$/, ''))
      .filter(Boolean);
    out.push({ start, end, keys });
  }
  return out;
}

/** Distinct cited keys in order of first appearance. */
export function citedKeys(text: string): string[] {
  return [...new Set(findCitations(text).flatMap((c) => c.keys))];
}

function rewrite(text: string, marks: CitationMark[], render: (m: CitationMark) => string): string {
  let out = '';
  let last = 0;
  for (const m of marks) {
    let start = m.start;
    const repl = render(m);
    // An emptied bracket takes the spaces before it along.
    if (!repl) while (start > last && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
    out += text.slice(last, start) + repl;
    last = m.end;
  }
  return out + text.slice(last);
}

/** Drop citation keys that `isKnown` rejects (and brackets left empty); report the dropped keys. */
export function filterCitations(text: string, isKnown: (key: string) => boolean): { text: string; dropped: string[] } {
  const dropped: string[] = [];
  const out = rewrite(text, findCitations(text), (m) => {
    const keep = [...new Set(m.keys.filter((k) => (isKnown(k) ? true : (dropped.push(k), false))))];
    return keep.length ? `[${keep.map((k) => `@${k}`).join('; ')}]` : '';
  });
  return { text: out, dropped };
}

export interface Numbered {
  text: string;
  /** Cited keys in order of first appearance: key `order[i]` is number i + 1. */
  order: string[];
  /** Unknown keys removed (one entry per occurrence). */
  dropped: string[];
  /** Citation brackets written (after merging adjacent ones). */
  marks: number;
}

/**
 * Replace citations by numbers in order of first appearance; adjacent brackets separated only
 * by spaces merge into one ("[@P2] [@P1]" → "[1, 2]"); numbers in a bracket are ascending.
 */
export function numberCitations(text: string, isKnown: (key: string) => boolean): Numbered {
  const dropped: string[] = [];
  const numbers = new Map<string, number>();
  const runs: CitationMark[] = [];
  for (const m of findCitations(text)) {
    const prev = runs[runs.length - 1];
    if (prev && /^[ \t]*$/.test(text.slice(prev.end, m.start))) {
      prev.end = m.end;
      prev.keys.push(...m.keys);
    } else runs.push({ ...m, keys: [...m.keys] });
  }
  let marks = 0;
  const out = rewrite(text, runs, (m) => {
    const nums: number[] = [];
    for (const k of m.keys) {
      if (!isKnown(k)) {
        dropped.push(k);
        continue;
      }
      if (!numbers.has(k)) numbers.set(k, numbers.size + 1);
      nums.push(numbers.get(k)!);
    }
    const uniq = [...new Set(nums)].sort((a, b) => a - b);
    if (uniq.length) marks++;
    return uniq.length ? `[${uniq.join(', ')}]` : '';
  });
  // A mark a cut-off reply left open ("… papers [@P001;") cites nothing: remove it.
  const closed = out.replace(/\[\s*@[\w:.\-;,@\s]*$/gm, '').replace(/[ \t]+$/gm, '');
  return { text: closed, order: [...numbers.keys()], dropped, marks };
}

export interface RefSource {
  id: string;
  title: string;
  authors: string[];
  year: number | null;
  url: string | null;
  venue?: string | null;
  arxivId?: string | null;
  doi?: string | null;
}

export interface Reference extends RefSource {
  number: number;
}

/** The references for the numbered keys, in number order (keys without a source are skipped). */
export function referenceList(order: readonly string[], sources: ReadonlyMap<string, RefSource>): Reference[] {
  return order.flatMap((id, i) => {
    const s = sources.get(id);
    if (!s) return [];
    const { title, authors, year, url, venue = null, arxivId = null, doi = null } = s;
    return [{ number: i + 1, id, title, authors, year, url, venue, arxivId, doi }];
  });
}

function authorLine(authors: readonly string[]): string {
  if (authors.length === 0) return '';
  if (authors.length <= 3) return authors.join(', ');
  return `${authors.slice(0, 3).join(', ')} et al.`;
}

function escapeMd(s: string): string {
  return s.replace(/([\\`*_\[\]<>])/g, '\\$1');
}

/** "[3] A. Author, B. Author et al. (2025). *Title*. venue. url" lines. */
export function renderReferences(refs: readonly Reference[]): string {
  return refs
    .map((r) => {
      const parts = [`[${r.number}]`];
      const who = authorLine(r.authors);
      if (who) parts.push(`${escapeMd(who)}${r.year ? ` (${r.year}).` : '.'}`);
      else if (r.year) parts.push(`(${r.year}).`);
      parts.push(`*${escapeMd(r.title)}*.`);
      if (r.venue) parts.push(`${escapeMd(r.venue)}.`);
      if (r.url) parts.push(`<${r.url}>`);
      return parts.join(' ');
    })
    .join('\n\n');
}

function bibEscape(s: string): string {
  return s.replace(/([{}&%$#_])/g, '\\$1');
}

/** BibTeX entries (@article for arXiv-style sources, @misc otherwise) with unique readable keys. */
export function toBibtex(refs: readonly Reference[]): string {
  const used = new Map<string, number>();
  return refs
    .map((r) => {
      const last = (r.authors[0] ?? 'anon').split(/\s+/).pop()!.toLowerCase().normalize('NFKD').replace(/[^a-z]/g, '') || 'anon';
      const word = (r.title.toLowerCase().match(/[a-z]{4,}/) ?? ['work'])[0];
      const base = `${last}${r.year ?? ''}${word}`;
      const k = used.get(base) ?? 0;
      used.set(base, k + 1);
      const key = k === 0 ? base : `${base}${String.fromCharCode(97 + ((k - 1) % 26))}${k > 26 ? k : ''}`;
      const fields: [string, string | null | undefined][] = [
        ['title', `{${bibEscape(r.title)}}`],
        ['author', r.authors.length ? `{${r.authors.map(bibEscape).join(' and ')}}` : null],
        ['year', r.year ? `{${r.year}}` : null],
        ['journal', r.venue ? `{${bibEscape(r.venue)}}` : r.arxivId ? `{arXiv preprint arXiv:${r.arxivId}}` : null],
        ['doi', r.doi ? `{${r.doi}}` : null],
        ['url', r.url ? `{${r.url}}` : null],
        ['note', `{Source ${r.id}}`],
      ];
      const body = fields
        .filter(([, v]) => v)
        .map(([f, v]) => `  ${f} = ${v}`)
        .join(',\n');
      return `@${r.venue || r.arxivId ? 'article' : 'misc'}{${key},\n${body}\n}`;
    })
    .join('\n\n');
}

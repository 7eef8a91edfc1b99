/**
 * The V2 input record (one JSON object: a survey title and its papers) and its preparation:
 * validation per paper, opaque ids P001…, metadata for the references, limits.
 *
 * Decisions:
 * - A paper without usable text is skipped and reported; the rest of the record goes on. The
 *   text is `txt`, or the abstract when `txt` is empty (recorded as `textSource: 'abstract'`).
 * - A paper whose text is longer than `maxPaperChars` is truncated at a paragraph or sentence
 *   boundary before the limit and reported in `truncated` (digests read long papers chunk by
 *   chunk, so a limit this high only cuts text dumps, and the opening keeps abstract, method
 *   and results). More than `maxPapers` papers rejects the whole record with a clear error.
 * - Papers with equal titles stay distinct: ids are opaque and given in input order.
 */
import { z } from 'zod';
import { kindOf, plainIssue } from './issues.ts';

export const V2_INPUT_LIMITS = {
  /** Papers in one record. */
  maxPapers: 5000,
  /** Characters of one paper's text (2 MB); longer texts are truncated with a note. */
  maxPaperChars: 2_000_000,
  /** Characters of the whole record as text (below V8's string limit). */
  maxInputChars: 400_000_000,
  maxTitleChars: 500,
  /** Characters of the abstract kept for prompts. */
  maxAbstractChars: 3000,
};
export type V2InputLimits = typeof V2_INPUT_LIMITS;

const str = z.string().nullish();
export const V2PaperSchema = z
  .object({
    title: z.string({ error: 'the paper has no title' }),
    abstract: str,
    txt: str,
    url: str,
    authors: z.union([z.array(z.string()), z.string()]).nullish(),
    date: str,
    year: z.union([z.number(), z.string()]).nullish(),
    arxiv_id: str,
    doi: str,
    venue: str,
  })
  .passthrough();
export type V2Paper = z.infer<typeof V2PaperSchema>;

export const V2InputSchema = z
  .object({
    title: z.string().trim().min(1, 'the survey title is empty'),
    papers: z.array(z.unknown()),
  })
  .passthrough();
export type V2Input = z.infer<typeof V2InputSchema>;

export interface PreparedPaper {
  id: string;
  /** Position in the input's papers array. */
  index: number;
  title: string;
  abstract: string;
  authors: string[];
  url: string | null;
  year: number | null;
  venue: string | null;
  arxivId: string | null;
  doi: string | null;
  textChars: number;
  textSource: 'txt' | 'abstract';
}

export interface SkippedPaper {
  index: number;
  title: string;
  reason: string;
}

export interface TruncatedPaper {
  id: string;
  title: string;
  originalChars: number;
  keptChars: number;
}

export interface PreparedInput {
  title: string;
  papers: PreparedPaper[];
  /** Cleaned texts, parallel to `papers`. */
  texts: string[];
  skipped: SkippedPaper[];
  truncated: TruncatedPaper[];
}

export class V2InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'V2InputError';
  }
}

/** Parse the stored record: one JSON object (a one-line JSONL file is fine). */
export function parseInputText(text: string, limits: V2InputLimits = V2_INPUT_LIMITS): unknown {
  if (text.length > limits.maxInputChars)
    throw new V2InputError(`the input is ${text.length} characters; the limit is ${limits.maxInputChars}`);
  const body = text.trim();
  if (!body) throw new V2InputError('the input is empty');
  try {
    return JSON.parse(body);
  } catch (e) {
    const lines = body.split('\n').filter((l) => l.trim());
    if (lines.length > 1) {
      const ok = lines.every((l) => {
        try {
          JSON.parse(l);
          return true;
        } catch {
          return false;
        }
      });
      if (ok) throw new V2InputError(`the input holds ${lines.length} records; submit one survey (one JSON object) per job`);
    }
    throw new V2InputError(`the input is not valid JSON${jsonErrorPlace(body, (e as Error).message)}: ${(e as Error).message}`);
  }
}

/** " at line L, column C" for a JSON.parse error that gives a position. */
function jsonErrorPlace(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m || /\(line \d+/.test(message)) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  return ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}

const RECORD_SHAPE = '{"title": ..., "papers": [{"title": ..., "txt": ...}, ...]}';

/** Why an item of `papers` is not a paper, when it is not even an object. */
function notAPaper(item: unknown, index: number): string | undefined {
  if (Array.isArray(item)) return `papers[${index}]: found an array, expected an object {"title": ..., "txt": ...} (are the papers nested in an extra array?)`;
  if (item === null || typeof item !== 'object') return `papers[${index}]: expected an object {"title": ..., "txt": ...}, found ${kindOf(item)}`;
  return undefined;
}

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

function clean(s: string): string {
  return s.replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

function oneLine(s: string | null | undefined): string {
  return clean(s ?? '').replace(/\s+/g, ' ').trim();
}

/** Remove a trailing "References" / "Bibliography" section (Markdown heading up to the next one). */
export function stripReferenceSection(text: string): string {
  const m = /^(#{1,3})[ \t]*(?:\d+\.?[ \t]*)?(references|bibliography|works cited)[ \t]*$/im.exec(text);
  if (!m || m.index < text.length * 0.3) return text;
  const rest = text.slice(m.index + m[0].length);
  const next = new RegExp(`^#{1,${m[1].length}}[ \\t]`, 'm').exec(rest);
  return (text.slice(0, m.index) + (next ? rest.slice(next.index) : '')).trimEnd();
}

/** Cut `text` to at most `max` characters at a paragraph, else sentence, else word boundary. */
export function cutAt(text: string, max: number): string {
  if (text.length <= max) return text;
  const window = text.slice(0, max);
  const floor = Math.floor(max * 0.8);
  const para = window.lastIndexOf('\n\n');
  if (para >= floor) return window.slice(0, para);
  const sent = Math.max(window.lastIndexOf('. '), window.lastIndexOf('.\n'));
  if (sent >= floor) return window.slice(0, sent + 1);
  const space = window.lastIndexOf(' ');
  return space >= floor ? window.slice(0, space) : window;
}

/** Character ranges of at most `maxChars` that cover the text, cut at natural boundaries. */
export function textChunks(text: string, maxChars: number): { start: number; end: number }[] {
  if (!(maxChars >= 100)) throw new Error(`chunk size must be at least 100 characters, got ${maxChars}`);
  const out: { start: number; end: number }[] = [];
  let start = 0;
  while (start < text.length) {
    // One character past the limit, so cutAt sees that the piece is too long and cuts it.
    const piece = cutAt(text.slice(start, start + maxChars + 1), maxChars);
    const end = start + Math.max(1, piece.length);
    out.push({ start, end });
    start = end;
  }
  return out.length ? out : [{ start: 0, end: 0 }];
}

function authorsOf(a: V2Paper['authors']): string[] {
  const list = typeof a === 'string' ? a.split(/\s*(?:;|,|\band\b)\s*/) : (a ?? []);
  return list.map(oneLine).filter(Boolean);
}

function yearOf(p: V2Paper): number | null {
  const cands = [p.year, p.date].map((v) => String(v ?? ''));
  for (const c of cands) {
    const m = /\b(1[89]\d\d|20\d\d|2100)\b/.exec(c);
    if (m) return Number(m[1]);
  }
  return null;
}

function urlOf(p: V2Paper): string | null {
  const u = oneLine(p.url);
  if (/^https?:\/\/\S+$/i.test(u)) return u;
  const ax = oneLine(p.arxiv_id);
  if (/^[\w.\/-]+$/.test(ax)) return `https://arxiv.org/abs/${ax}`;
  const doi = oneLine(p.doi);
  if (/^10\.\S+$/.test(doi)) return `https://doi.org/${doi}`;
  return null;
}

/** Id width: P001 for up to 999 papers, P0001 beyond. */
export function paperId(n: number, total: number): string {
  return `P${String(n).padStart(Math.max(3, String(total).length), '0')}`;
}

/**
 * Validate and normalise a parsed record; see the decisions at the top of this file.
 * `firstIndex`: position of papers[0] in the whole record (a streamed record is prepared one paper at a time).
 */
export function prepareInput(raw: unknown, limits: V2InputLimits = V2_INPUT_LIMITS, firstIndex = 0): PreparedInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new V2InputError(`the record is not a survey: found ${kindOf(raw)}, expected an object ${RECORD_SHAPE}`);
  }
  const rec = V2InputSchema.safeParse(raw);
  if (!rec.success) {
    const why = rec.error.issues.map((i) => plainIssue(i, raw)).join('; ');
    throw new V2InputError(`the input record is invalid: ${why}`);
  }
  const { papers } = rec.data;
  if (papers.length > limits.maxPapers)
    throw new V2InputError(`the input has ${papers.length} papers; the limit is ${limits.maxPapers} (split the collection)`);
  const skipped: SkippedPaper[] = [];
  const kept: { p: V2Paper; index: number; title: string; text: string; source: 'txt' | 'abstract'; abstract: string }[] = [];
  papers.forEach((item, i) => {
    const index = firstIndex + i;
    const parsed = V2PaperSchema.safeParse(item);
    const rawTitle = typeof (item as { title?: unknown } | null)?.title === 'string' ? (item as { title: string }).title : '';
    if (!parsed.success) {
      const why = notAPaper(item, index) ?? parsed.error.issues.map((i) => plainIssue(i, item, ['papers', index])).join('; ');
      skipped.push({ index, title: oneLine(rawTitle), reason: why });
      return;
    }
    const p = parsed.data;
    const title = oneLine(p.title);
    if (!title) {
      skipped.push({ index, title: '', reason: 'the paper has an empty title' });
      return;
    }
    const txt = clean(p.txt ?? '').trim();
    const abs = clean(p.abstract ?? '').trim();
    if (!txt && !abs) {
      skipped.push({ index, title, reason: 'no text: both txt and abstract are missing or empty' });
      return;
    }
    kept.push({ p, index, title, text: txt || abs, source: txt ? 'txt' : 'abstract', abstract: abs });
  });
  const truncated: TruncatedPaper[] = [];
  const out: PreparedPaper[] = [];
  const texts: string[] = [];
  kept.forEach((k, i) => {
    const id = paperId(i + 1, kept.length);
    let text = k.source === 'txt' ? stripReferenceSection(k.text) : k.text;
    if (text.length > limits.maxPaperChars) {
      const cut = cutAt(text, limits.maxPaperChars);
      truncated.push({ id, title: k.title, originalChars: text.length, keptChars: cut.length });
      text = cut;
    }
    const title = k.title.length > limits.maxTitleChars ? `${cutAt(k.title, limits.maxTitleChars - 1)}…` : k.title;
    const abstract = oneLine(k.abstract ? cutAt(k.abstract, limits.maxAbstractChars) : cutAt(text, 1200));
    out.push({
      id,
      index: k.index,
      title,
      abstract,
      authors: authorsOf(k.p.authors),
      url: urlOf(k.p),
      year: yearOf(k.p),
      venue: oneLine(k.p.venue) || null,
      arxivId: oneLine(k.p.arxiv_id) || null,
      doi: oneLine(k.p.doi) || null,
      textChars: text.length,
      textSource: k.source,
    });
    texts.push(text);
  });
  return { title: oneLine(rec.data.title).slice(0, limits.maxTitleChars), papers: out, texts, skipped, truncated };
}

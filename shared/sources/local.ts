/**
 * The local retriever: folders, files and globs given to `--sources`. PDF, DOCX, HTML, Markdown
 * and text files are extracted; BibTeX/RIS entries bring their metadata to the PDFs they name
 * (those PDFs are not read twice); a JSONL record (today's `--input` format) adds its papers.
 * Every file it cannot use is skipped with its reason; size limits are checked before reading.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { extractDocument, formatOfName, EXTRACT_LIMITS, type Extracted } from './extract.ts';
import { parseBibtex, parseRis, type BibEntry } from './bib.ts';
import { sha256Hex } from './ids.ts';
import type { Retrieved, Retriever, SkippedSource, SourceDoc } from './types.ts';

export interface LocalOptions {
  limits?: typeof EXTRACT_LIMITS;
  /** Clock for retrieved-at (tests). */
  now?: () => Date;
  /** Called once per skipped source (the CLI prints it on stderr). */
  onSkip?: (s: SkippedSource) => void;
}

const WILDCARD = /[*?[{]/;

/** A glob ("papers/**\/*.pdf", "notes/*.{md,txt}", "p/00[0-3].pdf") as a regular expression over '/'-separated paths. */
export function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{' && glob.indexOf('}', i) > i) {
      const end = glob.indexOf('}', i);
      re += `(?:${glob.slice(i + 1, end).split(',').map((s) => s.replace(/[.+^$()|\\]/g, '\\$&')).join('|')})`;
      i = end;
    } else if (c === '[' && glob.indexOf(']', i + 2) > 0) {
      // A character class: [abc], [0-9], [!x] (negated).
      const end = glob.indexOf(']', i + 2);
      const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
      re += `[${body}]`;
      i = end;
    } else re += /[.+^$()|\\[\]{}]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The files one `--sources` value names, and the folder provenance paths are relative to. */
export function expandSpec(spec: string): { base: string; files: string[]; problem?: string } {
  if (existsSync(spec)) {
    const st = statSync(spec);
    if (st.isFile()) return { base: dirname(spec), files: [spec] };
    const files = walk(spec);
    return { base: spec, files, ...(files.length ? {} : { problem: 'the folder holds no files' }) };
  }
  if (!WILDCARD.test(spec)) return { base: spec, files: [], problem: 'no such file or folder' };
  const parts = spec.split(/[\\/]/);
  const fixed = parts.slice(0, parts.findIndex((p) => WILDCARD.test(p)));
  const base = fixed.length ? fixed.join('/') || '/' : '.';
  if (!existsSync(base)) return { base, files: [], problem: 'no file matches' };
  const re = globRegex(spec.split(sep).join('/').replace(/^\.\//, ''));
  const files = walk(base).filter((f) => re.test(f.split(sep).join('/').replace(/^\.\//, '')));
  return { base, files, ...(files.length ? {} : { problem: 'no file matches' }) };
}

function docOf(x: Extracted, fallbackTitle: string, prov: SourceDoc['provenance'], meta?: BibEntry): SourceDoc {
  const doi = meta?.doi ?? x.doi ?? null;
  const arxivId = meta?.arxivId ?? x.arxivId ?? null;
  return {
    title: meta?.title ?? x.title ?? fallbackTitle,
    text: x.text,
    ...((meta?.abstract ?? x.abstract) ? { abstract: meta?.abstract ?? x.abstract } : {}),
    authors: meta?.authors.length ? meta.authors : (x.authors ?? []),
    year: meta?.year ?? x.year ?? null,
    doi,
    arxivId,
    url: meta?.url ?? x.url ?? null,
    venue: meta?.venue ?? null,
    provenance: { ...prov, ...(doi ? { doi } : {}), ...(arxivId ? { arxivId } : {}) },
  };
}

const stem = (p: string) => p.split(/[\\/]/).pop()!.replace(/\.[^.]+$/, '').replace(/[_-]+/g, ' ');

/** Papers of a JSONL record (the first line), as sources. */
function jsonlDocs(text: string, rel: string, sha: string, at: string): { docs: SourceDoc[]; problem?: string } {
  const line = text.split('\n').find((l) => l.trim());
  if (!line) return { docs: [], problem: 'empty JSONL file' };
  let rec: { papers?: unknown };
  try {
    rec = JSON.parse(line);
  } catch (e) {
    return { docs: [], problem: `not valid JSON on line 1 (${(e as Error).message})` };
  }
  const papers = Array.isArray(rec?.papers) ? (rec.papers as Record<string, any>[]) : [];
  const docs = papers.flatMap((p): SourceDoc[] => {
    const title = typeof p?.title === 'string' ? p.title.trim() : '';
    const text = typeof p?.txt === 'string' && p.txt.trim() ? p.txt : typeof p?.abstract === 'string' ? p.abstract : '';
    if (!title || !text.trim()) return [];
    const authors = Array.isArray(p.authors) ? p.authors.map(String) : typeof p.authors === 'string' ? p.authors.replace(/^\[|\]$/g, '').split(/',\s*'|",\s*"/).map((a: string) => a.replace(/^['"]|['"]$/g, '')).filter(Boolean) : [];
    const year = Number(/\b(19|20)\d\d\b/.exec(String(p.year ?? p.date ?? ''))?.[0]) || null;
    return [{ title, text, ...(p.abstract ? { abstract: String(p.abstract) } : {}), authors, year, doi: p.doi ?? null, arxivId: p.arxiv_id ?? null, url: p.url ?? null, venue: p.venue ?? null,
      provenance: { origin: 'jsonl', path: rel, ...(p.url ? { url: String(p.url) } : {}), retrievedAt: at, sha256: sha, format: 'jsonl' } }];
  });
  return { docs, ...(papers.length ? {} : { problem: 'the JSONL record has no papers' }) };
}

export async function collectLocal(specs: readonly string[], opts: LocalOptions = {}): Promise<Retrieved> {
  const limits = opts.limits ?? EXTRACT_LIMITS;
  const now = opts.now ?? (() => new Date());
  const docs: SourceDoc[] = [];
  const skipped: SkippedSource[] = [];
  const skip = (source: string, reason: string) => {
    const s = { source, reason };
    skipped.push(s);
    opts.onSkip?.(s);
  };
  let found = 0;
  const seen = new Set<string>();
  for (const spec of specs) {
    const { base, files, problem } = expandSpec(spec);
    if (problem) skip(spec, problem);
    const rel = (f: string) => relative(base, f).split(sep).join('/') || f.split(sep).pop()!;
    const fresh = files.filter((f) => !seen.has(resolve(f)));
    fresh.forEach((f) => seen.add(resolve(f)));
    // Bibliographies first: the PDFs they name are read once, with the entry's metadata.
    const claimed = new Map<string, { entry: BibEntry; bib: string }[]>();
    for (const f of fresh.filter((f) => /\.(bib|ris)$/i.test(f))) {
      found++;
      let entries: BibEntry[];
      try {
        const text = readFileSync(f, 'utf8');
        entries = /\.bib$/i.test(f) ? parseBibtex(text) : parseRis(text);
      } catch (e) {
        skip(rel(f), `unreadable bibliography (${(e as Error).message})`);
        continue;
      }
      if (!entries.length) skip(rel(f), 'the bibliography holds no entries');
      for (const entry of entries) {
        const file = entry.files.map((p) => (isAbsolute(p) ? p : join(dirname(f), p))).find((p) => /\.pdf$/i.test(p) || existsSync(p));
        if (!file || !existsSync(file)) {
          skip(`${rel(f)}#${entry.key}`, file ? `the entry's file ${entry.files[0]} does not exist` : 'the entry names no local file');
          continue;
        }
        const key = resolve(file);
        claimed.set(key, [...(claimed.get(key) ?? []), { entry, bib: rel(f) }]);
      }
    }
    const targets = [
      ...fresh.filter((f) => !/\.(bib|ris)$/i.test(f)).map((f) => ({ file: f, meta: claimed.get(resolve(f))?.[0]?.entry })),
      ...[...claimed.keys()].filter((k) => !fresh.some((f) => resolve(f) === k)).map((k) => ({ file: k, meta: claimed.get(k)![0].entry })),
    ];
    for (const { file, meta } of targets) {
      found++;
      const name = rel(file);
      const isJsonl = /\.jsonl$/i.test(file);
      const fmt = formatOfName(file);
      if (!fmt && !isJsonl) {
        skip(name, 'unsupported file type (PDF, DOCX, HTML, Markdown, text, BibTeX/RIS or JSONL)');
        continue;
      }
      const size = statSync(file).size;
      const cap = isJsonl ? 400 * 1048576 : fmt === 'html' ? limits.maxHtmlBytes : limits.maxBytes;
      if (size > cap) {
        skip(name, `${(size / 1048576).toFixed(1)} MB is over the ${cap / 1048576} MB limit for ${isJsonl ? 'JSONL' : fmt} files; not read`);
        continue;
      }
      const bytes = readFileSync(file);
      const at = now().toISOString();
      const sha = sha256Hex(bytes);
      if (isJsonl) {
        const j = jsonlDocs(bytes.toString('utf8'), name, sha, at);
        if (j.problem) skip(name, j.problem);
        docs.push(...j.docs);
        continue;
      }
      const got = await extractDocument(bytes, file, '', limits);
      if (!got.ok) {
        skip(name, got.reason);
        continue;
      }
      docs.push(docOf(got.doc, stem(file), { origin: 'local', path: name, retrievedAt: at, sha256: sha, format: got.doc.format }, meta));
    }
  }
  return { docs, skipped, found };
}

export function localRetriever(specs: readonly string[], opts: LocalOptions = {}): Retriever {
  return { name: 'local', retrieve: () => collectLocal(specs, opts) };
}

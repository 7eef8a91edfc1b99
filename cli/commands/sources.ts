/**
 * Input reading for `survey --sources` and `ask --doc`: local folders, files and globs are
 * extracted here on the client (the cluster never sees the user's disk), merged with a JSONL
 * `--input` record, and turned into the one V2 input record the job reads. Provider names
 * (`arxiv,searxng`) become the job's sources spec: the cluster searches and fetches those.
 */
import { collectLocal } from '../../shared/sources/local.ts';
import { dedupe } from '../../shared/sources/dedupe.ts';
import { extractDocument, formatOfName, sniffFormat, EXTRACT_LIMITS } from '../../shared/sources/extract.ts';
import { provenanceById, toPaper } from '../../shared/sources/record.ts';
import { isProvider, type Provider } from '../../shared/sources/spec.ts';
import type { SkippedSource } from '../../shared/sources/types.ts';
import { prepareInput } from '../../shared/protocol/v2-input.ts';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { readTextFile, UsageError } from '../common.ts';

/** Split `--sources` values into local specs and provider names ("arxiv,searxng"); a path that exists is always local. */
export function splitSources(values: readonly string[]): { local: string[]; providers: Provider[] } {
  const local: string[] = [];
  const providers: Provider[] = [];
  for (const v of values) {
    const names = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    if (!existsSync(v) && names.length && names.every(isProvider)) providers.push(...(names as Provider[]).filter((n) => !providers.includes(n)));
    else local.push(v);
  }
  return { local, providers };
}

export interface GatheredInput {
  /** The V2 input record (title + papers with provenance). */
  record: { title: string; papers: Record<string, unknown>[] };
  found: number;
  skipped: SkippedSource[];
}

/**
 * The record a survey job reads: the JSONL record's papers (if any) then the local sources'
 * papers, deduplicated by DOI, arXiv id and title. Each skipped source is reported through `say`.
 */
export async function gatherLocal(o: { title: string; base?: { papers?: unknown[] } & Record<string, unknown>; specs: readonly string[]; say: (s: string) => void }): Promise<GatheredInput> {
  const got = await collectLocal(o.specs, { onSkip: (s) => o.say(`skipped ${s.source}: ${s.reason}`) });
  const { docs, duplicates } = dedupe(got.docs);
  for (const d of duplicates) o.say(`skipped ${d.source}: ${d.reason}`);
  const basePapers = (o.base?.papers ?? []) as Record<string, unknown>[];
  const record = { ...(o.base ?? {}), title: o.title, papers: [...basePapers, ...docs.map((d) => toPaper(d) as unknown as Record<string, unknown>)] };
  return { record, found: got.found, skipped: [...got.skipped, ...duplicates] };
}

/** Provenance by paper id for the record as the job will number it. */
export function localProvenance(record: GatheredInput['record']) {
  try {
    return provenanceById(record.papers as never[], prepareInput(record).papers);
  } catch {
    return [];
  }
}

/**
 * `ask --doc`: a PDF, DOCX or HTML document is extracted to text; anything else is read as UTF-8
 * text as before. Unusable documents are refused with their reason.
 */
export async function readDocument(path: string, maxBytes: number, option: string): Promise<string> {
  const byName = formatOfName(path);
  if (byName !== 'pdf' && byName !== 'docx' && byName !== 'html') {
    // Sniff the first kilobyte: a .txt that is really a PDF is still extracted.
    let sniffed: string = 'text';
    try {
      const fd = openSync(path, 'r');
      const head = Buffer.alloc(1024);
      const n = readSync(fd, head, 0, 1024, 0);
      closeSync(fd);
      sniffed = sniffFormat(head.subarray(0, n), path);
    } catch {
      /* readTextFile reports a missing or unreadable file */
    }
    if (sniffed !== 'pdf' && sniffed !== 'docx' && sniffed !== 'html') return readTextFile(path, 'document', { maxBytes, option });
  }
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (st.size > maxBytes) throw new UsageError(`document ${path} is ${(st.size / 1048576).toFixed(1)} MB; the limit is ${(maxBytes / 1048576).toFixed(1)} MB (raise it with ${option})`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read document ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const got = await extractDocument(bytes, path, '', { ...EXTRACT_LIMITS, maxBytes });
  if (!got.ok) throw new UsageError(`document ${path} cannot be used: ${got.reason}`);
  return got.doc.text;
}

export interface SurveyInput {
  /** The record uploaded as the job's input. */
  raw: Record<string, unknown> & { title: string; papers: unknown[] };
  /** params.sources for topic-only mode (provider names given). */
  sources?: { topic: string; providers: Provider[]; maxSources?: number };
  /** What the client read: counts and skipped local sources (remote ones are counted by the job). */
  local?: { found: number; used: number; skipped: SkippedSource[] };
  /** Where skipped remote sources are reported once the job is done (stderr). */
  say?: (s: string) => void;
}

/**
 * Everything `survey` reads before it submits: `--input` (JSONL, line N), `--sources` folders,
 * files, globs and provider names, `--topic`. Refuses a run with nothing to survey, naming why.
 */
export async function surveyInput(o: {
  input?: string;
  sources: readonly string[];
  topic?: string;
  maxSources?: number;
  readJsonl: () => Record<string, unknown>;
  say: (s: string) => void;
}): Promise<SurveyInput> {
  const { local, providers } = splitSources(o.sources);
  if (!o.input && !o.sources.length) throw new UsageError('nothing to survey: pass --input topic.jsonl, or --sources with folders, files or providers (e.g. --sources ./papers/ or --sources arxiv,searxng with --topic)');
  const base = o.input ? o.readJsonl() : undefined;
  const title = (o.topic?.trim() || (typeof base?.title === 'string' ? base.title : '')).trim();
  if (!title) throw new UsageError('the survey needs a topic: pass --topic "…" (or --input with a record that has a title)');
  if (!local.length) {
    const raw = { ...(base ?? {}), title, papers: (base?.papers as unknown[]) ?? [] };
    return { raw, say: o.say, ...(providers.length ? { sources: { topic: title, providers, ...(o.maxSources ? { maxSources: o.maxSources } : {}) } } : {}) };
  }
  const got = await gatherLocal({ title, base: base as never, specs: local, say: o.say });
  const used = got.record.papers.length - ((base?.papers as unknown[] | undefined)?.length ?? 0);
  o.say(`local sources: ${got.found} found, ${used} used, ${got.skipped.length} skipped`);
  if (got.record.papers.length === 0 && !providers.length) {
    const why = got.skipped.length ? `: ${got.skipped.slice(0, 3).map((s) => `${s.source} (${s.reason})`).join('; ')}` : '';
    throw new UsageError(`no usable source in ${local.join(', ')}${why}`);
  }
  return {
    raw: got.record as SurveyInput['raw'],
    say: o.say,
    local: { found: got.found, used, skipped: got.skipped },
    ...(providers.length ? { sources: { topic: title, providers, ...(o.maxSources ? { maxSources: o.maxSources } : {}) } } : {}),
  };
}

/**
 * The "sources" part of the survey's JSON record: counts, skipped sources with reasons, and each
 * paper's provenance by id, joined with whether the survey cites it. The job's own report
 * (topic-only mode) is taken as it is and completed with the local part.
 */
export function sourcesReport(input: SurveyInput, record: Record<string, any>): Record<string, unknown> | undefined {
  const fromJob = record?.sources as Record<string, any> | undefined;
  if (!input.local && !fromJob) return undefined;
  const provenance = (fromJob?.provenance as { id: string }[] | undefined) ?? (input.local ? localProvenance(input.raw as GatheredInput['record']) : []);
  const cited = new Set(((record?.references ?? []) as { id: string }[]).map((r) => r.id));
  const remote = [...((fromJob?.searchErrors as SkippedSource[]) ?? []), ...((fromJob?.skipped as SkippedSource[]) ?? [])];
  // Search errors and failed fetches are named on stderr (ranking drops only counted); the record lists all.
  const loud = remote.filter((s) => !/BM25|shares no term/.test(s.reason));
  for (const s of loud.slice(0, 25)) input.say?.(`skipped ${s.source}: ${s.reason}`);
  if (loud.length > 25) input.say?.(`… and ${loud.length - 25} more skipped sources (listed under "sources" in the record)`);
  // Each reference in the JSON record carries its source's provenance too.
  const byId = new Map(provenance.map((p) => [p.id, (p as { provenance?: unknown }).provenance]));
  for (const ref of (record?.references ?? []) as { id: string; provenance?: unknown }[]) if (byId.get(ref.id)) ref.provenance = byId.get(ref.id);
  return {
    found: (fromJob?.found ?? 0) + (input.local?.found ?? 0),
    ...(fromJob ? { fetched: fromJob.fetched, kept: fromJob.kept, queries: fromJob.queries } : {}),
    used: record?.counts?.papers,
    cited: cited.size,
    skipped: [...(input.local?.skipped ?? []), ...remote],
    provenance: provenance.map((p) => ({ ...p, cited: cited.has(p.id) })),
  };
}

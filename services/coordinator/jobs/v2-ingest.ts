/**
 * V2 ingest: read the input record, prepare it (ids, metadata, limits), store each paper's text
 * once in the Object Store and plan the chunks that long papers are digested in.
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import { parseInputText, prepareInput, textChunks, type PreparedInput } from '../../../shared/protocol/v2-input.ts';

export interface Ingested extends PreparedInput {
  /** Number of entries in the input's papers array. */
  papersIn: number;
  /** Object Store key of each paper's text, parallel to `papers`. */
  keys: string[];
  /** Character ranges each paper is digested in (one range for most papers). */
  chunks: { start: number; end: number }[][];
}

export function paperKey(jobId: string, id: string): string {
  return `jobs/${jobId}/papers/${id}.txt`;
}

/** Run `fn` over the items with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `keyJob`: the job whose key space the paper texts are stored in (a rerun uses its base job's, so task inputs that name them stay the same). */
export async function ingest(ctx: JobContext, inputKey: string, chunkChars: number, keyJob = ctx.jobId): Promise<Ingested> {
  const raw = parseInputText(await ctx.blobText(inputKey));
  const prepared = prepareInput(raw);
  const papersIn = Array.isArray((raw as { papers?: unknown }).papers) ? (raw as { papers: unknown[] }).papers.length : 0;
  if (prepared.papers.length < 2) {
    const why = prepared.skipped.length ? ` (${prepared.skipped.length} skipped, e.g. "${prepared.skipped[0].reason}")` : '';
    throw new Error(`a survey needs at least 2 papers with text; the input has ${prepared.papers.length}${why}`);
  }
  const keys = prepared.papers.map((p) => paperKey(keyJob, p.id));
  // putBlob is idempotent for the same key and content, so a replay may store them again safely.
  await mapLimit(keys, 32, (key, i) => ctx.putBlob(key, prepared.texts[i]));
  const chunks = prepared.texts.map((t) => textChunks(t, chunkChars));
  return { ...prepared, papersIn, keys, chunks };
}

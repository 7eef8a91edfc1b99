/**
 * V2 ingest: read the input record as a stream, prepare it paper by paper (ids, metadata,
 * limits), store each paper's text once in the Object Store and plan the chunks that long papers
 * are digested in. The coordinator holds the papers' metadata, never the record or the texts.
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import {
  paperId,
  parseInputText,
  prepareInput,
  textChunks,
  V2_INPUT_LIMITS,
  V2InputError,
  type PreparedInput,
  type PreparedPaper,
  type SkippedPaper,
  type TruncatedPaper,
} from '../../../shared/protocol/v2-input.ts';
import { RecordScanner, type RecordEvent } from '../../../shared/protocol/v2-stream.ts';

/** Paper texts stored at once while ingesting. */
const PUTS_IN_FLIGHT = 8;

export interface Ingested extends Omit<PreparedInput, 'texts'> {
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

/** The record as text pieces: streamed when the context can, else read whole (in-process test contexts). */
async function* pieces(ctx: JobContext, key: string): AsyncGenerator<string> {
  if (ctx.blobTextStream) yield* ctx.blobTextStream(key);
  else yield await ctx.blobText(key);
}

/** Records up to this size that the scanner refuses are read whole once more for the whole-record parser's own message. */
const EXPLAIN_BYTES = 8 * 1024 * 1024;

/** Scan the stored record, calling `onPaper` for each element of its papers array in order. */
async function scanRecord(ctx: JobContext, key: string, size: number | null, onPaper: (item: unknown, index: number) => Promise<void> | void): Promise<Record<string, unknown>> {
  const scanner = new RecordScanner();
  const top: Record<string, unknown> = {};
  const take = async (events: RecordEvent[]) => {
    for (const e of events) {
      if (e.kind === 'paper') await onPaper(e.value, e.index);
      else if (e.key === 'papers' && scanner.papersStreamed) throw new V2InputError('the input record has two "papers" fields: keep one');
      else top[e.key] = e.value;
    }
  };
  try {
    for await (const p of pieces(ctx, key)) await take(scanner.push(p));
    await take(scanner.end());
  } catch (e) {
    // A small record gets the whole-text parser's message (e.g. one record per line).
    if (e instanceof V2InputError && size !== null && size <= EXPLAIN_BYTES) prepareInput(parseInputText(await ctx.blobText(key)));
    throw e;
  }
  return top;
}

/** One paper prepared on its own: the same checks, cleaning and truncation as in a whole record. */
function prepareOne(item: unknown, index: number): PreparedInput {
  return prepareInput({ title: 'one paper', papers: [item] }, V2_INPUT_LIMITS, index);
}

/**
 * Read the record twice as a stream, never whole: first to count the papers that have text
 * (ids are as wide as that count needs) and check the record, then to store each paper's text
 * and keep only its metadata. The size limit is checked from the Object Store metadata first.
 * `keyJob`: the job whose key space the paper texts are stored in (a rerun uses its base job's,
 * so task inputs that name them stay the same).
 */
export async function ingest(ctx: JobContext, inputKey: string, chunkChars: number, keyJob = ctx.jobId): Promise<Ingested> {
  const size = ctx.blobSize ? await ctx.blobSize(inputKey) : null;
  if (ctx.blobSize && size === null) throw new Error(`blob "${inputKey}" not found in the Object Store`);
  if (size !== null && size > V2_INPUT_LIMITS.maxInputChars) throw new V2InputError(`the input is ${size} bytes; the limit is ${V2_INPUT_LIMITS.maxInputChars}`);

  let papersIn = 0;
  let kept = 0;
  const skipped: SkippedPaper[] = [];
  const top = await scanRecord(ctx, inputKey, size, (item, index) => {
    papersIn++;
    if (papersIn > V2_INPUT_LIMITS.maxPapers) return; // refused below with the count
    const one = prepareOne(item, index);
    kept += one.papers.length;
    skipped.push(...one.skipped);
  });
  // Record-level checks (title, papers an array, the paper limit) with prepareInput's own
  // messages; the papers themselves were checked one by one above.
  const record = prepareInput({ ...top, papers: new Array(papersIn) });
  if (kept < 2) {
    const why = skipped.length ? ` (${skipped.length} skipped, e.g. "${skipped[0].reason}")` : '';
    throw new Error(`a survey needs at least 2 papers with text; the input has ${kept}${why}`);
  }

  const papers: PreparedPaper[] = [];
  const truncated: TruncatedPaper[] = [];
  const keys: string[] = [];
  const chunks: { start: number; end: number }[][] = [];
  const puts = new Set<Promise<void>>();
  await scanRecord(ctx, inputKey, size, async (item, index) => {
    const one = prepareOne(item, index);
    if (!one.papers.length) return;
    const id = paperId(papers.length + 1, kept);
    papers.push({ ...one.papers[0], id, index });
    for (const t of one.truncated) truncated.push({ ...t, id });
    const key = paperKey(keyJob, id);
    keys.push(key);
    chunks.push(textChunks(one.texts[0], chunkChars));
    // putBlob is idempotent for the same key and content, so a replay may store them again safely.
    const put = ctx.putBlob(key, one.texts[0]).finally(() => puts.delete(put));
    put.catch(() => undefined); // awaited below
    puts.add(put);
    if (puts.size >= PUTS_IN_FLIGHT) await Promise.race(puts);
  });
  await Promise.all(puts);
  if (papers.length !== kept) throw new Error(`the input "${inputKey}" changed while it was read (${kept} papers with text, then ${papers.length})`);
  return { title: record.title, papers, skipped, truncated, papersIn, keys, chunks };
}

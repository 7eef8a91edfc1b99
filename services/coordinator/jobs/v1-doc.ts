/**
 * Reading a V1 document without holding it: its size is checked from the Object Store
 * metadata, chunk boundaries come from one streamed pass (shared/algo/chunk-stream.ts), and
 * the map tasks are sent from a second streamed pass in batches, at most two batches of chunk
 * text in memory at a time. A small document is one batch: one `ctx.mapSettled`, as before.
 */
import type { JobContext, MapOptions, Settled } from '../../../shared/jobs/types.ts';
import { TaskFailedError } from '../../../shared/jobs/types.ts';
import { RangeSlicer, StreamChunker, type ChunkRange } from '../../../shared/algo/chunk-stream.ts';
import { docTooLarge, maxDocBytes, V1_INPUT_LIMITS } from '../../../shared/protocol/v1-input.ts';
import { mapOp, type MapInput } from '../../../shared/ops/v1/map.ts';
import type { V1Record } from '../../../shared/ops/v1/record.ts';

/** Characters of chunk text per map batch; two batches may be in flight. */
export const MAP_BATCH_CHARS = 1024 * 1024;

/** The document as text pieces: streamed when the context can, else read whole (in-process test contexts). */
async function* pieces(ctx: JobContext, key: string): AsyncGenerator<string> {
  if (ctx.blobTextStream) yield* ctx.blobTextStream(key);
  else yield await ctx.blobText(key);
}

/** Refuse a document over the limit before reading any of it. */
export async function checkDocSize(ctx: JobContext, key: string, env: Record<string, string | undefined> = process.env): Promise<number | null> {
  if (!ctx.blobSize) return null;
  const size = await ctx.blobSize(key);
  if (size === null) throw new Error(`the document "${key}" was not found in the Object Store: upload it first (llmxmr ask does)`);
  const limit = maxDocBytes(env);
  if (size > limit) throw new Error(docTooLarge(`the document "${key}"`, size, limit));
  return size;
}

/** Chunk boundaries of the stored document, and whether it holds anything but white space. */
export async function chunkDocument(ctx: JobContext, key: string, budget: number, maxChunks = V1_INPUT_LIMITS.maxChunks): Promise<{ chunks: ChunkRange[]; chars: number; blank: boolean }> {
  const chunker = new StreamChunker(budget);
  const chunks: ChunkRange[] = [];
  let blank = true;
  const take = (cs: ChunkRange[]) => {
    for (const c of cs) chunks.push(c);
    if (chunks.length > maxChunks) {
      throw new Error(`the document "${key}" makes more than ${maxChunks} chunks of ${budget} tokens (at least ${chunks.length} after ${chunker.length} characters); a job maps at most ${maxChunks}: use a larger window or split the document`);
    }
  };
  for await (const p of pieces(ctx, key)) {
    if (blank && /\S/.test(p)) blank = false;
    take(chunker.push(p));
  }
  take(chunker.end());
  return { chunks, chars: chunker.length, blank };
}

/**
 * Map every chunk (read again from the store) like `ctx.map(mapOp, …)`: results in chunk
 * order, `onSettled` with chunk indices, and a TaskFailedError once everything sent has
 * settled if any task failed (no batch is sent after one that failed).
 */
export async function mapDocument(
  ctx: JobContext,
  key: string,
  chunks: ChunkRange[],
  input: (index: number, text: string) => MapInput,
  opts: MapOptions,
  maxBatchChars = MAP_BATCH_CHARS,
): Promise<V1Record[]> {
  const settled: Settled<V1Record>[] = new Array(chunks.length);
  let filled = 0;
  const inFlight: Promise<boolean>[] = [];
  let failed = false;
  let batch: MapInput[] = [];
  let batchStart = 0;
  let batchChars = 0;
  const send = async () => {
    const inputs = batch;
    const offset = batchStart;
    batchStart += inputs.length;
    batch = [];
    batchChars = 0;
    if (failed || !inputs.length) return;
    if (inFlight.length >= 2) await inFlight.shift();
    const done = ctx
      .mapSettled(mapOp, inputs, { ...opts, onSettled: (i, s) => opts.onSettled?.(offset + i, s) })
      .then((out) => {
        out.forEach((s, i) => (settled[offset + i] = s));
        filled += out.length;
        if (out.some((s) => !s.ok)) failed = true;
        return failed;
      });
    done.catch(() => undefined); // awaited below; a batch left behind when reading fails must not crash the process
    inFlight.push(done);
  };
  const slicer = new RangeSlicer(chunks);
  for await (const p of pieces(ctx, key)) {
    for (const [i, text] of slicer.push(p)) {
      batch.push(input(chunks[i].index, text));
      batchChars += text.length;
      if (batchChars >= maxBatchChars) await send();
    }
    if (failed) break;
  }
  await send();
  await Promise.all(inFlight);
  const bad = settled.filter((s): s is Extract<Settled<V1Record>, { ok: false }> => !s.ok);
  if (bad.length) throw new TaskFailedError(mapOp.name, bad[0].taskId, `${bad[0].error}${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''}`);
  if (filled !== chunks.length) throw new Error(`the document "${key}" changed while it was read: fewer chunks than the first pass found`);
  return settled.map((s) => (s as { ok: true; value: V1Record }).value);
}

/**
 * Bounded-memory reading of inputs: Object Store entries streamed chunk by chunk, the V1
 * document chunked and mapped from two streamed passes, and the size limit checked from the
 * metadata before anything is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { readObjectText } from '../../shared/bus/blob-read.ts';
import { chunkText } from '../../shared/algo/chunk.ts';
import { JobRun } from '../../services/coordinator/context.ts';
import { checkDocSize, chunkDocument, mapDocument } from '../../services/coordinator/jobs/v1-doc.ts';
import { submitJob, waitForJob } from '../../shared/client/client.ts';
import { ingest } from '../../services/coordinator/jobs/v2-ingest.ts';
import { prepareInput, textChunks } from '../../shared/protocol/v2-input.ts';
import type { JobSpec } from '../../shared/protocol/schemas.ts';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

let c: TestCluster;
beforeAll(async () => {
  c = await testCluster(testEnv({ MR_CONCURRENCY: '8' }));
  await c.start('coordinator');
  await c.start('mapper');
  await c.start('reducer');
});
afterAll(async () => c?.close());

const collect = async (it: AsyncIterable<string>) => {
  const parts: string[] = [];
  for await (const p of it) parts.push(p);
  return parts;
};

/** A document of many Object Store chunks whose multi-byte characters straddle chunk edges. */
function document(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `${i}. Die Brücke über den Fluß ist 42 m lang; 桥长四十二米。 The pass key is not here.\n`).join('');
}

function run(jobId: string): JobRun {
  const spec = { v: 1, jobId, pipeline: 'v1', engine: 'extractive', params: { docKey: 'unused', question: 'q' } } as unknown as JobSpec;
  return new JobRun(c.bus, spec, pino({ level: 'silent' }), new AbortController().signal);
}

describe('streamed blob reads', () => {
  it('decodes a many-chunk object piece by piece into exactly the stored text', async () => {
    const text = document(6000);
    await c.bus.putBlob('docs/stream.txt', text);
    const parts = await collect(readObjectText(c.bus.blobs, c.bus.jsm, c.bus.names.objectStore, 'docs/stream.txt'));
    expect(parts.length).toBeGreaterThan(3);
    expect(parts.join('')).toBe(text);
    await expect(collect(readObjectText(c.bus.blobs, c.bus.jsm, c.bus.names.objectStore, 'docs/absent.txt'))).rejects.toThrow(/not found in the Object Store/);
  });
});

describe('V1 document streaming', () => {
  it('chunks the stored document like chunkText and maps it in batches, in chunk order', async () => {
    const text = document(3000);
    await c.bus.putBlob('docs/batched.txt', text);
    const ctx = run('mem-batched');
    await ctx.start();
    try {
      const { chunks, blank, chars } = await chunkDocument(ctx, 'docs/batched.txt', 400);
      expect(blank).toBe(false);
      expect(chars).toBe(text.length);
      expect(chunks).toEqual(chunkText(text, 400).map(({ index, start, end, tokens }) => ({ index, start, end, tokens })));
      const seen: number[] = [];
      const records = await mapDocument(
        ctx,
        'docs/batched.txt',
        chunks,
        (index, t) => ({ chunk: { index, text: t }, question: 'how long is the bridge?', profile: 'qa' }),
        { stage: 'map', onSettled: (i) => void seen.push(i) },
        20_000, // many batches: ~1,300 characters per chunk
      );
      expect(records.map((r) => r.chunks)).toEqual(chunks.map((ch) => [ch.index]));
      expect(seen.sort((a, b) => a - b)).toEqual(chunks.map((ch) => ch.index));
    } finally {
      ctx.stop();
    }
  });

  it('stops reading a document that makes more chunks than a job may map, naming the window', async () => {
    await c.bus.putBlob('docs/many.txt', document(2000));
    const ctx = run('mem-many');
    await expect(chunkDocument(ctx, 'docs/many.txt', 100, 50)).rejects.toThrow(/makes more than 50 chunks of 100 tokens .*use a larger window or split the document/);
  });

  it('refuses a document over MR_MAX_DOC_MB from its size, before reading it', async () => {
    await c.bus.putBlob('docs/big.txt', 'x'.repeat(1_200_000));
    const ctx = run('mem-big');
    await expect(checkDocSize(ctx, 'docs/big.txt', { MR_MAX_DOC_MB: '1' })).rejects.toThrow(/is 1\.1 MiB; the limit is 1 MiB .*MR_MAX_DOC_MB/);
    await expect(checkDocSize(ctx, 'docs/big.txt', {})).resolves.toBe(1_200_000);
    await expect(checkDocSize(ctx, 'docs/none.txt', {})).rejects.toThrow(/not found in the Object Store: upload it first/);
    await expect(checkDocSize(ctx, 'docs/big.txt', { MR_MAX_DOC_MB: 'lots' })).rejects.toThrow(/MR_MAX_DOC_MB="lots" is not a whole number/);
  });

  it('fails a job whose document is only white space, naming the document', async () => {
    await c.bus.putBlob('docs/blank.txt', ' \n\t\n'.repeat(1000));
    await submitJob(c.bus, { jobId: 'mem-blank', pipeline: 'v1', params: { docKey: 'docs/blank.txt', question: 'anything?' } });
    const st = await waitForJob(c.bus, 'mem-blank');
    expect(st.state).toBe('failed');
    expect(st.error).toMatch(/"docs\/blank\.txt" is empty or holds only white space/);
  });
});

describe('V2 ingest streaming', () => {
  const paper = (title: string, txt: string, extra: Record<string, unknown> = {}) => ({ title, txt, ...extra });
  const papers = [
    paper('Same', 'One text. '.repeat(300)),
    paper('Same', 'Another text.'),
    { title: 'No text' },
    'not an object',
    paper('Long', `${'A sentence of the long paper. '.repeat(80_000)}`, { year: 2023, authors: ['A. B', 'C. D'] }),
    paper('', 'blank title'),
    { title: 'Abstract only', abstract: 'Only an abstract here.' },
  ];

  it('prepares the record paper by paper exactly like prepareInput on the whole record, storing each text', async () => {
    const record = { title: '  Streams  of papers ', papers };
    await c.bus.putBlob('inputs/v2-stream.json', JSON.stringify(record, null, 1));
    const ctx = run('mem-v2');
    const got = await ingest(ctx, 'inputs/v2-stream.json', 48_000);
    const want = prepareInput(record);
    expect(got.title).toBe(want.title);
    expect(got.papers).toEqual(want.papers);
    expect(got.skipped).toEqual(want.skipped);
    expect(got.truncated).toEqual(want.truncated);
    expect(got.papersIn).toBe(papers.length);
    expect(got.chunks).toEqual(want.texts.map((t) => textChunks(t, 48_000)));
    expect(await Promise.all(got.keys.map((k) => c.bus.blobText(k)))).toEqual(want.texts);
    expect('texts' in got).toBe(false);
  });

  it('refuses a record with too few papers, two records, or a size over the limit before storing anything', async () => {
    await c.bus.putBlob('inputs/v2-one.json', JSON.stringify({ title: 'T', papers: [papers[0], papers[2]] }));
    await expect(ingest(run('mem-v2-one'), 'inputs/v2-one.json', 48_000)).rejects.toThrow(/at least 2 papers with text; the input has 1 \(1 skipped/);
    await c.bus.putBlob('inputs/v2-two.jsonl', `${JSON.stringify({ title: 'T', papers })}\n${JSON.stringify({ title: 'U', papers })}\n`);
    await expect(ingest(run('mem-v2-two'), 'inputs/v2-two.jsonl', 48_000)).rejects.toThrow(/holds 2 records; submit one survey/);
    await c.bus.putBlob('inputs/v2-arr.json', JSON.stringify([{ title: 'T', papers }]));
    await expect(ingest(run('mem-v2-arr'), 'inputs/v2-arr.json', 48_000)).rejects.toThrow(/array/);
    await expect(ingest(run('mem-v2-none'), 'inputs/v2-none.json', 48_000)).rejects.toThrow(/not found in the Object Store/);
  });
});

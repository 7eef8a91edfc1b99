/**
 * The V2 job script end to end, offline: a fake JobContext runs every op's extractive()
 * directly (no NATS), so these tests cover the script's wiring, failure paths and the survey
 * it writes from real papers.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { runV2 } from '../../services/coordinator/jobs/v2.ts';
import { digestsBySection, pruneEmptySections, rekeyDigests } from '../../services/coordinator/jobs/v2-write.ts';
import type { OutlineNode } from '../../shared/algo/outline.ts';
import { createRng } from '../../shared/algo/rng.ts';
import { TaskFailedError, type JobContext, type Settled } from '../../shared/jobs/types.ts';
import type { OpDef, OpEnv } from '../../shared/ops/op.ts';

const DATA = new URL('../../../shared/data/v2/kv_cache.jsonl', import.meta.url);

interface Fake {
  ctx: JobContext;
  tasks: { op: string; input: any }[];
  events: { type: string; stage?: string; message?: string }[];
  blobs: Map<string, string>;
}

function fakeContext(input: unknown, params: Record<string, unknown> = {}, fail: (op: string, input: any) => string | null = () => null): Fake {
  const blobs = new Map<string, string>([['in.json', JSON.stringify(input)]]);
  const tasks: Fake['tasks'] = [];
  const events: Fake['events'] = [];
  const env: OpEnv = {
    blobText: async (k) => {
      const v = blobs.get(k);
      if (v === undefined) throw new Error(`no blob ${k}`);
      return v;
    },
  };
  const exec = async <I, O>(op: OpDef<I, O>, raw: I): Promise<O> => {
    const parsed = op.input.parse(raw);
    tasks.push({ op: op.name, input: parsed });
    const why = fail(op.name, parsed);
    if (why) throw new TaskFailedError(op.name, 'fake', why);
    return op.output.parse(await op.extractive(parsed, env));
  };
  const settle = async <I, O>(op: OpDef<I, O>, xs: I[]): Promise<Settled<O>[]> =>
    Promise.all(xs.map((x) => exec(op, x).then((value) => ({ ok: true as const, value }), (e: Error) => ({ ok: false as const, error: e.message, taskId: 'fake' }))));
  const ctx: JobContext = {
    jobId: 'job-test',
    spec: { v: 1, jobId: 'job-test', engine: 'extractive', pipeline: 'v2', params: { inputKey: 'in.json', blocks: 0, groupSize: 3, groupMode: 'random', ...params } } as never,
    rng: createRng(12345),
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    run: exec,
    map: async (op, xs) => {
      const out = [];
      for (const x of await settle(op, xs)) {
        if (!x.ok) throw new TaskFailedError(op.name, x.taskId, x.error);
        out.push(x.value);
      }
      return out;
    },
    mapSettled: settle,
    runSettled: async (op, x) => (await settle(op, [x]))[0],
    emit: (e) => events.push(e),
    blobText: env.blobText,
    putBlob: async (k, d) => void blobs.set(k, typeof d === 'string' ? d : Buffer.from(d).toString('utf8')),
    usage: () => ({ calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0, tasks: tasks.length }),
  };
  return { ctx, tasks, events, blobs };
}

/** Every [n] in the body resolves to a reference, and every reference is cited. */
function checkNumbering(markdown: string, refCount: number) {
  const [body, refs = ''] = markdown.split('\n## References\n');
  const used = new Set<number>();
  for (const m of body.matchAll(/\[(\d+(?:, \d+)*)\]/g)) m[1].split(', ').forEach((x) => used.add(Number(x)));
  expect([...used].sort((a, b) => a - b)).toEqual(Array.from({ length: refCount }, (_, i) => i + 1));
  expect(refs.match(/^\[\d+\] /gm)?.length ?? 0).toBe(refCount);
  expect(body).not.toMatch(/\[@/);
}

const TOPIC = 'KV cache compression';
const small = {
  title: TOPIC,
  papers: [
    ['Two-bit KV cache quantization', 'We quantize the KV cache to two bits per value. Outlier channels stay in higher precision, and accuracy holds.'],
    ['Outlier-aware cache quantization', 'Key quantization suffers from outlier channels. Rotating keys before quantization removes outliers.'],
    ['Mixed-precision cache quantization', 'Mixed precision assigns bits per attention head. Quantization error stays small with four bits.'],
    ['Token eviction by attention scores', 'Eviction drops tokens with low attention scores. Heavy hitter tokens are kept in the cache.'],
    ['Learned token eviction', 'A learned policy predicts which tokens to evict. Eviction keeps accuracy at small cache budgets.'],
    ['Streaming eviction windows', 'Streaming models evict old tokens but keep attention sinks. Eviction windows slide over the stream.'],
    ['Paged cache memory management', 'Paged memory management stores cache blocks in pages. Paging removes fragmentation of cache memory.'],
    ['Cache offloading to CPU memory', 'Offloading moves cold cache blocks to CPU memory. Prefetching brings blocks back before attention needs them.'],
    ['No text here', ''],
  ].map(([title, txt], i) => ({ title, txt, authors: [`Author ${i + 1}`], date: '2025-01-01', url: `https://example.org/${i + 1}` })),
};

describe('runV2 offline', () => {
  it('writes a numbered, fully cited survey from a small corpus and reports the skipped paper', async () => {
    const f = fakeContext(small);
    const r = (await runV2(f.ctx)) as any;
    expect(r.slug).toBe('kv-cache-compression');
    expect(r.markdown.startsWith(`# ${TOPIC}\n\n**Abstract.** `)).toBe(true);
    expect(r.markdown).toMatch(/\n## 1 \S/);
    expect(r.record.skipped).toEqual([{ index: 8, title: 'No text here', reason: 'no text: both txt and abstract are missing or empty' }]);
    expect(r.record.counts.cited).toBe(8);
    checkNumbering(r.markdown, r.record.references.length);
    expect(r.record.references.map((x: any) => x.number)).toEqual(r.record.references.map((_: unknown, i: number) => i + 1));
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    // Paper texts stored once each, under the job's prefix.
    expect([...f.blobs.keys()].filter((k) => k.startsWith('jobs/job-test/papers/'))).toHaveLength(8);
    expect(f.events.filter((e) => e.type === 'stage.finished').map((e) => e.stage)).toEqual(['ingest', 'group', 'outline', 'digest', 'write', 'conclude', 'verify']);
  });

  it('takes the same path and writes the same survey when replayed', async () => {
    const a = (await runV2(fakeContext(small).ctx)) as any;
    const b = (await runV2(fakeContext(small).ctx)) as any;
    expect(b.markdown).toBe(a.markdown);
  });

  it('hands each section every digest filed under it exactly once', async () => {
    const f = fakeContext(small);
    await runV2(f.ctx);
    const writes = f.tasks.filter((t) => t.op === 'v2.write');
    for (const w of writes) {
      const ids = w.input.digests.map((d: any) => d.paperId);
      expect(new Set(ids).size).toBe(ids.length);
    }
    const filed = writes.reduce((n, w) => n + w.input.digests.length, 0);
    const digestSections = f.tasks.filter((t) => t.op === 'v2.digest').length;
    expect(filed).toBeGreaterThanOrEqual(digestSections);
  });

  it('goes on when a paper cannot be digested and records why', async () => {
    const f = fakeContext(small, {}, (op, input) => (op === 'v2.digest' && input.paperId === 'P002' ? 'model refused' : null));
    const r = (await runV2(f.ctx)) as any;
    expect(r.record.failures).toHaveLength(1);
    expect(r.record.failures[0]).toMatchObject({ stage: 'digest', id: 'P002', reason: expect.stringContaining('model refused') });
    expect(r.record.counts.digested).toBe(7);
    checkNumbering(r.markdown, r.record.references.length);
  });

  it('writes a section whose task failed with the offline writer and says so', async () => {
    const f = fakeContext(small, {}, (op, input) => (op === 'v2.write' && input.node.id === 'S1' ? 'timeout' : null));
    const r = (await runV2(f.ctx)) as any;
    expect(r.record.failures).toHaveLength(1);
    expect(r.record.failures[0]).toMatchObject({ stage: 'write', id: 'S1', reason: expect.stringMatching(/timeout; written by the offline writer instead$/) });
    expect(r.record.sections.find((s: any) => s.id === 'S1').text.length).toBeGreaterThan(0);
  });

  it('digests a long paper in chunks and merges them', async () => {
    const long = { ...small, papers: [...small.papers.slice(0, 7), { ...small.papers[7], txt: small.papers[7].txt.repeat(1).concat(' ', 'Offloading cold blocks to CPU memory saves GPU memory for the cache. '.repeat(60)) }] };
    const f = fakeContext(long, { digestChunkChars: 2000 });
    const r = (await runV2(f.ctx)) as any;
    const parts = f.tasks.filter((t) => t.op === 'v2.digest' && t.input.paperId === 'P008');
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((p) => p.input.part.index)).toEqual(parts.map((_, i) => i));
    expect(r.record.digests.filter((d: any) => d.paperId === 'P008')).toHaveLength(1);
  });

  it('groups with the model op in llm mode and repairs the grouping', async () => {
    const f = fakeContext(small, { groupMode: 'llm' });
    const r = (await runV2(f.ctx)) as any;
    expect(f.tasks.filter((t) => t.op === 'v2.group')).toHaveLength(1);
    expect(r.record.groups.flat().sort()).toEqual(['P001', 'P002', 'P003', 'P004', 'P005', 'P006', 'P007', 'P008']);
  });

  it('groups large collections in batches, each repaired on its own', async () => {
    const f = fakeContext(small, { groupMode: 'llm', groupBatch: 3 }, (op, input) => (op === 'v2.group' && input.papers.length === 2 ? 'bad reply' : null));
    const r = (await runV2(f.ctx)) as any;
    expect(f.tasks.filter((t) => t.op === 'v2.group').map((t) => t.input.papers.length)).toEqual([3, 3, 2]);
    expect(r.record.groups.flat().sort()).toEqual(['P001', 'P002', 'P003', 'P004', 'P005', 'P006', 'P007', 'P008']);
    expect(r.record.failures[0]).toMatchObject({ stage: 'group', id: 'batch 3/3' });
  });

  it('adds a checked overview table when figures are asked for', async () => {
    const r = (await runV2(fakeContext(small, { figures: true, bibtex: true }).ctx)) as any;
    expect(r.markdown).toContain('*Table: Sections of the survey at a glance*');
    expect(r.record.bibtex).toMatch(/^@misc\{\w+2025\w+,/);
    checkNumbering(r.markdown, r.record.references.length);
  });

  it('merges many partial outlines in a tree, and falls back offline when a merge fails', async () => {
    const f = fakeContext(small, { outlineBatch: 1, mergeFanIn: 2 }, (op, input) => (op === 'v2.outline.merge' && input.partials.length === 1 ? 'overloaded' : null));
    const r = (await runV2(f.ctx)) as any;
    expect(f.tasks.filter((t) => t.op === 'v2.outline.partial')).toHaveLength(3);
    expect(f.tasks.filter((t) => t.op === 'v2.outline.merge').map((t) => t.input.partials.length)).toEqual([2, 1, 2]);
    expect(r.record.failures).toHaveLength(1);
    expect(r.record.failures[0]).toMatchObject({ stage: 'outline', id: 'merge 2/2', reason: expect.stringMatching(/overloaded; merged by the offline clustering instead$/) });
    checkNumbering(r.markdown, r.record.references.length);
  });

  it('runs a refinement block between the digest passes and records every layer', async () => {
    const conv = { convLayer: 2, resultNum: 3, topK: 3, selfRefineCount: 1, selfRefineBestOf: 2 };
    const f = fakeContext(small, { blocks: 1, conv });
    const r = (await runV2(f.ctx)) as any;
    const block = r.record.refinement[0];
    expect(r.record.refinement).toHaveLength(1);
    expect(block.layers.map((l: { layer: number }) => l.layer)).toEqual([0, 1, 2]);
    const bests = block.layers.map((l: { best: number }) => l.best);
    expect(bests).toEqual([...bests].sort((a: number, b: number) => a - b)); // never decreases
    expect(block.accepted.score).toBeGreaterThanOrEqual(block.initial.score);
    checkNumbering(r.markdown, r.record.references.length);
  });

  it('refuses an input with fewer than two usable papers', async () => {
    await expect(runV2(fakeContext({ title: 'T', papers: [small.papers[0], small.papers[8]] }).ctx)).rejects.toThrow(/at least 2 papers/);
  });
});

describe('filing digests for the writer', () => {
  const n = (id: string, children: OutlineNode[] = []): OutlineNode => ({ id, title: `T${id}`, construction: `c${id}`, analysis: '', children });
  const outline = n('S0', [n('S1', [n('S1.1'), n('S1.2')]), n('S2', [n('S2.1'), n('S2.2')]), n('S3')]);

  it('drops sections no digest informs, folds a lone survivor into its parent, and maps old ids to new', () => {
    const informed = new Set(['S1.1', 'S1.2', 'S2.2', 'S3']);
    const { outline: o, idMap, removed } = pruneEmptySections(outline, (id) => informed.has(id));
    expect(removed).toEqual(['2.1 TS2.1']);
    expect(o.children.map((c) => [c.id, c.title, c.children.length])).toEqual([
      ['S1', 'TS1', 2],
      ['S2', 'TS2', 0],
      ['S3', 'TS3', 0],
    ]);
    expect(o.children[1].construction).toBe('cS2 cS2.2');
    expect(idMap.get('S2.2')).toBe('S2');
    expect(idMap.has('S2.1')).toBe(false);
  });

  it('gives each section one entry per paper, joining texts that fold together', () => {
    const idMap = new Map([
      ['S1', 'S1'],
      ['S2', 'S2'],
      ['S2.2', 'S2'],
    ]);
    const digests = rekeyDigests([{ paperId: 'P1', sections: { S2: 'a [@P1].', 'S2.2': 'b [@P1].', S9: 'x' }, suggestion: '' }], idMap);
    expect(digests[0].sections).toEqual({ S2: 'a [@P1]. b [@P1].' });
    const small = n('S0', [n('S1'), n('S2')]);
    const { bySection, unknown } = digestsBySection(small, [...digests, { paperId: 'P2', sections: { S2: 'c [@P2].', S7: 'y' }, suggestion: '' }], new Map([['P1', { title: 'Paper one', authors: ['Ada Lovelace', 'Alan Turing'], year: 2024 }]]));
    expect(bySection.get('S2')).toEqual([
      { paperId: 'P1', paperTitle: 'Paper one', text: 'a [@P1]. b [@P1].', subject: 'Lovelace and Turing', year: 2024 },
      { paperId: 'P2', paperTitle: 'P2', text: 'c [@P2].', subject: 'The authors of this study', year: null },
    ]);
    expect(unknown).toBe(1);
  });
});

describe.skipIf(!existsSync(DATA))('runV2 offline on kv_cache.jsonl (127 real papers)', () => {
  it('cites at least 90% of the papers, every [n] resolves, and references are exactly the cited papers', async () => {
    const input = JSON.parse(readFileSync(DATA, 'utf8'));
    const f = fakeContext(input);
    const t0 = performance.now();
    const r = (await runV2(f.ctx)) as any;
    const ms = Math.round(performance.now() - t0);
    const c = r.record.counts;
    console.log(`[v2 offline] kv_cache: ${c.papers} papers, ${c.sections} sections (${c.leaves} leaves), ${c.cited} cited (${(c.citationCoverage * 100).toFixed(1)}%), ${c.citationMarks} citation marks, ${c.words} words, ${f.tasks.length} tasks, ${ms} ms`);
    expect(c.papers).toBe(127);
    expect(c.cited / c.papers).toBeGreaterThanOrEqual(0.9);
    checkNumbering(r.markdown, r.record.references.length);
    const cited = new Set(r.record.references.map((x: any) => x.id));
    expect(cited.size).toBe(c.cited);
    const inputTitles = new Map(input.papers.map((p: any, i: number) => [`P${String(i + 1).padStart(3, '0')}`, p.title]));
    for (const ref of r.record.references) expect(ref.title).toBe(inputTitles.get(ref.id));
    expect(c.sections).toBeGreaterThanOrEqual(4);
    expect(r.record.failures).toEqual([]);
  });
});

if (!existsSync(DATA)) console.warn(`[v2 offline] skipped: ${DATA.pathname} is absent`);

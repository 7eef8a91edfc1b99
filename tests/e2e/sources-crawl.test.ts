/**
 * The crawl measurement: topic-only mode over a few hundred fake pages (real abstracts and texts
 * of ../shared/data/v2/kv_cache.jsonl and long_context_llm.jsonl, served by the local fakes of
 * arXiv, SearXNG, OpenAlex and Semantic Scholar). Prints sources found / distinct / fetched /
 * kept / cited and the wall times; checks that off-topic pages are filtered out and that no
 * source is fetched twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';
import { corpusFromJsonl, fakeWebEnv, startFakeWeb, type FakePaper, type FakeWeb } from '../helpers/fake-search.ts';

const DATA = join(import.meta.dirname, '../../../shared/data/v2');
const have = existsSync(join(DATA, 'kv_cache.jsonl')) && existsSync(join(DATA, 'long_context_llm.jsonl'));
let cluster: TestCluster;
let web: FakeWeb;
const saved = { ...process.env };

describe.runIf(have)('a crawl of a few hundred fake pages', () => {
  beforeAll(async () => {
    const kv = corpusFromJsonl(join(DATA, 'kv_cache.jsonl'), 127);
    const other = corpusFromJsonl(join(DATA, 'long_context_llm.jsonl'), 200).filter((p) => p.onTopic).map((p) => ({ ...p, onTopic: false }));
    const corpus: FakePaper[] = [...kv, ...other].map((p, i) => ({ ...p, id: `p${String(i).padStart(4, '0')}`, doi: `10.5555/crawl.${i}` }));
    web = await startFakeWeb({ corpus });
    Object.assign(process.env, fakeWebEnv(web), { MR_FETCH_PER_HOST: '4' });
    cluster = await testCluster(testEnv({ MR_CONCURRENCY: '8' }));
    for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
  });
  afterAll(async () => {
    await cluster?.close();
    await web?.close();
    process.env = saved;
  });

  it('finds, fetches and keeps KV cache papers, and reports the figures', async () => {
    const jobId = `crawl-${Date.now()}`;
    const topic = 'KV cache compression';
    await cluster.bus.putBlob(`inputs/${jobId}.json`, JSON.stringify({ title: topic, papers: [] }));
    const t0 = Date.now();
    await submitJob(cluster.bus, { jobId, pipeline: 'v2', engine: 'extractive', seed: 3, params: { inputKey: `inputs/${jobId}.json`, keepPartial: true, sources: { topic, providers: ['arxiv', 'searxng', 'openalex', 'semanticscholar'], queries: 10, perQuery: 100, maxFetch: 400, maxSources: 200 } } } as never);
    const st = await waitForJob(cluster.bus, jobId);
    expect(st.state, st.error).toBe('succeeded');
    const wall = Date.now() - t0;
    const r = (await fetchResult(cluster.bus, st)) as Record<string, any>;
    const s = r.record.sources;
    const pages = web.corpus.length;
    const pdfAndPageRequests = (web.hits.get('/pdf') ?? 0) + (web.hits.get('/abs') ?? 0);
    const figures = { pages, found: s.found, distinct: s.distinct, fetchTried: s.fetchTried, fetched: s.fetched, kept: s.kept, used: r.record.counts.papers, cited: r.record.counts.cited, pageRequests: pdfAndPageRequests, sourcesMs: s.ms, surveyWallMs: wall };
    console.log(`crawl figures: ${JSON.stringify(figures)}`);
    expect(s.distinct).toBeLessThanOrEqual(pages);
    expect(s.fetched).toBeGreaterThan(50);
    // Each chosen source costs at most its PDF plus (when the PDF fails) its page: no page is fetched twice.
    expect(pdfAndPageRequests).toBeLessThanOrEqual(2 * s.fetchTried);
    const kvTitles = new Set(web.corpus.filter((p) => p.onTopic).map((p) => p.title));
    const onTopicKept = r.record.papers.filter((p: any) => kvTitles.has(p.title)).length;
    console.log(`kept from the KV cache set: ${onTopicKept}/${r.record.papers.length}`);
    expect(onTopicKept / r.record.papers.length).toBeGreaterThan(0.8);
  }, 900_000);
});

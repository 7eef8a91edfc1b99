/**
 * Topic-only mode end to end through the cluster on the offline engine, against local fakes of
 * arXiv and SearXNG (and of the web they link to): `survey --topic … --sources arxiv,searxng`
 * searches, fetches PDFs and pages as tasks, drops off-topic and duplicate sources, and writes a
 * survey whose references carry provenance. Bad links and failing providers are skipped with
 * their reasons and the job goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ROOT } from '../helpers/cluster.ts';
import { corpusFromJsonl, fakeWebEnv, startFakeWeb, type FakeWeb } from '../helpers/fake-search.ts';

/** The CLI as a child process, killed after `ms` (its stderr is kept, to show where it stood). */
function cli(args: string[], env: Record<string, string>, ms = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/llmxmr.js', ...args], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: ms }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const DATA = join(import.meta.dirname, '../../../shared/data/v2/kv_cache.jsonl');

const tmp = mkdtempSync(join(tmpdir(), 'llmxmr-topic-'));
let cluster: TestCluster;
let web: FakeWeb;
const saved = { ...process.env };
beforeAll(async () => {
  // Real abstracts and texts when the team's data is there (used by path), else generated papers.
  web = await startFakeWeb(existsSync(DATA) ? { corpus: corpusFromJsonl(DATA, 40) } : { papers: 36 });
  // Workers run in this process: they read the provider URLs from its environment.
  Object.assign(process.env, fakeWebEnv(web));
  cluster = await testCluster(testEnv({ MR_CONCURRENCY: '8' }));
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
});
afterAll(async () => {
  await cluster?.close();
  await web?.close();
  process.env = saved;
  rmSync(tmp, { recursive: true, force: true });
});
const conn = () => ['--nats', cluster.env.NATS_URL, '--prefix', cluster.env.MR_PREFIX, '--engine', 'extractive'];

describe('survey --topic … --sources arxiv,searxng', () => {
  it('finds, fetches, filters and cites on-topic papers with provenance; bad links are skipped with reasons', async () => {
    web.badLinks = true;
    const out = join(tmp, 'out');
    const r = await cli(['survey', '--topic', 'KV cache compression', '--sources', 'arxiv,searxng', '--out', out, '--json', '--bibtex', ...(existsSync(DATA) ? [] : ['--keep-partial']), ...conn()], fakeWebEnv(web));
    web.badLinks = false;
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(readFileSync(JSON.parse(r.stdout).record, 'utf8'));
    const s = rec.sources;
    expect(s.found).toBeGreaterThan(s.kept);
    expect(s.fetched).toBeGreaterThanOrEqual(8);
    expect(s.kept).toBeGreaterThanOrEqual(8);
    // Off-topic papers never reach the survey; every kept one is a KV cache paper of the fake corpus.
    const onTopic = new Set(web.corpus.filter((p) => p.onTopic).map((p) => p.title));
    for (const p of rec.papers) expect(onTopic.has(p.title), p.title).toBe(true);
    // One paper per work although arXiv and SearXNG both returned most of them.
    expect(new Set(rec.papers.map((p: any) => p.title)).size).toBe(rec.papers.length);
    expect(rec.references.length).toBeGreaterThanOrEqual(rec.papers.length / 2);
    for (const p of s.provenance) {
      expect(p.provenance).toMatchObject({ origin: expect.stringMatching(/^(arxiv|searxng)$/), url: expect.stringMatching(/^http:\/\/127\.0\.0\.1/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), retrievedAt: expect.any(String), query: expect.any(String) });
      expect(['pdf', 'html', 'metadata']).toContain(p.provenance.format);
    }
    expect(s.provenance.some((p: any) => p.provenance.format === 'pdf')).toBe(true);
    // The bad links, each with its reason, in the record and on stderr.
    const reasons = s.skipped.map((x: any) => `${x.source}: ${x.reason}`).join('\n');
    for (const why of [/\/missing.*HTTP 404/, /\/loop.*redirect loop/, /\/hang.*no answer within/, /\/huge.*fetch limit/, /\/private\/report.*robots\.txt/]) {
      expect(reasons).toMatch(why);
      expect(r.stderr).toMatch(why);
    }
    expect(r.stderr).toMatch(/sources: \d+ found, \d+ fetched, \d+ kept, \d+ used, \d+ cited/);
    // --bibtex uses the metadata the sources had (authors, DOI).
    const bib = readFileSync(join(out, `${rec.references.length ? JSON.parse(r.stdout).markdown.split('/').pop().replace(/\.md$/, '') : 'x'}.bib`), 'utf8');
    expect(bib).toMatch(/author = \{[A-Z]/);
    expect(bib).toMatch(/10\.5555\/(fake|real)\.\d+/);
  }, 300_000);

  it('goes on with arXiv when OpenAlex answers 429 and Semantic Scholar malformed JSON, naming both', async () => {
    web.modes = { openalex: 'rate', s2: 'malformed' };
    const r = await cli(['survey', '--topic', 'KV cache compression', '--sources', 'arxiv,openalex,semanticscholar', '--max-sources', '8', '--keep-partial', '--out', join(tmp, 'out2'), '--json', '--quiet', ...conn()], fakeWebEnv(web));
    web.modes = {};
    expect(r.code, r.stderr).toBe(0);
    const rec = JSON.parse(readFileSync(JSON.parse(r.stdout).record, 'utf8'));
    expect(rec.counts.papers).toBeLessThanOrEqual(8);
    expect(rec.counts.papers).toBeGreaterThanOrEqual(2);
    expect(rec.sources.provenance.every((p: any) => p.provenance.origin === 'arxiv')).toBe(true);
    expect(r.stderr).toMatch(/openalex: HTTP 429/);
    expect(r.stderr).toMatch(/Semantic Scholar answered with malformed JSON/);
  }, 300_000);
});

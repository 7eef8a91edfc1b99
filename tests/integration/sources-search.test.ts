/**
 * The search and fetch tools against local fakes of every provider and of the web (loopback
 * only): each provider's real response shape parses into hits with metadata; a 429, malformed
 * JSON, a 404, a redirect loop, a server that never answers, a 200 MB page and a robots.txt
 * rule each end in a reason, never an exception; keys go only in their own request and never
 * into a result; requests to one host stay within the per-host bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchOp } from '../../shared/ops/sources/search.ts';
import { fetchOp } from '../../shared/ops/sources/fetch.ts';
import { PROVIDERS } from '../../shared/sources/spec.ts';
import { fakeWebEnv, startFakeWeb, type FakeWeb } from '../helpers/fake-search.ts';

let web: FakeWeb;
const saved = { ...process.env };
const env = { blobText: () => Promise.reject(new Error('no blobs')) };
beforeAll(async () => {
  web = await startFakeWeb({ papers: 36 });
  Object.assign(process.env, fakeWebEnv(web));
});
afterAll(async () => {
  process.env = saved;
  await web?.close();
});

describe('sources.search', () => {
  it.each(PROVIDERS)('parses %s answers into hits with titles, abstracts and identifiers', async (provider) => {
    const out = await searchOp.extractive({ provider, query: 'KV cache compression eviction', n: 5 }, env);
    expect(out.error).toBeUndefined();
    expect(out.hits.length).toBeGreaterThan(0);
    expect(out.hits.length).toBeLessThanOrEqual(provider === 'searxng' ? 10 : 5);
    for (const h of out.hits) {
      expect(h.title).toMatch(/KV cache compression/);
      expect(h.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/abs\/p\d+$/);
    }
    if (provider !== 'tavily' && provider !== 'brave' && provider !== 'searxng') expect(out.hits[0].abstract).toMatch(/KV cache compression by/);
    if (['arxiv', 'openalex', 'semanticscholar'].includes(provider)) expect(out.hits[0]).toMatchObject({ doi: expect.stringMatching(/^10\.5555\/fake\.\d+$/), authors: expect.arrayContaining([expect.stringMatching(/^Author\d+ Alpha$/)]), year: expect.any(Number), pdfUrl: expect.stringMatching(/\/pdf\/p\d+\.pdf$/) });
    if (provider === 'openalex') expect(out.hits[0].abstract).toMatch(/^We study KV cache compression by/);
    expect(JSON.stringify(out)).not.toMatch(/test-key/);
  });

  it('sends each key only in its own provider request', async () => {
    await searchOp.extractive({ provider: 'brave', query: 'KV cache', n: 3 }, env);
    await searchOp.extractive({ provider: 'tavily', query: 'KV cache', n: 3 }, env);
    expect(web.headers.get('/brave')?.['x-subscription-token']).toBe('brave-test-key-456');
    expect(web.headers.get('/tavily')?.authorization).toBe('Bearer tvly-test-key-123');
    expect(JSON.stringify(web.headers.get('/arxiv'))).not.toMatch(/test-key/);
  });

  it('turns a 429 and malformed JSON into a reason with no hits', async () => {
    web.modes = { openalex: 'rate', s2: 'malformed' };
    const rate = await searchOp.extractive({ provider: 'openalex', query: 'KV cache', n: 3 }, env);
    expect(rate).toMatchObject({ hits: [], error: expect.stringMatching(/openalex: HTTP 429 \(rate limited\) after 2 attempt/) });
    const broken = await searchOp.extractive({ provider: 'semanticscholar', query: 'KV cache', n: 3 }, env);
    expect(broken).toMatchObject({ hits: [], error: expect.stringMatching(/Semantic Scholar answered with malformed JSON/) });
    web.modes = {};
  });

  it('names the missing setting when a provider cannot be asked', async () => {
    const { MR_SEARXNG_URL, TAVILY_API_KEY } = process.env;
    delete process.env.MR_SEARXNG_URL;
    delete process.env.TAVILY_API_KEY;
    try {
      expect((await searchOp.extractive({ provider: 'searxng', query: 'x y', n: 3 }, env)).error).toMatch(/MR_SEARXNG_URL/);
      expect((await searchOp.extractive({ provider: 'tavily', query: 'x y', n: 3 }, env)).error).toMatch(/TAVILY_API_KEY/);
    } finally {
      Object.assign(process.env, { MR_SEARXNG_URL, TAVILY_API_KEY });
    }
  });
});

describe('sources.fetch', () => {
  it('extracts a PDF and an HTML page, with the content hash of the bytes', async () => {
    const pdf = await fetchOp.extractive({ urls: [`${web.url}/pdf/p0001.pdf`] }, env);
    expect(pdf).toMatchObject({ ok: true, format: 'pdf', title: web.corpus[1].title, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(pdf.text).toContain('Memory falls by');
    const html = await fetchOp.extractive({ urls: [`${web.url}/abs/p0002`] }, env);
    expect(html).toMatchObject({ ok: true, format: 'html' });
    expect(html.text).toContain('Introduction. The key-value cache');
    expect(html.text).not.toContain('Sign in');
  }, 60_000);

  it.each([
    ['a 404', '/missing', /HTTP 404/],
    ['a redirect loop', '/loop', /redirect loop/],
    ['a server that never answers', '/hang', /no answer within 4000 ms after 2 attempt/],
    ['a 200 MB page', '/huge', /over the .* fetch limit/],
    ['a page robots.txt disallows', '/private/report', /disallowed by robots\.txt/],
  ])('gives a reason for %s', async (_what, path, why) => {
    const saveMax = process.env.MR_FETCH_MAX_BYTES;
    process.env.MR_FETCH_MAX_BYTES = String(8 * 1024 * 1024);
    try {
      const out = await fetchOp.extractive({ urls: [`${web.url}${path}`] }, env);
      expect(out.ok).toBe(false);
      expect(out.reason).toMatch(why);
    } finally {
      if (saveMax === undefined) delete process.env.MR_FETCH_MAX_BYTES;
      else process.env.MR_FETCH_MAX_BYTES = saveMax;
    }
  }, 30_000);

  it('falls back to the next URL when the first fails', async () => {
    const out = await fetchOp.extractive({ urls: [`${web.url}/missing`, `${web.url}/abs/p0003`] }, env);
    expect(out).toMatchObject({ ok: true, format: 'html', url: `${web.url}/abs/p0003` });
  });

  it('refuses loopback addresses unless MR_FETCH_ALLOW_PRIVATE is set', async () => {
    process.env.MR_FETCH_ALLOW_PRIVATE = '0';
    try {
      const out = await fetchOp.extractive({ urls: [`${web.url}/abs/p0003`] }, env);
      expect(out).toMatchObject({ ok: false, reason: expect.stringMatching(/private or loopback/) });
      // A name that resolves to a loopback address is refused too (this machine's own name, from /etc/hosts).
      const name = (await import('node:os')).hostname();
      const resolved = await (await import('node:dns/promises')).lookup(name).catch(() => null);
      if (resolved && /^127\./.test(resolved.address)) {
        const byName = await fetchOp.extractive({ urls: [web.url.replace('127.0.0.1', name) + '/abs/p0003'] }, env);
        expect(byName).toMatchObject({ ok: false, reason: expect.stringMatching(/private or loopback/) });
      }
    } finally {
      process.env.MR_FETCH_ALLOW_PRIVATE = '1';
    }
  });

  it('keeps at most MR_FETCH_PER_HOST requests in flight to one host', async () => {
    process.env.MR_FETCH_PER_HOST = '2';
    web.maxInFlight = 0;
    const ids = web.corpus.slice(0, 12).map((p) => p.id);
    await Promise.all(ids.map((id) => fetchOp.extractive({ urls: [`${web.url}/abs/${id}`] }, env)));
    expect(web.maxInFlight).toBeLessThanOrEqual(2);
  }, 60_000);
});

/**
 * Local fakes of the search APIs and of the web they point at, on 127.0.0.1 only, answering with
 * the real response shapes (documented in shared/sources/providers/*.ts):
 *   /arxiv/api/query        arXiv Atom feed            /searxng/search   SearXNG JSON
 *   /openalex/works         OpenAlex JSON              /s2/graph/v1/paper/search   Semantic Scholar JSON
 *   /tavily/search (POST)   Tavily JSON                /brave/res/v1/web/search    Brave JSON
 *   /serpapi/search.json    SerpAPI Google Scholar JSON
 *   /pdf/<id>.pdf, /abs/<id>  each paper as a PDF and as an HTML page
 *   bad pages: /missing (404), /loop (redirect loop), /hang (never answers), /huge (200 MB page),
 *   /private/… (disallowed by robots.txt)
 * `modes` turns a provider bad: 'rate' (always 429), 'malformed' (broken JSON).
 * Papers are generated from templates in research directions, plus off-topic ones.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { makePdf } from './fake-docs.ts';

export interface FakePaper {
  id: string;
  arxivId: string;
  doi: string;
  title: string;
  abstract: string;
  body: string;
  authors: string[];
  year: number;
  onTopic: boolean;
}

const DIRECTIONS: [string, string, string][] = [
  ['quantization', 'quantizes the key and value cache to low bit widths', 'per-channel scales keep outlier channels accurate'],
  ['eviction', 'evicts cache entries of tokens that receive little attention', 'a recent window and heavy hitters are always kept'],
  ['offloading', 'offloads cold cache blocks to host memory', 'prefetching hides the transfer behind computation'],
  ['low-rank projection', 'projects keys and values onto a low-rank basis', 'the basis is calibrated on a small corpus'],
  ['merging', 'merges similar adjacent cache entries into one', 'merged entries keep a weight for each source token'],
  ['paged memory', 'stores the cache in fixed-size pages', 'pages are shared between requests with a common prefix'],
];
// Off-topic papers that share one word with the topic, so searches return them and the filters must drop them.
const OFF: [string, string][] = [
  ['seed caching by squirrels', 'squirrels cache seeds in autumn and recover most of each cache from memory of landmarks'],
  ['image compression for telescopes', 'lossy compression of telescope images keeps faint galaxies visible'],
  ['sourdough fermentation', 'wild yeast and lactic bacteria leaven bread dough over long proofing times'],
];

/**
 * Papers from a V2 JSONL record (../shared/data/v2/*.jsonl), used by path: the first `n` with
 * text, plus one off-topic paper for every five, so the fakes serve real abstracts and texts.
 */
export function corpusFromJsonl(path: string, n: number): FakePaper[] {
  const rec = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]);
  const real = (rec.papers as any[]).filter((p) => p.title && (p.txt || p.abstract)).slice(0, n);
  const off = fakeCorpus(real.length + Math.ceil(real.length / 5)).filter((p) => !p.onTopic).slice(0, Math.ceil(real.length / 5));
  const papers = real.map((p, i): FakePaper => {
    const authors = Array.isArray(p.authors) ? p.authors.map(String) : String(p.authors ?? '').replace(/^\[|\]$/g, '').split(/',\s*'/).map((a: string) => a.replace(/^'|'$/g, '')).filter(Boolean);
    return { id: `p${String(i).padStart(4, '0')}`, arxivId: p.arxiv_id ?? `2501.${10000 + i}`, doi: `10.5555/real.${i}`, title: p.title, abstract: p.abstract ?? String(p.txt).slice(0, 1200), body: p.txt || p.abstract, authors, year: Number(String(p.date ?? '').slice(0, 4)) || 2024, onTopic: true };
  });
  return [...papers, ...off.map((p, j) => ({ ...p, id: `p${String(papers.length + j).padStart(4, '0')}` }))];
}

/** `n` papers: five in six on KV cache compression (six directions), the rest off topic. */
export function fakeCorpus(n: number): FakePaper[] {
  return Array.from({ length: n }, (_, i) => {
    const onTopic = i % 6 !== 5;
    const id = `p${String(i).padStart(4, '0')}`;
    const arxivId = `25${String(1 + (i % 12)).padStart(2, '0')}.${String(10000 + i)}`;
    const authors = [`Author${i} Alpha`, `Author${i} Beta`];
    const year = 2021 + (i % 5);
    if (!onTopic) {
      const [t, s] = OFF[i % OFF.length];
      const abstract = `This study of ${t} (variant ${i}) shows that ${s}. Field measurements over ${3 + (i % 9)} seasons support the account.`;
      return { id, arxivId, doi: `10.5555/fake.${i}`, title: `Notes on ${t}, part ${i}`, abstract, body: `${abstract}\n\n${abstract} The effect grows with temperature and time.`, authors, year, onTopic };
    }
    const [d, what, how] = DIRECTIONS[i % DIRECTIONS.length];
    const pct = 20 + ((i * 7) % 60);
    const abstract = `We study KV cache compression by ${d}. Our method ${what}, and ${how}. It cuts cache memory by ${pct} percent on long-context benchmarks with accuracy within one point of the full cache.`;
    const body = `${abstract}\n\nIntroduction. The key-value cache of a transformer grows with every token of the context, and serving long inputs runs out of GPU memory. Compression of the KV cache by ${d} addresses this. Variant ${i} of the method ${what}.\n\nMethod. The approach ${what}; ${how}. We evaluate on retrieval and summarisation tasks at contexts from 8k to 128k tokens.\n\nResults. Memory falls by ${pct} percent and throughput rises by ${10 + (i % 30)} percent, while accuracy stays within one point.`;
    return { id, arxivId, doi: `10.5555/fake.${i}`, title: `KV cache compression by ${d}: variant ${i}`, abstract, body, authors, year, onTopic };
  });
}

export interface FakeWeb {
  url: string;
  corpus: FakePaper[];
  /** Requests per path prefix, and the largest number in flight at once per host (all paths). */
  hits: Map<string, number>;
  maxInFlight: number;
  modes: Partial<Record<'arxiv' | 'searxng' | 'openalex' | 's2' | 'tavily' | 'brave' | 'serpapi', 'rate' | 'malformed'>>;
  /** Extra bad results SearXNG adds to each answer (relevant titles, bad URLs). */
  badLinks: boolean;
  /** Requests per full path (to check that no page is fetched twice). */
  paths: Map<string, number>;
  /** Delay before answering a paper's PDF or page (a slow web, for crash tests). */
  delayMs: number;
  /** Headers seen by each provider path (to check keys are sent where they belong). */
  headers: Map<string, Record<string, string | string[] | undefined>>;
  close(): Promise<void>;
}

const words = (s: string) => s.toLowerCase().match(/[a-z0-9-]+/g) ?? [];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Papers matching the query (all words, or any), best first: more words matched, then an order that depends on the query. */
function matching(corpus: FakePaper[], query: string, all: boolean): FakePaper[] {
  const q = words(query).filter((w) => w.length > 2);
  const salt = [...query].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  return corpus
    .map((p, i) => {
      const have = new Set(words(`${p.title} ${p.abstract}`));
      const n = q.filter((w) => have.has(w)).length;
      return { p, n, tie: ((i + 1) * 2654435761 + salt) % 1000 };
    })
    .filter((x) => (all ? x.n === q.length && q.length > 0 : x.n > 0))
    .sort((a, b) => b.n - a.n || a.tie - b.tie)
    .map((x) => x.p);
}

export async function startFakeWeb(o: { papers?: number; corpus?: FakePaper[] } = {}): Promise<FakeWeb> {
  const corpus = o.corpus ?? fakeCorpus(o.papers ?? 36);
  const byId = new Map(corpus.map((p) => [p.id, p]));
  const pdfCache = new Map<string, Promise<Uint8Array>>();
  let inFlight = 0;
  const hanging = new Set<ServerResponse>();
  const web: FakeWeb = { url: '', corpus, hits: new Map(), maxInFlight: 0, modes: {}, badLinks: false, headers: new Map(), paths: new Map(), delayMs: 0, close: async () => undefined };
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const bad = (res: ServerResponse, mode: string | undefined): boolean => {
    if (mode === 'rate') {
      res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' });
      res.end('{"error":"rate limited"}');
      return true;
    }
    if (mode === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"results": [{"title": "cut off');
      return true;
    }
    return false;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const p = u.pathname;
    const top = `/${p.split('/')[1]}`;
    web.hits.set(top, (web.hits.get(top) ?? 0) + 1);
    web.headers.set(top, req.headers);
    web.paths.set(p, (web.paths.get(p) ?? 0) + 1);
    if (web.delayMs && (top === '/pdf' || top === '/abs')) await new Promise((r) => setTimeout(r, web.delayMs));
    const base = web.url;
    const n = Number(u.searchParams.get('max_results') ?? u.searchParams.get('per-page') ?? u.searchParams.get('limit') ?? u.searchParams.get('count') ?? u.searchParams.get('num') ?? 10);
    if (p === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('User-agent: *\nDisallow: /private/\n');
    }
    if (p === '/arxiv/api/query') {
      if (bad(res, web.modes.arxiv)) return;
      const q = (u.searchParams.get('search_query') ?? '').replace(/all:/g, ' ').replace(/\bAND\b/g, ' ');
      const found = matching(corpus, q, true).slice(0, n);
      const entries = found.map((x) => `<entry><id>http://arxiv.org/abs/${x.arxivId}v1</id><updated>${x.year}-02-01T00:00:00Z</updated><published>${x.year}-01-15T00:00:00Z</published><title>${esc(x.title)}</title><summary>${esc(x.abstract)}</summary>${x.authors.map((a) => `<author><name>${esc(a)}</name></author>`).join('')}<arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">${x.doi}</arxiv:doi><link href="${base}/abs/${x.id}" rel="alternate" type="text/html"/><link title="pdf" href="${base}/pdf/${x.id}.pdf" rel="related" type="application/pdf"/><arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CL" scheme="http://arxiv.org/schemas/atom"/></entry>`);
      res.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8' });
      return res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title type="html">ArXiv Query</title><id>http://arxiv.org/api/x</id><updated>2026-01-01T00:00:00-05:00</updated><opensearch:totalResults>${found.length}</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex><opensearch:itemsPerPage>${n}</opensearch:itemsPerPage>${entries.join('')}</feed>`);
    }
    if (p === '/searxng/search') {
      if (bad(res, web.modes.searxng)) return;
      const q = u.searchParams.get('q') ?? '';
      const found = matching(corpus, q, false).slice(0, web.badLinks ? 5 : 10);
      const results: Record<string, unknown>[] = found.map((x, i) => ({ url: `${base}/abs/${x.id}`, title: x.title, content: x.abstract, engine: 'google scholar', engines: ['google scholar'], parsed_url: ['http', 'x', `/abs/${x.id}`, '', '', ''], positions: [i + 1], score: 1 / (i + 1), category: 'science', ...(i % 2 ? { pdf_url: `${base}/pdf/${x.id}.pdf`, doi: x.doi, authors: x.authors, publishedDate: `${x.year}-03-01T00:00:00` } : {}) }));
      if (web.badLinks) {
        for (const [path, what] of [['/missing', 'a missing page'], ['/loop', 'a redirect loop'], ['/hang', 'a server that never answers'], ['/huge', 'a 200 MB page'], ['/private/report', 'a page robots.txt disallows']])
          results.unshift({ url: `${base}${path}`, title: `KV cache compression notes: ${what}`, content: 'KV cache compression of long contexts.', engine: 'bing', engines: ['bing'], score: 0.1, category: 'general' });
      }
      return json(res, { query: q, number_of_results: results.length, results, answers: [], corrections: [], infoboxes: [], suggestions: [], unresponsive_engines: [] });
    }
    if (p === '/openalex/works') {
      if (bad(res, web.modes.openalex)) return;
      const found = matching(corpus, u.searchParams.get('search') ?? '', false).slice(0, n);
      return json(res, { meta: { count: found.length, db_response_time_ms: 3, page: 1, per_page: n }, results: found.map((x) => {
        const inv: Record<string, number[]> = {};
        x.abstract.split(' ').forEach((w, i) => (inv[w] ??= []).push(i));
        return { id: `https://openalex.org/W${x.id}`, doi: `https://doi.org/${x.doi}`, title: x.title, display_name: x.title, publication_year: x.year, authorships: x.authors.map((a) => ({ author_position: 'first', author: { id: 'https://openalex.org/A1', display_name: a } })), abstract_inverted_index: inv, open_access: { is_oa: true, oa_status: 'green', oa_url: `${base}/pdf/${x.id}.pdf` }, best_oa_location: { pdf_url: `${base}/pdf/${x.id}.pdf`, landing_page_url: `${base}/abs/${x.id}` }, primary_location: { landing_page_url: `${base}/abs/${x.id}`, pdf_url: null, source: { display_name: 'Fake Proceedings' } } };
      }), group_by: [] });
    }
    if (p === '/s2/graph/v1/paper/search') {
      if (bad(res, web.modes.s2)) return;
      const found = matching(corpus, u.searchParams.get('query') ?? '', false).slice(0, n);
      return json(res, { total: found.length, offset: 0, next: n, data: found.map((x) => ({ paperId: `s2${x.id}`, url: `${base}/abs/${x.id}`, title: x.title, abstract: x.abstract, venue: 'Fake Conf', year: x.year, authors: x.authors.map((a, i) => ({ authorId: String(i), name: a })), externalIds: { DOI: x.doi, ArXiv: x.arxivId }, openAccessPdf: { url: `${base}/pdf/${x.id}.pdf`, status: 'GREEN' } })) });
    }
    if (p === '/tavily/search') {
      if (bad(res, web.modes.tavily)) return;
      const body = await new Promise<string>((r) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => r(b)); });
      const q = JSON.parse(body || '{}');
      const found = matching(corpus, q.query ?? '', false).slice(0, q.max_results ?? 5);
      return json(res, { query: q.query, follow_up_questions: null, answer: null, images: [], results: found.map((x, i) => ({ title: x.title, url: `${base}/abs/${x.id}`, content: x.abstract, score: 1 - i / 100, raw_content: null })), response_time: 0.5 });
    }
    if (p === '/brave/res/v1/web/search') {
      if (bad(res, web.modes.brave)) return;
      const found = matching(corpus, u.searchParams.get('q') ?? '', false).slice(0, n);
      return json(res, { type: 'search', query: { original: u.searchParams.get('q') }, web: { type: 'search', results: found.map((x) => ({ title: x.title, url: `${base}/abs/${x.id}`, is_source_local: false, description: `<strong>KV</strong> ${x.abstract}`, page_age: `${x.year}-05-01T00:00:00`, language: 'en' })) } });
    }
    if (p === '/serpapi/search.json') {
      if (bad(res, web.modes.serpapi)) return;
      const found = matching(corpus, u.searchParams.get('q') ?? '', false).slice(0, n);
      return json(res, { search_metadata: { status: 'Success' }, organic_results: found.map((x, i) => ({ position: i, title: x.title, result_id: x.id, link: `${base}/abs/${x.id}`, snippet: x.abstract.slice(0, 160), publication_info: { summary: `${x.authors.join(', ')} - Fake Conf, ${x.year} - example.org` }, resources: [{ title: 'example.org', file_format: 'PDF', link: `${base}/pdf/${x.id}.pdf` }] })) });
    }
    const pdf = /^\/pdf\/(p\d+)\.pdf$/.exec(p);
    if (pdf && byId.has(pdf[1])) {
      const x = byId.get(pdf[1])!;
      if (!pdfCache.has(x.id)) pdfCache.set(x.id, makePdf(`${x.title}\n\n${x.body}`, { title: x.title, authors: x.authors, date: `${x.year}-01-15`, subject: `doi:${x.doi}` }));
      const bytes = await pdfCache.get(x.id)!;
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': bytes.length });
      return res.end(Buffer.from(bytes));
    }
    const abs = /^\/abs\/(p\d+)$/.exec(p);
    if (abs && byId.has(abs[1])) {
      const x = byId.get(abs[1])!;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(`<!DOCTYPE html><html><head><title>${esc(x.title)}</title><meta name="citation_title" content="${esc(x.title)}">${x.authors.map((a) => `<meta name="citation_author" content="${esc(a)}">`).join('')}<meta name="citation_doi" content="${x.doi}"><meta name="citation_publication_date" content="${x.year}/01/15"></head><body><nav>Home | Browse | Sign in</nav><article><h1>${esc(x.title)}</h1>${x.body.split('\n\n').map((para) => `<p>${esc(para)}</p>`).join('')}</article><footer>Fake archive</footer></body></html>`);
    }
    if (p === '/loop') {
      res.writeHead(302, { location: '/loop2' });
      return res.end();
    }
    if (p === '/loop2') {
      res.writeHead(302, { location: '/loop' });
      return res.end();
    }
    if (p === '/hang') {
      hanging.add(res);
      return; // never answers
    }
    if (p === '/huge') {
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(200 * 1024 * 1024) });
      const chunk = Buffer.alloc(1 << 20, 'a');
      let sent = 0;
      const pump = () => {
        while (sent < 200 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (p.startsWith('/private/')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html><body>secret</body></html>');
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  };
  const server: Server = createServer((req, res) => {
    inFlight++;
    web.maxInFlight = Math.max(web.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    handle(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  web.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  web.close = async () => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return web;
}

/** The environment that points every provider at the fake (keys are fake too). */
export function fakeWebEnv(web: FakeWeb): Record<string, string> {
  return {
    MR_ARXIV_URL: `${web.url}/arxiv/api/query`,
    MR_SEARXNG_URL: `${web.url}/searxng`,
    MR_OPENALEX_URL: `${web.url}/openalex`,
    MR_S2_URL: `${web.url}/s2`,
    MR_TAVILY_URL: `${web.url}/tavily`,
    MR_BRAVE_URL: `${web.url}/brave`,
    MR_SERPAPI_URL: `${web.url}/serpapi`,
    TAVILY_API_KEY: 'tvly-test-key-123',
    BRAVE_API_KEY: 'brave-test-key-456',
    SERPAPI_API_KEY: 'serp-test-key-789',
    S2_API_KEY: 's2-test-key-000',
    MR_FETCH_ALLOW_PRIVATE: '1',
    MR_FETCH_TIMEOUT_MS: '4000',
    MR_FETCH_RETRIES: '1',
  };
}

/**
 * Web search APIs, keys from the environment:
 * - Tavily (POST <base>/search, JSON {"query", "max_results"}, "Authorization: Bearer <key>"):
 *   {"query", "results": [{"title", "url", "content", "score", "published_date"?}]}
 * - Brave (GET <base>/res/v1/web/search?q=…&count=N, "X-Subscription-Token: <key>"):
 *   {"type": "search", "web": {"results": [{"title", "url", "description", "age"?, "page_age"?}]}}
 * - SerpAPI Google Scholar (GET <base>/search.json?engine=google_scholar&q=…&num=N&api_key=<key>):
 *   {"organic_results": [{"title", "link", "snippet", "publication_info": {"summary"},
 *   "resources": [{"file_format": "PDF", "link"}]}]}
 */
import { findArxivId, findDoi, findYear } from '../ids.ts';
import { MalformedResponse, parseJson, str, type Hit, type ProviderRequest } from './types.ts';

const hit = (title: string, url: string, abstract: string, extra: Partial<Hit> = {}): Hit => ({
  title, url, pdfUrl: /\.pdf($|\?)/i.test(url) ? url : null, abstract, authors: [], year: null, doi: findDoi(url), arxivId: findArxivId(url), venue: null, ...extra,
});

export function tavilyRequest(base: string, query: string, n: number, key: string): ProviderRequest {
  return { url: base.replace(/\/+$/, '') + '/search', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, max_results: n, search_depth: 'basic' }) };
}

export function parseTavily(text: string): Hit[] {
  const j = parseJson(text, 'Tavily');
  if (!j || !Array.isArray(j.results)) throw new MalformedResponse('Tavily answered without a results array');
  return (j.results as any[]).flatMap((r) => (str(r?.title) && str(r?.url) ? [hit(str(r.title), str(r.url), str(r.content), { year: findYear(str(r.published_date)) })] : []));
}

export function braveRequest(base: string, query: string, n: number, key: string): ProviderRequest {
  const u = new URL(base.replace(/\/+$/, '') + '/res/v1/web/search');
  u.searchParams.set('q', query);
  u.searchParams.set('count', String(Math.min(n, 20)));
  return { url: u.href, headers: { accept: 'application/json', 'x-subscription-token': key } };
}

export function parseBrave(text: string): Hit[] {
  const j = parseJson(text, 'Brave');
  if (!j || typeof j !== 'object') throw new MalformedResponse('Brave answered with no object');
  const results = j.web?.results ?? [];
  if (!Array.isArray(results)) throw new MalformedResponse('Brave answered without web.results');
  return results.flatMap((r: any) => (str(r?.title) && str(r?.url) ? [hit(str(r.title), str(r.url), str(r.description).replace(/<\/?strong>/g, ''), { year: findYear(str(r.page_age)) })] : []));
}

export function serpapiRequest(base: string, query: string, n: number, key: string): ProviderRequest {
  const u = new URL(base.replace(/\/+$/, '') + '/search.json');
  u.searchParams.set('engine', 'google_scholar');
  u.searchParams.set('q', query);
  u.searchParams.set('num', String(Math.min(n, 20)));
  u.searchParams.set('api_key', key);
  return { url: u.href, headers: { accept: 'application/json' } };
}

export function parseSerpapi(text: string): Hit[] {
  const j = parseJson(text, 'SerpAPI');
  if (!j || typeof j !== 'object') throw new MalformedResponse('SerpAPI answered with no object');
  if (typeof j.error === 'string' && !j.organic_results) throw new MalformedResponse(`SerpAPI: ${j.error.slice(0, 200)}`);
  const results = j.organic_results ?? [];
  if (!Array.isArray(results)) throw new MalformedResponse('SerpAPI answered without organic_results');
  return results.flatMap((r: any) => {
    if (!str(r?.title) || !str(r?.link)) return [];
    const pdf = Array.isArray(r.resources) ? r.resources.find((x: any) => /pdf/i.test(str(x?.file_format)))?.link : undefined;
    const summary = str(r.publication_info?.summary);
    return [hit(str(r.title), str(r.link), str(r.snippet), { pdfUrl: str(pdf) || null, year: findYear(summary), authors: summary.split(' - ')[0]?.split(/,\s*/).filter((a) => a && !/…|\d{4}/.test(a)) ?? [] })];
  });
}

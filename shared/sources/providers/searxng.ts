/**
 * SearXNG's JSON API (GET <base>/search?q=…&format=json; the instance must enable the json
 * format): {"query", "number_of_results", "results": [{"url", "title", "content", "engine",
 * "engines", "score", "publishedDate"?, "doi"?, "authors"?, "pdf_url"?}]} — the science engines
 * add doi, authors and pdf_url.
 */
import { findArxivId, findDoi, findYear } from '../ids.ts';
import { MalformedResponse, parseJson, str, type Hit, type ProviderRequest } from './types.ts';

export function searxngRequest(base: string, query: string, n: number): ProviderRequest {
  const u = new URL(base.replace(/\/+$/, '') + '/search');
  u.searchParams.set('q', query);
  u.searchParams.set('format', 'json');
  u.searchParams.set('pageno', '1');
  void n;
  return { url: u.href, headers: { accept: 'application/json' } };
}

export function parseSearxng(text: string, n = 100): Hit[] {
  const j = parseJson(text, 'SearXNG');
  if (!j || !Array.isArray(j.results)) throw new MalformedResponse('SearXNG answered without a results array');
  return (j.results as any[]).slice(0, n).flatMap((r): Hit[] => {
    const title = str(r?.title);
    const url = str(r?.url);
    if (!title || !url) return [];
    return [{
      title,
      url,
      pdfUrl: str(r.pdf_url) || (/\.pdf($|\?)/i.test(url) ? url : null),
      abstract: str(r.content),
      authors: Array.isArray(r.authors) ? r.authors.map(str).filter(Boolean) : [],
      year: findYear(str(r.publishedDate)),
      doi: findDoi(str(r.doi)) ?? findDoi(url),
      arxivId: findArxivId(url),
      venue: str(r.journal) || null,
    }];
  });
}

/**
 * Semantic Scholar Graph API (GET <base>/graph/v1/paper/search?query=…&limit=N&fields=…, key in
 * the x-api-key header): {"total", "offset", "data": [{"paperId", "title", "abstract", "year",
 * "venue", "url", "authors": [{"name"}], "externalIds": {"DOI", "ArXiv"}, "openAccessPdf": {"url"}}]}.
 */
import { findDoi } from '../ids.ts';
import { MalformedResponse, parseJson, str, type Hit, type ProviderRequest } from './types.ts';

export const S2_FIELDS = 'title,abstract,year,venue,url,authors,externalIds,openAccessPdf';

export function s2Request(base: string, query: string, n: number, key?: string): ProviderRequest {
  const u = new URL(base.replace(/\/+$/, '') + '/graph/v1/paper/search');
  u.searchParams.set('query', query);
  u.searchParams.set('limit', String(n));
  u.searchParams.set('fields', S2_FIELDS);
  return { url: u.href, headers: { accept: 'application/json', ...(key ? { 'x-api-key': key } : {}) } };
}

export function parseS2(text: string): Hit[] {
  const j = parseJson(text, 'Semantic Scholar');
  if (!j || !Array.isArray(j.data)) throw new MalformedResponse('Semantic Scholar answered without a data array');
  return (j.data as any[]).flatMap((r): Hit[] => {
    const title = str(r?.title);
    if (!title) return [];
    const ax = str(r.externalIds?.ArXiv);
    return [{
      title,
      url: str(r.url) || null,
      pdfUrl: str(r.openAccessPdf?.url) || null,
      abstract: str(r.abstract),
      authors: Array.isArray(r.authors) ? r.authors.map((a: any) => str(a?.name)).filter(Boolean) : [],
      year: Number.isInteger(r.year) ? r.year : null,
      doi: findDoi(str(r.externalIds?.DOI)),
      arxivId: /^\d{4}\.\d{4,5}$/.test(ax) ? ax : null,
      venue: str(r.venue) || null,
    }];
  });
}

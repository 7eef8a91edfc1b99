/**
 * OpenAlex (GET <base>/works?search=…&per-page=N): {"meta": {...}, "results": [{"id", "doi"
 * ("https://doi.org/…"), "display_name", "publication_year", "authorships": [{"author":
 * {"display_name"}}], "abstract_inverted_index": {word: [positions]}, "open_access": {"oa_url"},
 * "best_oa_location": {"pdf_url", "landing_page_url"}, "primary_location": {"landing_page_url",
 * "source": {"display_name"}}}]}. The abstract comes as an inverted index and is rebuilt.
 */
import { findArxivId, findDoi } from '../ids.ts';
import { MalformedResponse, parseJson, str, type Hit, type ProviderRequest } from './types.ts';

export function openalexRequest(base: string, query: string, n: number, mailto?: string): ProviderRequest {
  const u = new URL(base.replace(/\/+$/, '') + '/works');
  u.searchParams.set('search', query);
  u.searchParams.set('per-page', String(n));
  if (mailto) u.searchParams.set('mailto', mailto);
  return { url: u.href, headers: { accept: 'application/json' } };
}

/** Words placed at their positions: OpenAlex's abstract_inverted_index back to text. */
export function invertedToText(index: unknown): string {
  if (!index || typeof index !== 'object') return '';
  const words: string[] = [];
  for (const [w, positions] of Object.entries(index as Record<string, unknown>)) if (Array.isArray(positions)) for (const p of positions) if (Number.isInteger(p) && p >= 0 && p < 100_000) words[p] = w;
  return words.filter((w) => w !== undefined).join(' ');
}

export function parseOpenalex(text: string): Hit[] {
  const j = parseJson(text, 'OpenAlex');
  if (!j || !Array.isArray(j.results)) throw new MalformedResponse('OpenAlex answered without a results array');
  return (j.results as any[]).flatMap((r): Hit[] => {
    const title = str(r?.display_name ?? r?.title);
    if (!title) return [];
    const landing = str(r.primary_location?.landing_page_url) || str(r.best_oa_location?.landing_page_url) || null;
    const pdf = str(r.best_oa_location?.pdf_url) || str(r.primary_location?.pdf_url) || null;
    return [{
      title,
      url: landing ?? (str(r.doi) || null),
      pdfUrl: pdf ?? (str(r.open_access?.oa_url).match(/\.pdf($|\?)/i) ? str(r.open_access.oa_url) : null),
      abstract: invertedToText(r.abstract_inverted_index),
      authors: Array.isArray(r.authorships) ? r.authorships.map((a: any) => str(a?.author?.display_name)).filter(Boolean) : [],
      year: Number.isInteger(r.publication_year) ? r.publication_year : null,
      doi: findDoi(str(r.doi)),
      arxivId: findArxivId(`${landing ?? ''} ${pdf ?? ''}`),
      venue: str(r.primary_location?.source?.display_name) || null,
    }];
  });
}

/** Every search provider: the request for a query, and the parser of its answer. */
import type { SourcesEnv } from '../config.ts';
import type { Provider } from '../spec.ts';
import { arxivRequest, parseArxiv } from './arxiv.ts';
import { parseSearxng, searxngRequest } from './searxng.ts';
import { openalexRequest, parseOpenalex } from './openalex.ts';
import { parseS2, s2Request } from './semantic-scholar.ts';
import { braveRequest, parseBrave, parseSerpapi, parseTavily, serpapiRequest, tavilyRequest } from './web.ts';
import type { Hit, ProviderRequest } from './types.ts';

export type { Hit, ProviderRequest } from './types.ts';
export { HitSchema, MalformedResponse } from './types.ts';

/** The request, or why the provider cannot be asked (a missing base URL or key, named by its variable). */
export function providerRequest(p: Provider, query: string, n: number, cfg: SourcesEnv): ProviderRequest | { problem: string } {
  switch (p) {
    case 'arxiv':
      return arxivRequest(cfg.MR_ARXIV_URL, query, n);
    case 'searxng':
      return cfg.MR_SEARXNG_URL ? searxngRequest(cfg.MR_SEARXNG_URL, query, n) : { problem: 'SearXNG needs the URL of an instance in MR_SEARXNG_URL' };
    case 'openalex':
      return openalexRequest(cfg.MR_OPENALEX_URL, query, n, cfg.MR_CONTACT_EMAIL);
    case 'semanticscholar':
      return s2Request(cfg.MR_S2_URL, query, n, cfg.S2_API_KEY);
    case 'tavily':
      return cfg.TAVILY_API_KEY ? tavilyRequest(cfg.MR_TAVILY_URL, query, n, cfg.TAVILY_API_KEY) : { problem: 'Tavily needs a key in TAVILY_API_KEY' };
    case 'brave':
      return cfg.BRAVE_API_KEY ? braveRequest(cfg.MR_BRAVE_URL, query, n, cfg.BRAVE_API_KEY) : { problem: 'Brave needs a key in BRAVE_API_KEY' };
    case 'serpapi':
      return cfg.SERPAPI_API_KEY ? serpapiRequest(cfg.MR_SERPAPI_URL, query, n, cfg.SERPAPI_API_KEY) : { problem: 'SerpAPI needs a key in SERPAPI_API_KEY' };
  }
}

export function parseProvider(p: Provider, body: string, n: number): Hit[] {
  const hits = p === 'arxiv' ? parseArxiv(body) : p === 'searxng' ? parseSearxng(body) : p === 'openalex' ? parseOpenalex(body) : p === 'semanticscholar' ? parseS2(body) : p === 'tavily' ? parseTavily(body) : p === 'brave' ? parseBrave(body) : parseSerpapi(body);
  return hits.slice(0, n);
}

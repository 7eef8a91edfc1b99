/**
 * Settings of the search and fetch tools, from the worker's environment (validated: a bad value
 * names its variable). Base URLs are configurable so tests point them at local fakes; API keys
 * are read here and only ever sent to their own provider, never logged or put in a result.
 */
import { z } from 'zod';

const url = z.string().url();
const int = (d: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(d);

export const SourcesEnvSchema = z.object({
  MR_ARXIV_URL: url.default('https://export.arxiv.org/api/query'),
  MR_SEARXNG_URL: url.optional(),
  MR_OPENALEX_URL: url.default('https://api.openalex.org'),
  MR_S2_URL: url.default('https://api.semanticscholar.org'),
  MR_TAVILY_URL: url.default('https://api.tavily.com'),
  MR_BRAVE_URL: url.default('https://api.search.brave.com'),
  MR_SERPAPI_URL: url.default('https://serpapi.com'),
  S2_API_KEY: z.string().optional(),
  TAVILY_API_KEY: z.string().optional(),
  BRAVE_API_KEY: z.string().optional(),
  SERPAPI_API_KEY: z.string().optional(),
  /** A polite contact for OpenAlex's "polite pool" (mailto=). */
  MR_CONTACT_EMAIL: z.string().email().optional(),
  MR_FETCH_TIMEOUT_MS: int(20_000, 500, 600_000),
  MR_FETCH_MAX_BYTES: int(32 * 1024 * 1024, 1024, 512 * 1024 * 1024),
  /** Requests in flight per host, per worker process. */
  MR_FETCH_PER_HOST: int(2, 1, 64),
  MR_FETCH_RETRIES: int(2, 0, 10),
  MR_FETCH_MAX_REDIRECTS: int(5, 0, 20),
  /** Allow fetching loopback and private addresses (tests, intranets). Off: such URLs are refused. */
  MR_FETCH_ALLOW_PRIVATE: z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
  MR_FETCH_USER_AGENT: z.string().min(3).default('llmxmr-sources/0.1 (+https://github.com/llmxmapreduce)'),
});
export type SourcesEnv = z.infer<typeof SourcesEnvSchema>;

export function sourcesEnv(env: Record<string, string | undefined> = process.env): SourcesEnv {
  const r = SourcesEnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== '' && k in SourcesEnvSchema.shape)));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`bad sources setting ${String(i.path[0])}: ${i.message}`);
  }
  return r.data;
}

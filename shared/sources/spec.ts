/**
 * The sources spec of a V2 job (params.sources): topic-only mode, where the cluster searches
 * and fetches its own papers. Validated on the wire like every other param; unknown keys are refused.
 */
import { z } from 'zod';

export const PROVIDERS = ['arxiv', 'searxng', 'openalex', 'semanticscholar', 'tavily', 'brave', 'serpapi'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const SourcesSpecSchema = z
  .object({
    /** What to search for (the survey's topic). */
    topic: z.string().trim().min(2).max(500),
    providers: z.array(z.enum(PROVIDERS)).min(1).max(PROVIDERS.length),
    /** Search queries generated from the topic (the topic itself is always one of them). */
    queries: z.number().int().min(1).max(20).default(4),
    /** Hits asked of each provider per query. */
    perQuery: z.number().int().min(1).max(100).default(10),
    /** Pages fetched at most (after dedupe, best BM25 first). */
    maxFetch: z.number().int().min(1).max(5000).default(200),
    /** Sources kept at most for the survey (after the relevance filter). */
    maxSources: z.number().int().min(2).max(5000).default(60),
    /** Fetch full text (PDF or page) where a hit offers it; otherwise the abstract is the text. */
    fetchFullText: z.boolean().default(true),
    /** Ask the model whether each source is relevant after BM25 (the offline engine keeps BM25's choice). */
    judge: z.boolean().default(true),
  })
  .strict();
export type SourcesSpec = z.infer<typeof SourcesSpecSchema>;

export function isProvider(s: string): s is Provider {
  return (PROVIDERS as readonly string[]).includes(s);
}

/**
 * sources.search (map, tool): one query to one provider; the hits with their metadata. A
 * provider that cannot be asked, refuses (429 after retries, 4xx), or answers malformed JSON
 * gives no hits and its reason: the job goes on with the other searches. Keys never appear in
 * the result (reasons name the provider, not the request URL).
 */
import { z } from 'zod';
import { defineOp } from '../op.ts';
import { PROVIDERS } from '../../sources/spec.ts';
import { sourcesEnv } from '../../sources/config.ts';
import { fetchUrl } from '../../sources/http.ts';
import { HitSchema, MalformedResponse, parseProvider, providerRequest } from '../../sources/providers/index.ts';

export const SearchInputSchema = z.object({ provider: z.enum(PROVIDERS), query: z.string().min(1).max(300), n: z.number().int().min(1).max(100) });
export type SearchInput = z.infer<typeof SearchInputSchema>;
export const SearchOutputSchema = z.object({ hits: z.array(HitSchema), error: z.string().optional(), ms: z.number(), at: z.string() });
export type SearchOutput = z.infer<typeof SearchOutputSchema>;

export const searchOp = defineOp<SearchInput, SearchOutput>({
  name: 'sources.search',
  kind: 'map',
  version: 1,
  tool: true,
  input: SearchInputSchema,
  output: SearchOutputSchema,
  prompt: () => {
    throw new Error('sources.search is a tool and has no prompt');
  },
  async extractive(input, env) {
    const t0 = Date.now();
    const at = new Date().toISOString();
    const cfg = sourcesEnv();
    const req = providerRequest(input.provider, input.query, input.n, cfg);
    if ('problem' in req) return { hits: [], error: req.problem, ms: 0, at };
    const res = await fetchUrl(req.url, cfg, { method: req.method, headers: req.headers, body: req.body, signal: env.signal, api: true, maxBytes: 16 * 1024 * 1024 });
    if (!res.ok) return { hits: [], error: `${input.provider}: ${res.reason}`, ms: Date.now() - t0, at };
    try {
      return { hits: parseProvider(input.provider, Buffer.from(res.bytes).toString('utf8'), input.n), ms: Date.now() - t0, at };
    } catch (e) {
      if (e instanceof MalformedResponse) return { hits: [], error: e.message, ms: Date.now() - t0, at };
      return { hits: [], error: `${input.provider}: unreadable answer (${(e as Error).message.slice(0, 200)})`, ms: Date.now() - t0, at };
    }
  },
});

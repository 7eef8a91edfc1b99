/**
 * sources.fetch (map, tool): the full text behind a hit (its PDF, else its page), extracted by
 * the same code as local files. The format is sniffed from the bytes (a PDF served as
 * text/html is still a PDF). A failure (404, redirect loop, timeout, size cap, robots.txt, a
 * scanned PDF) is a reason in the result, not a failed task. The text is capped so the result
 * fits a bus message; the survey reads papers' openings anyway.
 */
import { z } from 'zod';
import { defineOp } from '../op.ts';
import { sourcesEnv } from '../../sources/config.ts';
import { fetchUrl } from '../../sources/http.ts';
import { extractDocument, EXTRACT_LIMITS } from '../../sources/extract.ts';
import { sha256Hex } from '../../sources/ids.ts';
import { cutAt } from '../../protocol/v2-input.ts';

export const FETCH_TEXT_CHARS = 200_000;

export const FetchInputSchema = z.object({ urls: z.array(z.string().url()).min(1).max(4) });
export type FetchInput = z.infer<typeof FetchInputSchema>;
export const FetchOutputSchema = z.object({
  ok: z.boolean(),
  url: z.string(),
  reason: z.string().optional(),
  format: z.string().optional(),
  title: z.string().optional(),
  text: z.string().optional(),
  sha256: z.string().optional(),
  retrievedAt: z.string().optional(),
  /** Characters before the cap. */
  chars: z.number().optional(),
  ms: z.number(),
});
export type FetchOutput = z.infer<typeof FetchOutputSchema>;

export const fetchOp = defineOp<FetchInput, FetchOutput>({
  name: 'sources.fetch',
  kind: 'map',
  version: 1,
  tool: true,
  input: FetchInputSchema,
  output: FetchOutputSchema,
  prompt: () => {
    throw new Error('sources.fetch is a tool and has no prompt');
  },
  async extractive(input, env) {
    const t0 = Date.now();
    const cfg = sourcesEnv();
    const reasons: string[] = [];
    // The URLs in order of preference (PDF first); the first that yields text wins.
    for (const url of input.urls) {
      const res = await fetchUrl(url, cfg, { signal: env.signal });
      if (!res.ok) {
        reasons.push(`${url}: ${res.reason}`);
        continue;
      }
      const got = await extractDocument(res.bytes, new URL(res.url).pathname, res.contentType, { ...EXTRACT_LIMITS, maxBytes: cfg.MR_FETCH_MAX_BYTES });
      if (!got.ok) {
        reasons.push(`${url}: ${got.reason}`);
        continue;
      }
      const text = cutAt(got.doc.text, FETCH_TEXT_CHARS);
      return { ok: true, url: res.url, format: got.doc.format, ...(got.doc.title ? { title: got.doc.title } : {}), text, sha256: sha256Hex(res.bytes), retrievedAt: new Date().toISOString(), chars: got.doc.text.length, ms: Date.now() - t0 };
    }
    return { ok: false, url: input.urls[0], reason: reasons.join('; '), ms: Date.now() - t0 };
  },
});

/** A search hit as every provider's parser returns it, and the request a provider wants. */
import { z } from 'zod';

export const HitSchema = z.object({
  title: z.string().min(1),
  /** Landing page (abstract page, article). */
  url: z.string().nullable(),
  /** Full text offered as a PDF (arXiv, open access), when known. */
  pdfUrl: z.string().nullable(),
  abstract: z.string(),
  authors: z.array(z.string()),
  year: z.number().int().nullable(),
  doi: z.string().nullable(),
  arxivId: z.string().nullable(),
  venue: z.string().nullable(),
});
export type Hit = z.infer<typeof HitSchema>;

export interface ProviderRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export class MalformedResponse extends Error {}

export function parseJson(text: string, what: string): any {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MalformedResponse(`${what} answered with malformed JSON (${(e as Error).message.slice(0, 120)})`);
  }
}

export const str = (v: unknown): string => (typeof v === 'string' ? v.replace(/\s+/g, ' ').trim() : '');

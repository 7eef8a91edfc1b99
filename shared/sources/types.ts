/**
 * What every retriever hands on: documents with their text, the metadata they carried, and where
 * each came from (provenance), plus the sources it had to skip, each with its reason.
 */
import { z } from 'zod';

/** Where one source came from; kept in the survey's record beside its paper id. */
export const ProvenanceSchema = z.object({
  /** Which retriever found it: "local", "jsonl", "arxiv", "searxng", "openalex", "semanticscholar", "tavily", "brave", "serpapi". */
  origin: z.string().min(1),
  /** File path relative to the input folder (local sources). */
  path: z.string().optional(),
  /** The URL the text was fetched from (remote sources) or the landing page the metadata names. */
  url: z.string().optional(),
  doi: z.string().optional(),
  arxivId: z.string().optional(),
  /** ISO time the bytes were read or fetched. */
  retrievedAt: z.string(),
  /** sha256 of the bytes the text was extracted from (hex). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** pdf, docx, html, markdown, text, or metadata (an abstract from a search API). */
  format: z.string(),
  /** The search query that found it (remote sources). */
  query: z.string().optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

export const SourceDocSchema = z.object({
  title: z.string().min(1),
  text: z.string(),
  abstract: z.string().optional(),
  authors: z.array(z.string()),
  year: z.number().int().nullable(),
  doi: z.string().nullable(),
  arxivId: z.string().nullable(),
  url: z.string().nullable(),
  venue: z.string().nullable().optional(),
  provenance: ProvenanceSchema,
});
export type SourceDoc = z.infer<typeof SourceDocSchema>;

export const SkippedSourceSchema = z.object({
  /** The path, URL or query that could not be used. */
  source: z.string(),
  reason: z.string(),
});
export type SkippedSource = z.infer<typeof SkippedSourceSchema>;

/** One retriever's yield. */
export interface Retrieved {
  docs: SourceDoc[];
  skipped: SkippedSource[];
  /** Candidates seen (files found, search hits), before any was skipped. */
  found: number;
}

/** One retriever interface, many adapters (local folders, JSONL, scholarly APIs, web search). */
export interface Retriever {
  readonly name: string;
  retrieve(signal?: AbortSignal): Promise<Retrieved>;
}

/**
 * The V1 document limit, shared by the CLI (checked from the file size before anything is
 * uploaded) and the coordinator (checked from the Object Store entry's size before the job
 * reads it). The coordinator streams the document, so the limit bounds work and storage, not
 * memory; `MR_MAX_DOC_MB` raises or lowers it for both.
 */
import { z } from 'zod';

export const V1_INPUT_LIMITS = {
  /** Default largest document, in MiB. */
  maxDocMiB: 256,
  /** Highest value MR_MAX_DOC_MB may take. */
  maxDocMiBCeiling: 4096,
  /**
   * Chunks (map tasks) of one document: the coordinator keeps one record per chunk, so this and
   * not the document size bounds its memory (a 256 MiB document at the default window makes
   * about 13,000).
   */
  maxChunks: 20_000,
};

const MiB = 1024 * 1024;

/** The document limit in bytes: MR_MAX_DOC_MB when set (1 – 4096), else the default. */
export function maxDocBytes(env: Record<string, string | undefined> = process.env): number {
  const raw = env.MR_MAX_DOC_MB;
  if (raw === undefined || raw === '') return V1_INPUT_LIMITS.maxDocMiB * MiB;
  const n = z.coerce.number().int().min(1).max(V1_INPUT_LIMITS.maxDocMiBCeiling).safeParse(raw);
  if (!n.success) throw new Error(`MR_MAX_DOC_MB="${raw}" is not a whole number of MiB from 1 to ${V1_INPUT_LIMITS.maxDocMiBCeiling}: fix or unset it`);
  return n.data * MiB;
}

/** The refusal for a document over the limit, naming the limit and how to change it. */
export function docTooLarge(what: string, bytes: number, limit: number): string {
  return `${what} is ${(bytes / MiB).toFixed(1)} MiB; the limit is ${(limit / MiB).toFixed(0)} MiB (split the document, or raise MR_MAX_DOC_MB on the coordinators and the CLI)`;
}

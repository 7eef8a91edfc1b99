/**
 * msgpack on the wire, zod on both sides: `decode` never throws; a malformed message becomes
 * an error value with a readable reason.
 */
import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { describeIssues } from './issues.ts';

const packr = new Packr({ useRecords: false, moreTypes: true });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string; raw?: unknown };

/** Decode msgpack bytes and validate them; the error names the first problems found. */
export function decode<T>(schema: z.ZodType<T>, data: Uint8Array): Decoded<T> {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (e) {
    return { ok: false, error: `not valid msgpack (${(e as Error).message})` };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error, schema);
    return { ok: false, error: `invalid message: ${issues}`, raw };
  }
  return { ok: true, value: parsed.data };
}

/** Decode msgpack without validation (for inspecting bad messages); undefined if undecodable. */
export function decodeLoose(data: Uint8Array): unknown {
  try {
    return packr.unpack(data);
  } catch {
    return undefined;
  }
}

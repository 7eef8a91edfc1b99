/**
 * Deterministic ids: a task id is a hash of (job id, op, canonical input), so replaying a job
 * script re-issues the same ids and finds the results already stored.
 */
import { createHash, randomBytes } from 'node:crypto';

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function taskId(jobId: string, op: string, input: unknown): string {
  return createHash('sha256')
    .update(jobId)
    .update('\0')
    .update(op)
    .update('\0')
    .update(canonicalJson(input))
    .digest('hex')
    .slice(0, 32);
}

/**
 * The default seed of a job's random generator: derived from what the job computes (pipeline,
 * engine, parameters), never from its id, so that the same command run twice takes the same
 * random path, sends the same requests, and is answered from the response cache.
 */
export function defaultJobSeed(spec: { pipeline: string; engine?: string; params: unknown }): string {
  return `${spec.pipeline}|${spec.engine ?? ''}|${canonicalJson(spec.params)}`;
}

/** An Object Store key named by its content's hash: the same input always gets the same key. */
export function contentKey(prefix: string, content: string, ext: string): string {
  return `${prefix}/sha256-${createHash('sha256').update(content).digest('hex').slice(0, 40)}.${ext}`;
}

/** A new job id: time-ordered prefix plus randomness, safe as a subject token. */
export function newJobId(prefix = 'job'): string {
  const t = Date.now().toString(36);
  return `${prefix}-${t}-${randomBytes(4).toString('hex')}`;
}

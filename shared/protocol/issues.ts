/**
 * Validation issues in words a person can act on: the path, the message, and for a key the
 * schema does not know, the nearest key it does know ("did you mean groupSize?"). Pure.
 */
import type { z } from 'zod';

/** Edit distance between two short strings (case-insensitive). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}

/** The known key nearest to `key`, when it is close enough to be a slip of the keyboard. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) (best = k), (bestD = d);
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Object keys a schema accepts at a path (through objects, optionals, defaults and unions). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const def = (schema as any)?._zod?.def;
  if (!def) return [];
  if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') return keysAt(def.innerType, path);
  if (def.type === 'pipe') return keysAt(def.in, path);
  if (def.type === 'union') return [...new Set<string>(def.options.flatMap((o: z.ZodType) => keysAt(o, path)))];
  if (def.type !== 'object') return [];
  if (path.length === 0) return Object.keys(def.shape);
  const next = def.shape[path[0] as string];
  return next ? keysAt(next, path.slice(1)) : [];
}

/** One line per issue (at most `max`), with the nearest known key for each unknown one. */
export function describeIssues(error: z.ZodError, schema?: z.ZodType, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((i) => {
      const where = i.path.length ? i.path.join('.') : '(root)';
      if (i.code === 'unrecognized_keys') {
        const known = schema ? keysAt(schema, i.path) : [];
        return i.keys
          .map((k) => {
            const near = nearestKey(k, known);
            return `${where === '(root)' ? '' : `${where}.`}${k}: unknown parameter${near ? ` (did you mean "${near}"?)` : known.length ? ` (known: ${known.join(', ')})` : ''}`;
          })
          .join('; ');
      }
      return `${where}: ${i.message}`;
    })
    .join('; ');
}

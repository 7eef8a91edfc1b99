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

/** A path as a reader writes it: `papers[4].txt`. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)), '');
}

/** What a JSON value is, in words. */
export function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return 'text';
  if (typeof v === 'boolean') return 'true/false';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const EXPECTED: Record<string, string> = { string: 'text', number: 'a number', int: 'a whole number', boolean: 'true/false', object: 'an object', array: 'an array', null: 'null' };

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** The kinds an issue accepted, from a type issue or a union of them. */
function expectedOf(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'invalid_type') return [EXPECTED[issue.expected] ?? issue.expected];
  if (issue.code === 'invalid_union') return [...new Set(issue.errors.flatMap((errs) => errs.filter((e) => e.path.length === 0).flatMap(expectedOf)))];
  return [];
}

/**
 * One issue in words a person can act on, naming the field and what was found:
 * `papers[4].txt: expected text, found a number`. `root` is the validated value, `base` the
 * path of that value inside the document.
 */
export function plainIssue(issue: z.core.$ZodIssue, root: unknown, base: readonly PropertyKey[] = []): string {
  const where = pathText([...base, ...issue.path]) || 'the record';
  const expected = expectedOf(issue);
  if (!expected.length) return `${where}: ${issue.message}`;
  const found = valueAt(root, issue.path);
  if (found === undefined) return `${where}: missing (expected ${expected.join(' or ')})`;
  return `${where}: expected ${expected.join(' or ')}, found ${kindOf(found)}`;
}

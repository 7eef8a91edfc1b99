/**
 * Reply content for the fleet simulator: a JSON value that is valid for a requested JSON
 * Schema, or a short text, both made of words taken from the prompt. Deterministic for a given
 * generator (the simulator seeds it from its seed and the request). Pure: no I/O.
 */
import type { Rng } from '../algo/rng.ts';
import { terms } from '../algo/text.ts';

type Schema = Record<string, any> | boolean;

/** Beyond this nesting depth the generator takes the smallest valid choice (ends recursion). */
const MAX_DEPTH = 6;
const FALLBACK_WORDS = ['filler', 'value', 'sample'];

/** Content words of the prompt, most recent message first (bounded). */
export function promptWords(messages: readonly { content?: unknown }[]): string[] {
  const out: string[] = [];
  for (let i = messages.length - 1; i >= 0 && out.length < 4000; i--) {
    const c = messages[i]?.content;
    const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((p: any) => p?.text ?? '').join(' ') : '';
    for (const t of terms(text)) {
      if (out.length >= 4000) break;
      if (/^[\p{L}][\p{L}\p{N}'’-]*$/u.test(t)) out.push(t);
    }
  }
  return out.length > 0 ? out : FALLBACK_WORDS;
}

/** A few sentences of prompt words (free-text replies). */
export function makeText(words: readonly string[], rng: Rng, maxWords = 60): string {
  const n = Math.max(1, Math.min(maxWords, 20 + rng.int(41)));
  const sentences: string[] = [];
  let left = n;
  while (left > 0) {
    const len = Math.min(left, 6 + rng.int(9));
    const picked = Array.from({ length: len }, () => pick(words, rng));
    const s = picked.join(' ');
    sentences.push(s.charAt(0).toUpperCase() + s.slice(1) + '.');
    left -= len;
  }
  return sentences.join(' ');
}

/** A JSON value valid for `schema` (JSON Schema as zod's toJSONSchema and OpenAI clients emit it). */
export function makeJson(schema: Schema, words: readonly string[], rng: Rng): unknown {
  const pool = words.length > 0 ? words : FALLBACK_WORDS;
  return gen(schema, typeof schema === 'object' ? schema : {}, pool, rng, 0);
}

/** A value valid for the subschema `s` of `root` (its $refs resolve against `root`). */
export function makeJsonAt(s: Schema, root: Record<string, any>, words: readonly string[], rng: Rng, depth = 0): unknown {
  return gen(s, root, words.length > 0 ? words : FALLBACK_WORDS, rng, depth);
}

function pick<T>(items: readonly T[], rng: Rng): T {
  return items[rng.int(items.length)];
}

export function resolveRef(root: Record<string, any>, ref: string): Schema {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return {};
  let node: any = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = node?.[key];
    if (node === undefined) return {};
  }
  return node;
}

export function isNullSchema(s: Schema): boolean {
  return typeof s === 'object' && (s.type === 'null' || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null));
}

/** Shallow merge of allOf parts (zod intersections of objects). */
export function mergeAll(parts: Schema[], root: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (let p of parts) {
    if (typeof p !== 'object') continue;
    if (p.$ref) p = resolveRef(root, p.$ref);
    if (typeof p !== 'object') continue;
    for (const [k, v] of Object.entries(p)) {
      if (k === 'properties') out.properties = { ...(out.properties ?? {}), ...v };
      else if (k === 'required') out.required = [...new Set([...(out.required ?? []), ...v])];
      else if (k === 'additionalProperties') continue; // each part forbids the other's keys; ignore
      else out[k] = v;
    }
  }
  return out;
}

function gen(s: Schema, root: Record<string, any>, words: readonly string[], rng: Rng, depth: number): unknown {
  if (s === true) return pick(words, rng);
  if (s === false) return null;
  if (s.$ref) return gen(resolveRef(root, s.$ref), root, words, rng, depth + 1);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return pick(s.enum, rng);
  if (Array.isArray(s.allOf)) {
    const { allOf, ...rest } = s;
    return gen(mergeAll([rest, ...allOf], root), root, words, rng, depth);
  }
  const options: Schema[] | undefined = s.anyOf ?? s.oneOf;
  if (Array.isArray(options) && options.length > 0) {
    const { anyOf, oneOf, ...rest } = s;
    const nulls = options.filter(isNullSchema);
    const others = options.filter((o) => !isNullSchema(o));
    let chosen: Schema;
    if (nulls.length > 0 && (others.length === 0 || depth >= MAX_DEPTH || rng.next() < 0.2)) chosen = nulls[0];
    else chosen = pick(others, rng);
    const merged = typeof chosen === 'object' && Object.keys(rest).length > 0 ? mergeAll([rest, chosen], root) : chosen;
    return gen(merged, root, words, rng, depth + 1);
  }
  let type = s.type;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t: string) => t !== 'null');
    type = nonNull.length === 0 || (type.includes('null') && (depth >= MAX_DEPTH || rng.next() < 0.2)) ? 'null' : pick(nonNull, rng);
  }
  if (type === undefined) {
    if (s.properties || s.additionalProperties || s.required) type = 'object';
    else if (s.items || s.prefixItems) type = 'array';
    else type = 'string';
  }
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return rng.next() < 0.5;
    case 'integer':
    case 'number':
      return genNumber(s, type === 'integer', rng);
    case 'string':
      return genString(s, words, rng);
    case 'array':
      return genArray(s, root, words, rng, depth);
    case 'object':
      return genObject(s, root, words, rng, depth);
    default:
      return pick(words, rng);
  }
}

function genObject(s: Record<string, any>, root: Record<string, any>, words: readonly string[], rng: Rng, depth: number): unknown {
  const out: Record<string, unknown> = {};
  const props: Record<string, Schema> = s.properties ?? {};
  const required = new Set<string>(s.required ?? []);
  for (const [key, sub] of Object.entries(props)) {
    if (required.has(key) || (depth < MAX_DEPTH && rng.next() < 0.5)) out[key] = gen(sub, root, words, rng, depth + 1);
  }
  for (const key of required) {
    if (!(key in out)) out[key] = pick(words, rng); // required but undeclared: any value will do
  }
  const extra = s.additionalProperties;
  if (Object.keys(props).length === 0 && extra && typeof extra === 'object') {
    const want = Math.max(s.minProperties ?? 0, depth < MAX_DEPTH ? 1 + rng.int(2) : 0);
    for (let i = 0; i < want * 4 && Object.keys(out).length < want; i++) {
      const key = genString(s.propertyNames ?? {}, words, rng);
      if (!(key in out)) out[key] = gen(extra, root, words, rng, depth + 1);
    }
  }
  return out;
}

function genArray(s: Record<string, any>, root: Record<string, any>, words: readonly string[], rng: Rng, depth: number): unknown[] {
  const prefix: Schema[] = Array.isArray(s.prefixItems) ? s.prefixItems : [];
  const min = Math.max(s.minItems ?? 0, prefix.length > 0 && s.items === false ? prefix.length : 0);
  let max = s.maxItems ?? min + 3;
  if (s.items === false) max = Math.min(max, prefix.length);
  const target = depth >= MAX_DEPTH ? min : min + rng.int(Math.max(0, Math.min(max, min + 3) - min) + 1);
  const out: unknown[] = [];
  const seen = new Set<string>();
  for (let tries = 0; out.length < target && tries < target * 8 + 8; tries++) {
    const i = out.length;
    const sub: Schema = i < prefix.length ? prefix[i] : (s.items ?? true);
    const v = gen(sub, root, words, rng, depth + 1);
    if (s.uniqueItems) {
      const key = JSON.stringify(v);
      if (seen.has(key)) continue;
      seen.add(key);
    }
    out.push(v);
  }
  return out;
}

function genNumber(s: Record<string, any>, integer: boolean, rng: Rng): number {
  const lo = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : undefined;
  const hi = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : undefined;
  let min = lo ?? (hi !== undefined ? Math.min(0, hi - 100) : 0);
  let max = hi ?? min + 100;
  if (max - min > 1000) max = min + 1000; // keep values readable when bounds are huge
  const exMin = typeof s.exclusiveMinimum === 'number' && lo === s.exclusiveMinimum;
  const exMax = typeof s.exclusiveMaximum === 'number' && hi === s.exclusiveMaximum && max === hi;
  const ok = (v: number) => v >= min && v <= max && !(exMin && v === min) && !(exMax && v === max);
  const step: number | undefined = typeof s.multipleOf === 'number' && s.multipleOf > 0 ? s.multipleOf : integer ? 1 : undefined;
  if (step !== undefined) {
    const first = Math.ceil(min / step);
    const last = Math.floor(max / step);
    const ks: number[] = [];
    for (let k = first; k <= last && ks.length < 64; k++) if (ok(k * step) && (!integer || Number.isInteger(k * step))) ks.push(k);
    if (ks.length > 0) return Number((pick(ks, rng) * step).toPrecision(12));
    return integer ? Math.ceil(min) : min;
  }
  for (let i = 0; i < 8; i++) {
    const v = Number((min + rng.next() * (max - min)).toFixed(3));
    if (ok(v)) return v;
  }
  return (min + max) / 2;
}

const FORMATS: Record<string, (w: string, rng: Rng) => string> = {
  email: (w) => `${w.replace(/[^a-z0-9]/gi, '') || 'user'}@example.org`,
  uri: (w) => `https://example.org/${encodeURIComponent(w)}`,
  url: (w) => `https://example.org/${encodeURIComponent(w)}`,
  uuid: (_w, rng) => {
    const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rng.int(16)]).join('');
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[rng.int(4)]}${hex(3)}-${hex(12)}`;
  },
  'date-time': (_w, rng) => new Date(Date.UTC(2020, rng.int(12), 1 + rng.int(28), rng.int(24), rng.int(60), rng.int(60))).toISOString().replace('.000Z', 'Z'),
  date: (_w, rng) => new Date(Date.UTC(2020, rng.int(12), 1 + rng.int(28))).toISOString().slice(0, 10),
  time: (_w, rng) => `${String(rng.int(24)).padStart(2, '0')}:${String(rng.int(60)).padStart(2, '0')}:00`,
  ipv4: (_w, rng) => `10.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`,
  ipv6: (_w, rng) => `fd00::${(1 + rng.int(65535)).toString(16)}`,
  hostname: (w) => `${w.replace(/[^a-z0-9]/gi, '') || 'host'}.example.org`,
};

function genString(s: Record<string, any>, words: readonly string[], rng: Rng): string {
  const min: number = s.minLength ?? 0;
  const max: number = s.maxLength ?? Math.max(min, 80);
  const fmt = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
  const pattern = typeof s.pattern === 'string' ? safeRegExp(s.pattern) : undefined;
  const candidates: string[] = [];
  if (fmt) candidates.push(fmt(pick(words, rng), rng));
  let text = Array.from({ length: 1 + rng.int(6) }, () => pick(words, rng)).join(' ');
  while (text.length < min) text += ' ' + pick(words, rng);
  if (text.length > max) text = text.slice(0, max).trimEnd();
  while (text.length < min) text += 'x'; // trimming may have dropped below the minimum
  candidates.push(text);
  if (pattern) candidates.push(pick(words, rng), String(rng.int(1000)), `${pick(words, rng)}-${rng.int(100)}`);
  for (const c of candidates) {
    if (c.length >= min && c.length <= max && (!pattern || pattern.test(c))) return c;
  }
  return fmt ? candidates[0] : text; // a pattern we cannot satisfy: the closest we have
}

function safeRegExp(p: string): RegExp | undefined {
  try {
    return new RegExp(p, 'u');
  } catch {
    return undefined;
  }
}

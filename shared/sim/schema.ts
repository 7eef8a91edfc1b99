/**
 * JSON Schema helpers of the simulator's responders: look up the subschema at a path (to read
 * enums, ranges and property names), and `conform`, which keeps a responder's value where the
 * schema allows it and repairs only what the schema forbids (an id outside an enum, a score out
 * of range, a missing required field), so every reply is valid for the schema actually sent,
 * however the engine tightens it. Pure: no I/O.
 */
import { isNullSchema, mergeAll, resolveRef } from './content.ts';

export type Schema = Record<string, any> | boolean;

/** Resolve $refs and merge allOf parts, so a node can be read directly. */
export function norm(s: Schema | undefined, root: Record<string, any>): Schema {
  let cur: Schema = s ?? true;
  for (let i = 0; i < 32 && typeof cur === 'object' && typeof cur.$ref === 'string'; i++) {
    const { $ref, ...rest } = cur;
    const target = resolveRef(root, $ref);
    cur = Object.keys(rest).length > 0 && typeof target === 'object' ? mergeAll([target, rest], root) : target;
  }
  if (typeof cur === 'object' && Array.isArray(cur.allOf)) {
    const { allOf, ...rest } = cur;
    cur = mergeAll([rest, ...allOf], root);
  }
  return cur;
}

/** Keywords that describe a schema without constraining values. */
const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', '$defs', 'definitions', 'default', 'examples', 'readOnly', 'writeOnly']);

/** An anyOf/oneOf option together with the keywords of the node around it (those that constrain). */
function withRest(rest: Record<string, any>, option: Schema, root: Record<string, any>): Schema {
  const o = norm(option, root);
  if (!Object.keys(rest).some((k) => !ANNOTATIONS.has(k)) || typeof o !== 'object') return o;
  const merged = mergeAll([rest, o], root);
  return o.additionalProperties !== undefined ? { ...merged, additionalProperties: o.additionalProperties } : merged;
}

/** The non-null options of an anyOf/oneOf node (merged with the node's own keywords), or the node itself. */
export function options(s: Schema, root: Record<string, any>): Schema[] {
  const n = norm(s, root);
  if (typeof n !== 'object') return [n];
  const opts: Schema[] | undefined = n.anyOf ?? n.oneOf;
  if (!Array.isArray(opts)) return [n];
  const { anyOf: _a, oneOf: _o, ...rest } = n;
  return opts.filter((o) => !isNullSchema(norm(o, root))).map((o) => withRest(rest, o, root));
}

/** The subschema at a path of property names ('*' or a number: array items or any other property). */
export function subschema(schema: Schema, root: Record<string, any>, path: readonly (string | number)[]): Schema | undefined {
  let cur: Schema | undefined = schema;
  for (const key of path) {
    if (cur === undefined) return undefined;
    let next: Schema | undefined;
    for (const o of options(cur, root)) {
      if (typeof o !== 'object') continue;
      if (typeof key === 'number' || key === '*') next ??= o.items ?? (o.additionalProperties === false ? undefined : o.additionalProperties);
      if (typeof key === 'string' && key !== '*') next ??= o.properties?.[key] ?? (typeof o.additionalProperties === 'object' ? o.additionalProperties : undefined);
      if (next !== undefined) break;
    }
    cur = next === undefined ? undefined : norm(next, root);
  }
  return cur;
}

/** The allowed values of a node (enum or const), if it lists them. */
export function enumOf(s: Schema | undefined, root: Record<string, any>): unknown[] | undefined {
  for (const o of s === undefined ? [] : options(s, root)) {
    if (typeof o !== 'object') continue;
    if (Array.isArray(o.enum)) return o.enum.filter((v: unknown) => v !== null);
    if ('const' in o) return [o.const];
  }
  return undefined;
}

/** Property names an object node allows when it says so (propertyNames enum, or closed properties). */
export function keyEnum(s: Schema | undefined, root: Record<string, any>): string[] | undefined {
  for (const o of s === undefined ? [] : options(s, root)) {
    if (typeof o !== 'object') continue;
    const names = enumOf(o.propertyNames, root);
    if (names) return names.filter((x): x is string => typeof x === 'string');
    if (o.additionalProperties === false && o.properties) return Object.keys(o.properties);
  }
  return undefined;
}

/** Numeric bounds of a node, when given. */
export function bounds(s: Schema | undefined, root: Record<string, any>): { min?: number; max?: number } {
  for (const o of s === undefined ? [] : options(s, root)) {
    if (typeof o !== 'object') continue;
    const min = typeof o.minimum === 'number' ? o.minimum : typeof o.exclusiveMinimum === 'number' ? o.exclusiveMinimum : undefined;
    const max = typeof o.maximum === 'number' ? o.maximum : typeof o.exclusiveMaximum === 'number' ? o.exclusiveMaximum : undefined;
    if (min !== undefined || max !== undefined) return { min, max };
  }
  return {};
}

export interface ConformCtx {
  root: Record<string, any>;
  /** A fresh valid value for a node (the generic generator). */
  fill(s: Schema): unknown;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function valueType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typesOf(s: Record<string, any>): string[] | undefined {
  if (Array.isArray(s.type)) return s.type;
  if (typeof s.type === 'string') return [s.type];
  if (s.properties || s.additionalProperties !== undefined || s.required || s.propertyNames) return ['object'];
  if (s.items !== undefined || s.prefixItems) return ['array'];
  if (s.minLength !== undefined || s.maxLength !== undefined || s.pattern) return ['string'];
  if (s.minimum !== undefined || s.maximum !== undefined) return ['number'];
  return undefined;
}

function typeOk(v: unknown, types: string[] | undefined): boolean {
  if (!types) return v !== undefined;
  const t = valueType(v);
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

const overlap = (a: string, b: string) => {
  const wa = new Set(a.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  return (b.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => wa.has(w)).length;
};

/** A value of `s` as close to `v` as the schema allows. */
export function conform(v: unknown, s: Schema, ctx: ConformCtx, depth = 0): unknown {
  const n = norm(s, ctx.root);
  if (n === true) return v === undefined ? ctx.fill(n) : v;
  if (n === false || depth > 40) return null;
  if ('const' in n) return n.const;
  if (Array.isArray(n.enum)) {
    if (n.enum.some((e: unknown) => same(e, v))) return v;
    if (typeof v === 'string') {
      const text = v;
      const ranked = (n.enum as unknown[]).filter((e): e is string => typeof e === 'string').map((e) => ({ e, o: overlap(e, text) })).sort((a, b) => b.o - a.o);
      if (ranked.length && ranked[0].o > 0) return ranked[0].e;
    }
    return ctx.fill(n);
  }
  const opts: Schema[] | undefined = n.anyOf ?? n.oneOf;
  if (Array.isArray(opts)) {
    const { anyOf: _a, oneOf: _o, ...rest } = n;
    const cands = opts.map((o) => withRest(rest, o, ctx.root));
    for (const c of cands) if (fits(v, c, ctx.root)) return v;
    for (const c of cands) {
      const cn = norm(c, ctx.root);
      if (typeof cn === 'object' && !isNullSchema(cn) && typeOk(v, typesOf(cn))) return conform(v, cn, ctx, depth + 1);
    }
    return ctx.fill(n);
  }
  const types = typesOf(n);
  if (!typeOk(v, types)) {
    const want = types ?? [];
    if (want.includes('string') && (typeof v === 'number' || typeof v === 'boolean')) v = String(v);
    else if ((want.includes('number') || want.includes('integer')) && typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) v = Number(v);
    else if (want.includes('null') && v === undefined) return null;
    else return ctx.fill(n);
  }
  switch (valueType(v)) {
    case 'string':
      return conformString(v as string, n, ctx);
    case 'integer':
    case 'number':
      return conformNumber(v as number, n, types?.includes('integer') && !types.includes('number'));
    case 'array':
      return conformArray(v as unknown[], n, ctx, depth);
    case 'object':
      return conformObject(v as Record<string, unknown>, n, ctx, depth);
    default:
      return v;
  }
}

/** Loose checks of the string formats schemas use; a value failing one is replaced by a generated one. */
const FORMAT_OK: Record<string, (v: string) => boolean> = {
  email: (v) => /^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$/.test(v),
  uri: (v) => /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(v),
  url: (v) => /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(v),
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  'date-time': (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/.test(v),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v),
  time: (v) => /^\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/.test(v),
  ipv4: (v) => /^(?:\d{1,3}\.){3}\d{1,3}$/.test(v),
};

function conformString(v: string, s: Record<string, any>, ctx: ConformCtx): string {
  let out = v;
  const formatOk = typeof s.format === 'string' ? FORMAT_OK[s.format] : undefined;
  if (formatOk && !formatOk(out)) return ctx.fill(s) as string;
  if (typeof s.pattern === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(s.pattern, 'u');
    } catch {
      // a pattern we cannot compile: leave the value
    }
    if (re && !re.test(out)) return ctx.fill(s) as string;
  }
  const min: number = s.minLength ?? 0;
  for (let i = 0; out.length < min && i < 50; i++) out = `${out} ${String(ctx.fill({ type: 'string' }))}`.trim();
  if (typeof s.maxLength === 'number' && out.length > s.maxLength) {
    const cut = out.slice(0, s.maxLength);
    const space = cut.lastIndexOf(' ');
    out = space >= Math.max(min, s.maxLength * 0.6) ? cut.slice(0, space) : cut;
  }
  return out;
}

function conformNumber(v: number, s: Record<string, any>, integer: boolean | undefined): number {
  let x = Number.isFinite(v) ? v : 0;
  if (integer) x = Math.round(x);
  const step = integer ? 1 : 1e-3;
  if (typeof s.minimum === 'number' && x < s.minimum) x = integer ? Math.ceil(s.minimum) : s.minimum;
  if (typeof s.maximum === 'number' && x > s.maximum) x = integer ? Math.floor(s.maximum) : s.maximum;
  if (typeof s.exclusiveMinimum === 'number' && x <= s.exclusiveMinimum) x = integer ? Math.floor(s.exclusiveMinimum) + 1 : s.exclusiveMinimum + step;
  if (typeof s.exclusiveMaximum === 'number' && x >= s.exclusiveMaximum) x = integer ? Math.ceil(s.exclusiveMaximum) - 1 : s.exclusiveMaximum - step;
  if (typeof s.multipleOf === 'number' && s.multipleOf > 0) x = Number((Math.round(x / s.multipleOf) * s.multipleOf).toPrecision(12));
  return x;
}

function conformArray(v: unknown[], s: Record<string, any>, ctx: ConformCtx, depth: number): unknown[] {
  const prefix: Schema[] = Array.isArray(s.prefixItems) ? s.prefixItems : [];
  const itemAt = (i: number): Schema => (i < prefix.length ? prefix[i] : (s.items ?? true));
  let out = v.map((x, i) => conform(x, itemAt(i), ctx, depth + 1));
  if (s.items === false) out = out.slice(0, prefix.length);
  if (s.uniqueItems) out = out.filter((x, i) => out.findIndex((y) => same(x, y)) === i);
  if (typeof s.maxItems === 'number') out = out.slice(0, s.maxItems);
  const min = Math.max(s.minItems ?? 0, s.items === false ? prefix.length : 0);
  for (let tries = 0; out.length < min && tries < min * 8 + 8; tries++) {
    const x = ctx.fill(itemAt(out.length));
    if (!s.uniqueItems || !out.some((y) => same(x, y))) out.push(x);
  }
  return out;
}

function keyAllowed(k: string, names: Schema | undefined, root: Record<string, any>): boolean {
  if (names === undefined || names === true) return true;
  const allowed = enumOf(names, root);
  if (allowed) return allowed.includes(k);
  const n = norm(names, root);
  if (typeof n === 'object' && typeof n.pattern === 'string') {
    try {
      return new RegExp(n.pattern, 'u').test(k);
    } catch {
      return true;
    }
  }
  return n !== false;
}

function conformObject(v: Record<string, unknown>, s: Record<string, any>, ctx: ConformCtx, depth: number): Record<string, unknown> {
  const props: Record<string, Schema> = s.properties ?? {};
  const extra = s.additionalProperties;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (k in props) out[k] = conform(val, props[k], ctx, depth + 1);
    else if (extra === false || !keyAllowed(k, s.propertyNames, ctx.root)) continue;
    else out[k] = typeof extra === 'object' ? conform(val, extra, ctx, depth + 1) : val;
  }
  for (const k of s.required ?? []) if (!(k in out)) out[k] = ctx.fill(props[k] ?? true);
  if (typeof s.maxProperties === 'number') {
    const req = new Set<string>(s.required ?? []);
    for (const k of Object.keys(out).reverse()) if (Object.keys(out).length > s.maxProperties && !req.has(k)) delete out[k];
  }
  return out;
}

class Unfit extends Error {}

/** Whether `v` is already valid for `s` (conform would change nothing and need no new value). */
export function fits(v: unknown, s: Schema, root: Record<string, any>): boolean {
  try {
    return same(
      conform(v, s, {
        root,
        fill: () => {
          throw new Unfit();
        },
      }),
      v,
    );
  } catch (e) {
    if (e instanceof Unfit) return false;
    throw e;
  }
}

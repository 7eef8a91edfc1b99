/**
 * The sloppy mode of the simulator: a stated share of replies is corrupted the way small local
 * models really get things wrong. Each kind has a weight; a reply draws among the kinds that
 * can apply to it. With structured output (guided decoding) only corruptions that stay valid
 * for the schema can happen: cut-off replies, repetition, a one-section outline, empty content,
 * another language. Deterministic for a given generator. Pure: no I/O.
 */
import type { Rng } from '../algo/rng.ts';
import { bounds, enumOf, keyEnum, norm, subschema, type Schema } from './schema.ts';
import { pickLanguage, translate } from './translate.ts';

export const CORRUPTION_KINDS = [
  'prose', 'fence', 'syntax', 'truncated', 'missing-field', 'wrong-type', 'unknown-id', 'one-section', 'empty', 'repeated', 'language', 'out-of-range',
] as const;
export type CorruptionKind = (typeof CORRUPTION_KINDS)[number];

/** Default weights: wrapping the JSON (prose, code fences) and cut-offs are what small models do most. */
export const DEFAULT_CORRUPTION_WEIGHTS: Readonly<Record<CorruptionKind, number>> = {
  prose: 2, fence: 2, syntax: 1, truncated: 1.5, 'missing-field': 1, 'wrong-type': 1, 'unknown-id': 1.5,
  'one-section': 1, empty: 1, repeated: 1, language: 1, 'out-of-range': 1,
};

/** What guided decoding cannot prevent: these keep the reply valid for the schema (or cut it off). */
export const SCHEMA_SAFE_KINDS: readonly CorruptionKind[] = ['truncated', 'one-section', 'empty', 'repeated', 'language'];
const TEXT_KINDS: readonly CorruptionKind[] = ['truncated', 'empty', 'repeated', 'language'];

export interface SloppyInput {
  /** The clean JSON value (absent for a free-text reply). */
  value?: unknown;
  /** The clean free-text reply. */
  text?: string;
  schema?: Record<string, any>;
  /** Guided decoding: only schema-safe kinds apply. */
  structured: boolean;
}

export interface Corrupted {
  content: string;
  finishReason: 'stop' | 'length';
}

type Path = (string | number)[];
interface Slot {
  path: Path;
  value: unknown;
  schema: Schema | undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every position of a value with the subschema that governs it (root first). */
function slots(value: unknown, schema: Schema | undefined, root: Record<string, any>, path: Path = [], out: Slot[] = []): Slot[] {
  out.push({ path, value, schema });
  if (Array.isArray(value)) value.forEach((v, i) => slots(v, schema === undefined ? undefined : subschema(schema, root, ['*']), root, [...path, i], out));
  else if (isObj(value)) for (const [k, v] of Object.entries(value)) slots(v, schema === undefined ? undefined : subschema(schema, root, [k]), root, [...path, k], out);
  return out;
}

function setAt(value: unknown, path: Path, v: unknown): unknown {
  if (path.length === 0) return v;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((x, i) => (i === head ? setAt(x, rest, v) : x));
  if (isObj(value)) return { ...value, [head]: setAt(value[head as string], rest, v) };
  return value;
}

/** An id of the same shape as `known` but not among them ("S3.1" → "S7", "P012" → "P071"). */
export function unknownId(known: readonly string[], rng: Rng): string {
  const sample = known[0] ?? 'S1';
  const m = /^([A-Za-z_-]*)(\d+)/.exec(sample);
  if (!m) return `${sample}-x${1 + rng.int(90)}`;
  const nums = known.map((k) => Number(/^[A-Za-z_-]*(\d+)/.exec(k)?.[1] ?? 0));
  for (let tries = 0; ; tries++) {
    const n = Math.max(...nums) + 1 + rng.int(9) + tries;
    const id = `${m[1]}${String(n).padStart(m[2].length, '0')}`;
    if (!known.includes(id)) return id;
  }
}

const ID_LIKE = /^[A-Z]{1,3}\d+(?:\.\d+)*$/;

function idSlots(input: SloppyInput, all: Slot[]): { slot: Slot; known: string[]; key?: string }[] {
  const root = input.schema ?? {};
  const out: { slot: Slot; known: string[]; key?: string }[] = [];
  for (const s of all) {
    const allowed = enumOf(s.schema, root)?.filter((x): x is string => typeof x === 'string');
    if (allowed?.length && typeof s.value === 'string' && ID_LIKE.test(s.value)) out.push({ slot: s, known: allowed });
    const keys = keyEnum(s.schema, root);
    if (isObj(s.value) && keys && Object.keys(s.value).length && Object.keys(s.value).every((k) => ID_LIKE.test(k))) out.push({ slot: s, known: keys, key: Object.keys(s.value)[0] });
  }
  if (out.length) return out;
  // No enum in the schema: ids are recognisable by their shape.
  for (const s of all) {
    if (typeof s.value === 'string' && ID_LIKE.test(s.value)) out.push({ slot: s, known: [s.value] });
    if (isObj(s.value) && Object.keys(s.value).length && Object.keys(s.value).every((k) => ID_LIKE.test(k))) out.push({ slot: s, known: Object.keys(s.value), key: Object.keys(s.value)[0] });
  }
  return out;
}

const boundedNumbers = (input: SloppyInput, all: Slot[]) =>
  all.filter((s) => typeof s.value === 'number' && Object.keys(bounds(s.schema, input.schema ?? {})).length > 0);

const strings = (all: Slot[]) => all.filter((s) => typeof s.value === 'string' && (s.value as string).trim().length > 0).sort((a, b) => (b.value as string).length - (a.value as string).length);

function sectionsSlot(all: Slot[]): Slot | undefined {
  return all.find((s) => s.path[s.path.length - 1] === 'sections' && Array.isArray(s.value) && s.value.length >= 2 && s.value.every((x) => isObj(x) && typeof x.title === 'string'));
}

const minOf = (s: Schema | undefined, root: Record<string, any>, key: 'minItems' | 'minLength') => {
  const n = s === undefined ? true : norm(s, root);
  return typeof n === 'object' ? (n[key] ?? 0) : 0;
};

/** The corruption kinds that can apply to this reply. */
export function applicableKinds(input: SloppyInput): CorruptionKind[] {
  if (input.value === undefined) return (input.text ?? '').trim() ? [...TEXT_KINDS] : [];
  const root = input.schema ?? {};
  const all = slots(input.value, input.schema, root);
  const can: Record<CorruptionKind, boolean> = {
    prose: true,
    fence: true,
    syntax: JSON.stringify(input.value).length > 2,
    truncated: JSON.stringify(input.value).length > 8,
    'missing-field': isObj(input.value) && (root.required ?? []).some((k: string) => k in (input.value as object)),
    'wrong-type': all.some((s) => typeof s.value === 'number' || typeof s.value === 'boolean'),
    'unknown-id': idSlots(input, all).length > 0,
    'one-section': (() => {
      const s = sectionsSlot(all);
      return s !== undefined && (!input.structured || minOf(s.schema, root, 'minItems') <= 1);
    })(),
    empty:
      all.some((s) => Array.isArray(s.value) && s.value.length > 0 && (!input.structured || minOf(s.schema, root, 'minItems') === 0)) ||
      strings(all).some((s) => !input.structured || minOf(s.schema, root, 'minLength') === 0),
    repeated: strings(all).some((s) => (s.value as string).length >= 20),
    language: strings(all).some((s) => (s.value as string).split(/\s+/).length >= 4),
    'out-of-range': boundedNumbers(input, all).length > 0,
  };
  return CORRUPTION_KINDS.filter((k) => can[k] && (!input.structured || SCHEMA_SAFE_KINDS.includes(k)));
}

/** One kind among those that apply, drawn by weight (undefined when none applies). */
export function pickCorruption(input: SloppyInput, rng: Rng, weights: Partial<Record<CorruptionKind, number>> = DEFAULT_CORRUPTION_WEIGHTS): CorruptionKind | undefined {
  const kinds = applicableKinds(input).filter((k) => (weights[k] ?? 0) > 0);
  const total = kinds.reduce((n, k) => n + weights[k]!, 0);
  if (total <= 0) return undefined;
  let x = rng.next() * total;
  for (const k of kinds) if ((x -= weights[k]!) < 0) return k;
  return kinds[kinds.length - 1];
}

export interface SloppyReply extends Corrupted {
  /** The corruption applied, if any. */
  kind?: CorruptionKind;
}

/**
 * The reply as the sloppy mode sends it: with probability `rate` one corruption drawn by weight
 * among those that apply, else the clean reply (JSON text or the free text).
 */
export function sloppyReply(input: SloppyInput, rng: Rng, rate: number, weights: Partial<Record<CorruptionKind, number>> = DEFAULT_CORRUPTION_WEIGHTS): SloppyReply {
  const clean: SloppyReply = { content: input.value === undefined ? (input.text ?? '') : JSON.stringify(input.value), finishReason: 'stop' };
  if (!(rng.next() < rate)) return clean;
  const kind = pickCorruption(input, rng, weights);
  return kind ? { ...corrupt(input, kind, rng), kind } : clean;
}

const PREFACES = ['Sure! Here is the JSON you asked for:', 'Here is my answer.', 'Okay, based on the text above, the result is:'];
const AFTERWORDS = ['Let me know if you need anything else.', 'I hope this helps!', 'Note: some fields are my best guess.'];

const firstSentence = (s: string) => (/^.*?[.!?](?=\s|$)/.exec(s)?.[0] ?? s.split(/\s+/).slice(0, 12).join(' ')).trim();

function repeatText(s: string, rng: Rng, max?: number): string {
  const one = firstSentence(s);
  const out = Array.from({ length: 8 + rng.int(13) }, () => one).join(' ');
  return typeof max === 'number' ? out.slice(0, max) : out;
}

/** The reply with one corruption of the given kind. */
export function corrupt(input: SloppyInput, kind: CorruptionKind, rng: Rng): Corrupted {
  const stop = (content: string): Corrupted => ({ content, finishReason: 'stop' });
  if (input.value === undefined) {
    const text = input.text ?? '';
    if (kind === 'truncated') return { content: text.slice(0, Math.max(1, Math.floor(text.length * (0.3 + 0.5 * rng.next())))), finishReason: 'length' };
    if (kind === 'empty') return stop('');
    if (kind === 'repeated') return stop(repeatText(text, rng));
    if (kind === 'language') return stop(translate(text, pickLanguage(rng)));
    return stop(text);
  }
  const root = input.schema ?? {};
  const v = input.value;
  const all = slots(v, input.schema, root);
  const json = (x: unknown) => JSON.stringify(x);
  switch (kind) {
    case 'prose':
      return stop(`${PREFACES[rng.int(PREFACES.length)]}\n${JSON.stringify(v, null, 2)}\n${AFTERWORDS[rng.int(AFTERWORDS.length)]}`);
    case 'fence':
      return stop(`\`\`\`json\n${JSON.stringify(v, null, 2)}\n\`\`\``);
    case 'syntax': {
      const pretty = JSON.stringify(v, null, 2);
      return stop(rng.next() < 0.5 ? pretty.replace(/([^[{,\s])(\s*\n\s*[}\]])/g, '$1,$2') : pretty.replace(/"/g, "'"));
    }
    case 'truncated': {
      const s = json(v);
      return { content: s.slice(0, Math.max(1, Math.floor(s.length * (0.3 + 0.55 * rng.next())))), finishReason: 'length' };
    }
    case 'missing-field': {
      const req = (root.required ?? []).filter((k: string) => k in (v as object));
      const drop = req[rng.int(req.length)];
      const { [drop]: _gone, ...rest } = v as Record<string, unknown>;
      return stop(json(rest));
    }
    case 'wrong-type': {
      const s = all.filter((x) => typeof x.value === 'number' || typeof x.value === 'boolean');
      const pick = s[rng.int(s.length)];
      return stop(json(setAt(v, pick.path, String(pick.value))));
    }
    case 'unknown-id': {
      const ids = idSlots(input, all);
      const { slot, known, key } = ids[rng.int(ids.length)];
      const bad = unknownId(known, rng);
      if (key === undefined) return stop(json(setAt(v, slot.path, bad)));
      const obj = slot.value as Record<string, unknown>;
      const renamed = Object.fromEntries(Object.entries(obj).map(([k, x]) => [k === key ? bad : k, x]));
      return stop(json(setAt(v, slot.path, renamed)));
    }
    case 'one-section': {
      const s = sectionsSlot(all)!;
      const [first, ...rest] = s.value as Record<string, any>[];
      const merged = { ...first, children: [...(Array.isArray(first.children) ? first.children : []), ...rest] };
      return stop(json(setAt(v, s.path, [merged])));
    }
    case 'empty': {
      const arrays = all.filter((x) => Array.isArray(x.value) && x.value.length > 0 && (!input.structured || minOf(x.schema, root, 'minItems') === 0));
      if (arrays.length) {
        const biggest = arrays.sort((a, b) => json(b.value).length - json(a.value).length)[0];
        return stop(json(setAt(v, biggest.path, [])));
      }
      const s = strings(all).find((x) => !input.structured || minOf(x.schema, root, 'minLength') === 0)!;
      return stop(json(setAt(v, s.path, '')));
    }
    case 'repeated': {
      const s = strings(all)[0];
      const n = s.schema === undefined ? true : norm(s.schema, root);
      return stop(json(setAt(v, s.path, repeatText(s.value as string, rng, typeof n === 'object' ? n.maxLength : undefined))));
    }
    case 'language': {
      const lang = pickLanguage(rng);
      let out: unknown = v;
      for (const s of strings(all).filter((x) => (x.value as string).split(/\s+/).length >= 4)) out = setAt(out, s.path, translate(s.value as string, lang));
      return stop(json(out));
    }
    case 'out-of-range': {
      const s = boundedNumbers(input, all);
      const pick = s[rng.int(s.length)];
      const b = bounds(pick.schema, root);
      const span = (b.max ?? 10) - (b.min ?? 0) || 10;
      const bad = b.max !== undefined && (b.min === undefined || rng.next() < 0.7) ? b.max + Math.max(1, Math.round(span)) : (b.min ?? 0) - Math.max(1, Math.round(span / 2));
      return stop(json(setAt(v, pick.path, bad)));
    }
  }
}

/**
 * The simulator's replies, shaped by the prompt as a model's would be. A JSON request goes to
 * the responder of its op (known by the schema's title or the response_format name); unknown
 * ops get the generic schema-driven value. Either way the value is then fitted to the schema
 * actually sent (`conform`), so enums, ranges and required fields always hold. A request
 * without a schema gets prose made of the prompt's own sentences. Pure: no I/O.
 */
import type { Rng } from '../../algo/rng.ts';
import { makeJsonAt, makeText, promptWords } from '../content.ts';
import { opNameOf, readPrompt } from '../prompt.ts';
import { conform, fits, type Schema } from '../schema.ts';
import { rankSentences, quotable, type Responder, type RespondCtx } from './common.ts';
import { respondFeedback, respondJudge, respondKernel, respondRefine } from './conv.ts';
import { respondDedup, respondFacts, respondRubric, respondSection, respondSupport } from './eval.ts';
import { respondMerge as respondOutlineMerge, respondModify, respondPartial } from './outline.ts';
import { respondDigest, respondGroup } from './papers.ts';
import { respondMap, respondMerge as respondRecords } from './v1.ts';
import { respondQueries, respondSourceJudge } from './sources.ts';
import { respondVerify } from './verify.ts';
import { respondConclude, respondFigures, respondWrite } from './write.ts';

export const RESPONDERS: Readonly<Record<string, Responder>> = {
  'v1.map': respondMap,
  'v1.collapse': respondRecords,
  'v1.reduce': respondRecords,
  'v2.group': respondGroup,
  'v2.outline.partial': respondPartial,
  'v2.outline.merge': respondOutlineMerge,
  'v2.digest': respondDigest,
  'v2.write': respondWrite,
  'v2.conclude': respondConclude,
  'v2.figures': respondFigures,
  'v2.verify': respondVerify,
  'v2.feedback': respondFeedback,
  'v2.kernel': respondKernel,
  'v2.modify': respondModify,
  'v2.judge': respondJudge,
  'v2.refine': respondRefine,
  'eval.rubric': respondRubric,
  'eval.section': respondSection,
  'eval.support': respondSupport,
  'eval.facts': respondFacts,
  'eval.dedup': respondDedup,
  'sources.queries': respondQueries,
  'sources.judge': respondSourceJudge,
};

export const KNOWN_OPS = Object.keys(RESPONDERS);

export interface JsonRequest {
  messages: readonly { role?: unknown; content?: unknown }[];
  schema: Record<string, any> | boolean;
  /** response_format.json_schema.name, when sent. */
  formatName?: string;
  maxTokens: number;
}

export interface JsonReply {
  value: unknown;
  /** The op whose responder answered, or undefined for the generic generator. */
  op: string | undefined;
}

export function respondJson(req: JsonRequest, rng: Rng): JsonReply {
  const schema = typeof req.schema === 'object' ? req.schema : {};
  const words = promptWords(req.messages);
  const fill = (s: any) => makeJsonAt(s, schema, words, rng);
  const name = opNameOf(schema, req.formatName, KNOWN_OPS);
  const responder = name ? RESPONDERS[name] : undefined;
  if (req.schema === true || typeof req.schema !== 'object') return { value: makeJsonAt(req.schema, schema, words, rng), op: undefined };
  if (responder) {
    const ctx: RespondCtx = { view: readPrompt(req.messages), schema, rng, words, maxTokens: req.maxTokens };
    try {
      const value = conform(responder(ctx), schema, { root: schema, fill });
      return { value: shrinkToFit(value, schema, Math.floor(req.maxTokens * 4 * 0.9)), op: name };
    } catch {
      // a prompt this responder cannot read: answer like an unknown op
    }
  }
  return { value: makeJsonAt(schema, schema, words, rng), op: undefined };
}

/** A text made shorter: its first half of sentences, or the first words of a single sentence (a prefix either way). */
function shorten(s: string): string {
  const sents = s.match(/[^.!?]+[.!?]+(?:\s+|$)|[^.!?]+$/g) ?? [s];
  if (sents.length > 1) return sents.slice(0, Math.ceil(sents.length / 2)).join('').trim();
  const cut = s.slice(0, Math.floor(s.length * 0.6));
  const space = cut.lastIndexOf(' ');
  return (space > 0 ? cut.slice(0, space) : cut).trim();
}

/**
 * A cooperative model keeps its reply within max_tokens: the longest texts are shortened (to
 * their leading sentences, so quotes stay exact prefixes) until the JSON fits or nothing can
 * shrink while staying valid. Cut-off replies are the sloppy mode's business.
 */
export function shrinkToFit(value: unknown, schema: Schema, maxChars: number): unknown {
  let v = value;
  const root = typeof schema === 'object' ? schema : {};
  const skip = new Set<string>();
  for (let round = 0; round < 400 && JSON.stringify(v).length > maxChars; round++) {
    let best: { path: (string | number)[]; s: string } | undefined;
    const walk = (x: unknown, path: (string | number)[]) => {
      if (typeof x === 'string') {
        if (x.length >= 40 && !skip.has(JSON.stringify(path)) && (!best || x.length > best.s.length)) best = { path, s: x };
      } else if (Array.isArray(x)) x.forEach((y, i) => walk(y, [...path, i]));
      else if (x && typeof x === 'object') for (const [k, y] of Object.entries(x)) walk(y, [...path, k]);
    };
    walk(v, []);
    if (!best) break;
    const next = setPath(v, best.path, shorten(best.s));
    if (fits(next, schema, root) && JSON.stringify(next).length < JSON.stringify(v).length) v = next;
    else skip.add(JSON.stringify(best.path));
  }
  return v;
}

function setPath(v: unknown, path: readonly (string | number)[], x: unknown): unknown {
  if (path.length === 0) return x;
  const [h, ...rest] = path;
  if (Array.isArray(v)) return v.map((y, i) => (i === h ? setPath(y, rest, x) : y));
  const o = v as Record<string, unknown>;
  return { ...o, [h]: setPath(o[h as string], rest, x) };
}

/** Free text: the source sentences that overlap the instructions most, else sentences of prompt words. */
export function respondText(messages: JsonRequest['messages'], rng: Rng, maxWords: number): string {
  const view = readPrompt(messages);
  const source = view.fences.length ? view.fences.map((f) => f.body).join('\n') : view.all;
  const ranked = rankSentences(quotable(source), view.instructions || view.all);
  const out: string[] = [];
  let n = 0;
  for (const r of ranked.slice(0, 12).sort((a, b) => a.index - b.index)) {
    const len = r.text.split(/\s+/).length;
    if (n + len > maxWords && out.length) break;
    out.push(r.text);
    n += len;
  }
  return out.length ? out.join(' ') : makeText(promptWords(messages), rng, maxWords);
}

/**
 * v2.kernel (convolve): the convolution kernel — k suggestions, each with the judge's score and
 * rationale for the outline it produced, merged into one plan. Offline: the union of their
 * operations, equivalent operations combined (same target, same new title; the paper lists of
 * additions united; of two different splits of one section the better-weighted one kept), each weighted by the summed scores of the suggestions that propose it;
 * conflicting operations on one section are resolved in favour of the better supported one.
 */
import { z } from 'zod';
import { defineOp, fence } from '../op.ts';
import { OutlineNodeSchema, renderOutline } from '../../algo/outline.ts';
import { SuggestionSchema, titleKey, type OutlineOperation, type SectionRef, type Suggestion } from '../../algo/outline-edit.ts';
import { DATA_NOTE, OPERATIONS_GUIDE, parseSuggestionReply, suggestionText } from './feedback.ts';

export const KernelInputSchema = z.object({
  title: z.string(),
  /** The outline the merged plan will be applied to. */
  outline: OutlineNodeSchema,
  suggestions: z.array(
    SuggestionSchema.extend({
      /** Judge score (0–10) of the outline this suggestion produced. */
      score: z.number(),
      /** The judge's rationale for it. */
      evaluation: z.string(),
    }),
  ),
  /** Where in the refinement this kernel runs (keeps repeated groups distinct tasks). */
  slot: z.string(),
});
export type KernelInput = z.infer<typeof KernelInputSchema>;

/** Most operations one merged plan keeps (a plan that rewrites everything is no plan). */
export const MAX_KERNEL_OPS = 12;

const refKey = (r: SectionRef | null) => (r ? titleKey(r.title) || r.id : '(top)');

/** Operations that mean the same edit share a key. */
export function operationKey(op: OutlineOperation): string {
  switch (op.op) {
    case 'add':
      return `add:${titleKey(op.title)}`;
    case 'rename':
      return `rename:${refKey(op.target)}`;
    default:
      return `${op.op}:${refKey(op.target)}`;
  }
}

/** Combine an equivalent operation into the kept one: paper lists of additions are united; otherwise the better-weighted version stays. */
function combineInto(kept: OutlineOperation, other: OutlineOperation): OutlineOperation {
  if (kept.op === 'add' && other.op === 'add') return { ...kept, papers: [...new Set([...kept.papers, ...other.papers])] };
  return kept;
}

/** Sections an operation makes disappear or restructures (at most one such edit per section). */
function structural(op: OutlineOperation): string | null {
  return op.op === 'remove' || op.op === 'merge' || op.op === 'split' || op.op === 'move' ? refKey(op.target) : null;
}

export interface WeightedOp {
  op: OutlineOperation;
  support: number;
}

/**
 * The merged plan: operations ranked by support (sum over proposing suggestions of score + 0.01,
 * over the total), conflicts dropped, at most `max` kept. Ties keep first-proposed order.
 */
export function mergeOperations(suggestions: readonly { operations: readonly OutlineOperation[]; score: number }[], max = MAX_KERNEL_OPS): WeightedOp[] {
  const weight = suggestions.map((s) => (Number.isFinite(s.score) ? Math.max(0, s.score) : 0) + 0.01);
  const total = weight.reduce((a, b) => a + b, 0) || 1;
  const order = suggestions.map((_, i) => i).sort((a, b) => weight[b] - weight[a] || a - b);
  const byKey = new Map<string, { op: OutlineOperation; support: number; first: number }>();
  let seq = 0;
  for (const i of order) {
    // A suggestion that lists the same edit twice supports it once.
    const here = new Set<string>();
    for (const op of suggestions[i].operations) {
      const key = operationKey(op);
      const have = byKey.get(key);
      if (have) {
        have.op = combineInto(have.op, op);
        if (!here.has(key)) have.support += weight[i];
      } else byKey.set(key, { op, support: weight[i], first: seq++ });
      here.add(key);
    }
  }
  const ranked = [...byKey.values()].sort((a, b) => b.support - a.support || a.first - b.first);
  const gone = new Set<string>();
  const out: WeightedOp[] = [];
  for (const r of ranked) {
    if (out.length >= max) break;
    const s = structural(r.op);
    const target = r.op.op === 'add' ? null : refKey(r.op.target);
    if (target && gone.has(target)) continue;
    if (r.op.op === 'merge' && gone.has(refKey(r.op.into))) continue;
    if ((r.op.op === 'add' || r.op.op === 'move') && r.op.parent && gone.has(refKey(r.op.parent))) continue;
    if (s) gone.add(s);
    out.push({ op: r.op, support: Math.min(1, r.support / total) });
  }
  return out;
}

export const kernelOp = defineOp<KernelInput, Suggestion>({
  name: 'v2.kernel',
  kind: 'convolve',
  version: 1,
  input: KernelInputSchema,
  output: SuggestionSchema,
  maxOutputTokens: 3000,
  prompt(input) {
    const each = input.suggestions.map((s, i) =>
      fence(
        `Suggestion ${i + 1} of ${input.suggestions.length} (its outline scored ${s.score.toFixed(2)} of 10)`,
        [`PLAN:\n${s.text}`, s.operations.length ? `EDITS:\n${JSON.stringify(s.operations)}` : '', `EVALUATION:\n${s.evaluation}`].filter(Boolean).join('\n\n'),
      ),
    );
    return [
      {
        role: 'system',
        content: [
          'You combine several suggestions for revising a survey outline into one coherent plan.',
          'Each comes with the evaluation of the outline it led to. Give more weight to suggestions whose',
          'outlines scored higher; merge those that aim at the same thing; keep real alternatives and every',
          'paper citation they rely on. State the plan at two levels: strategic objectives, then concrete',
          'actions with citations. Do not fragment: no more than ten subsections under a section, and fold',
          'several one-paper sections into one.',
          OPERATIONS_GUIDE,
          DATA_NOTE,
        ].join('\n'),
      },
      {
        role: 'user',
        content: [fence('Survey topic', input.title), fence('Outline (section ids in brackets)', renderOutline(input.outline, { ids: true })), ...each, 'Give the merged suggestion as JSON.'].join('\n\n'),
      },
    ];
  },
  parse: (text) => parseSuggestionReply(text),
  extractive(input) {
    const merged = mergeOperations(input.suggestions);
    const scores = input.suggestions.map((s) => s.score.toFixed(2)).join(', ');
    const header = `Plan merged from ${input.suggestions.length} suggestions (their outlines scored ${scores}); support is the score-weighted share of suggestions proposing a step.`;
    const ops = merged.map((m) => m.op);
    const text = suggestionText(header, ops).split('\n');
    merged.forEach((m, i) => (text[i + 1] = `${text[i + 1]} (support ${m.support.toFixed(2)})`));
    return { text: text.join('\n'), operations: ops };
  },
});

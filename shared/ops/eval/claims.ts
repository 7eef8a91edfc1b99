/**
 * SurveyEval ops on claims (upstream-v2.md §6.2):
 * - eval.support (convolve): does one cited paper support one claim? One task per distinct
 *   (claim, paper) pair, made once (upstream made every check twice). The paper's text is
 *   read from the Object Store and cut for the judge's window.
 * - eval.facts (reduce): the atomic claims of one level-2 section (Num., Dens.).
 * - eval.dedup (reduce): which numbered claims repeat an earlier one; out-of-range numbers in
 *   a model's answer are dropped (`finalize`).
 */
import { z } from 'zod';
import { defineOp, fence } from '../op.ts';
import { cutAt } from '../../protocol/v2-input.ts';
import { extractJson } from '../../algo/text.ts';
import { LEXICAL_SUPPORT_THRESHOLD, lexicalSupport } from '../../eval/surveyeval-metrics.ts';
import { factsProxy, nearDuplicates } from '../../eval/surveyeval-proxies.ts';
import { parseVerdict } from '../../eval/surveyeval-text.ts';
import { DATA_NOTE } from './judge.ts';

export const SupportInputSchema = z.object({
  claim: z.string().min(1),
  paperTitle: z.string(),
  /** Object Store key of the paper's text. */
  sourceKey: z.string().min(1),
  /** Characters of the paper shown to the judge (the opening, cut at a boundary). */
  maxSourceChars: z.number().int().min(500).default(40_000),
});
export type SupportInput = z.infer<typeof SupportInputSchema>;

export const SupportOutputSchema = z.object({
  rationale: z.string(),
  supported: z.boolean(),
  /** How strongly the source backs the claim, 0-100. */
  score: z.number().min(0).max(100),
});
export type SupportOutput = z.infer<typeof SupportOutputSchema>;

export const supportOp = defineOp<SupportInput, SupportOutput>({
  name: 'eval.support',
  kind: 'convolve',
  version: 1,
  input: SupportInputSchema,
  output: SupportOutputSchema,
  maxOutputTokens: 300,
  async prompt(input, env) {
    const source = cutAt(await env.blobText(input.sourceKey), input.maxSourceChars);
    return [
      {
        role: 'system',
        content: [
          'You check citations in a literature survey. Decide whether the cited source backs the core of the claim:',
          'the source must state or directly imply it. Related topics, vague similarity or a claim that goes further than the source are not support.',
          'Answer with JSON only: {"rationale": "<one or two sentences>", "supported": true|false, "score": <0-100, how strongly the source backs the claim>}.',
          DATA_NOTE,
        ].join('\n'),
      },
      { role: 'user', content: [fence('Claim', input.claim), fence(`Source "${input.paperTitle}"`, source), 'Does the source support the claim?'].join('\n\n') },
    ];
  },
  parse(text) {
    const supported = parseVerdict(text);
    return { rationale: text.trim(), supported, score: supported ? 100 : 0 };
  },
  async extractive(input, env) {
    const share = lexicalSupport(input.claim, await env.blobText(input.sourceKey));
    return {
      rationale: `offline proxy (no judge model): ${(100 * share).toFixed(0)}% of the claim's content words occur in the source`,
      supported: share >= LEXICAL_SUPPORT_THRESHOLD,
      score: Math.round(100 * share),
    };
  },
});

export const FactsInputSchema = z.object({
  title: z.string(),
  section: z.object({ title: z.string(), text: z.string().min(1) }),
});
export type FactsInput = z.infer<typeof FactsInputSchema>;

export const FactsOutputSchema = z.object({ claims: z.array(z.string()) });
export type FactsOutput = z.infer<typeof FactsOutputSchema>;

export const factsOp = defineOp<FactsInput, FactsOutput>({
  name: 'eval.facts',
  kind: 'reduce',
  version: 1,
  input: FactsInputSchema,
  output: FactsOutputSchema,
  maxOutputTokens: 4000,
  prompt(input) {
    return [
      {
        role: 'system',
        content: [
          'You break a section of a literature survey into atomic claims.',
          'An atomic claim is one self-contained, objective statement of fact that can be checked on its own: resolve pronouns,',
          'keep the subject it is about, and leave out citations, opinions about the writing, and signposting ("this section covers ...").',
          'Keep a statement whole when splitting it would lose its meaning; split a sentence that asserts several independent things.',
          'Answer with JSON only: {"claims": ["...", "..."]}.',
          DATA_NOTE,
        ].join('\n'),
      },
      { role: 'user', content: [fence('Survey topic', input.title), fence(`Section "${input.section.title}"`, cutAt(input.section.text, 60_000)), 'List its atomic claims.'].join('\n\n') },
    ];
  },
  parse(text) {
    const json = FactsOutputSchema.safeParse(extractJson(text));
    if (json.success) return json.data;
    const claims = [...text.matchAll(/^\s*\d+[.)]\s+(.+)$/gm)].map((m) => m[1].replace(/^\**claim\s*\d+\**\s*[:.]\s*/i, '').trim()).filter(Boolean);
    if (claims.length === 0 && !/\bnone\b|no claims/i.test(text)) throw new Error('the reply holds no numbered claims');
    return { claims };
  },
  extractive: (input) => ({ claims: factsProxy(input.section.text) }),
});

export const DedupInputSchema = z.object({ claims: z.array(z.string()).min(1) });
export type DedupInput = z.infer<typeof DedupInputSchema>;

export const DedupOutputSchema = z.object({
  rationale: z.string(),
  /** 1-based numbers of the claims that repeat an earlier claim. */
  remove: z.array(z.number().int()),
});
export type DedupOutput = z.infer<typeof DedupOutputSchema>;

export const dedupOp = defineOp<DedupInput, DedupOutput>({
  name: 'eval.dedup',
  kind: 'reduce',
  version: 1,
  input: DedupInputSchema,
  output: DedupOutputSchema,
  maxOutputTokens: 2000,
  prompt(input) {
    return [
      {
        role: 'system',
        content: [
          'You remove repeated claims from a numbered list. A claim is a repeat when an earlier claim in the list states the same fact,',
          'even in other words. Claims that overlap but each add something are not repeats. Keep the first statement of each fact.',
          'Answer with JSON only: {"rationale": "<short>", "remove": [numbers of the repeats]} (an empty list when there are none).',
          DATA_NOTE,
        ].join('\n'),
      },
      { role: 'user', content: [fence('Claims', input.claims.map((c, i) => `${i + 1}. ${c}`).join('\n')), 'Which claims are repeats?'].join('\n\n') },
    ];
  },
  parse(text) {
    const json = DedupOutputSchema.safeParse(extractJson(text));
    if (json.success) return json.data;
    const nums = (/remove[^\d\n]*([\d,\s]+)/i.exec(text)?.[1] ?? (/^[\d,\s]+$/.test(text.trim()) ? text : '')).match(/\d+/g) ?? [];
    if (nums.length === 0 && !/\bnone\b|no repeats|\[\s*\]/i.test(text)) throw new Error('the reply names no claim numbers and does not say "none"');
    return { rationale: text.trim(), remove: nums.map(Number) };
  },
  finalize: (o, input) => ({ ...o, remove: [...new Set(o.remove)].filter((n) => n >= 1 && n <= input.claims.length).sort((a, b) => a - b) }),
  extractive(input) {
    const remove = nearDuplicates(input.claims).map((i) => i + 1);
    return { rationale: `offline proxy (no judge model): ${remove.length} claim(s) share ≥ 70% of their content words with an earlier one`, remove };
  },
});

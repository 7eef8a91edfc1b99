/**
 * v2.judge (convolve): score an outline's "information entropy" 0–10 with five sub-scores and a
 * rationale. Models rate it on a rubric. Offline, the score is heading fidelity on held-out terms
 * (shared/algo/heading-fidelity.ts), a measure the offline feedback does not optimise, and the
 * sub-scores are the computed entropy aspects (`scoreOutline`: how evenly the sources spread over
 * the leaf sections, how distinct the sections are, how many sources fit somewhere, structural
 * soundness, descriptions) that the feedback does work on; `combine(subScores)` gives that score.
 */
import { z } from 'zod';
import { defineOp, fence } from '../op.ts';
import { OutlineNodeSchema, renderOutline } from '../../algo/outline.ts';
import { ASPECTS, combine, scoreOutline, type Aspect } from '../../algo/entropy.ts';
import { headingFidelity } from '../../algo/heading-fidelity.ts';
import { extractJson } from '../../algo/text.ts';
import { DATA_NOTE, readSources, renderSources } from './feedback.ts';

export const JudgeInputSchema = z.object({
  title: z.string(),
  outline: OutlineNodeSchema,
  /** Object Store key of the sources' profiles (JSON {sources}). */
  sourcesKey: z.string(),
  /** Sample index: repeated judgements of one outline are distinct tasks. */
  sample: z.number().int().min(0),
  /** Where in the refinement this runs. */
  slot: z.string(),
});
export type JudgeInput = z.infer<typeof JudgeInputSchema>;

const score10 = z.number().min(0).max(10);
export const SubScoresSchema = z.object({ balance: score10, distinctness: score10, coverage: score10, structure: score10, description: score10 });
export type SubScores = z.infer<typeof SubScoresSchema>;

export const JudgeOutputSchema = z.object({ score: score10, subScores: SubScoresSchema, rationale: z.string() });
export type JudgeOutput = z.infer<typeof JudgeOutputSchema>;

const RUBRIC = [
  'Rate each aspect from 0 to 10:',
  '- balance: the papers spread evenly over the leaf sections, none crowded and none empty, at a useful grain;',
  '- distinctness: sections do not overlap and complement each other; each has its own clear subject;',
  '- coverage: every paper has a section that fits it, and the outline covers the whole topic;',
  '- structure: logical order inside chapters, parents that frame their children, no single subsection,',
  '  sensible depth and at most ten subsections under one section;',
  '- description: each section says what to extract from every paper (construction) and how to relate',
  '  and compare the papers it names (analysis), with citations.',
  'Judge the organisation, not the wording of labels. Write the rationale first, naming concrete',
  'weaknesses with section ids, then the scores. "score" is the weighted mean: balance 0.30,',
  'distinctness 0.20, coverage 0.25, structure 0.15, description 0.10.',
  'Answer with JSON only: {"rationale": "...", "subScores": {"balance": 0, "distinctness": 0, "coverage": 0,',
  '"structure": 0, "description": 0}, "score": 0}.',
].join('\n');

/** Read a judgement from a reply: JSON, or "aspect: x" lines with a <SCORE> tag or a weighted mean. */
export function parseJudgeReply(text: string): JudgeOutput {
  const json = JudgeOutputSchema.safeParse(extractJson(text));
  if (json.success) return json.data;
  const sub: Partial<Record<Aspect, number>> = {};
  for (const a of ASPECTS) {
    const m = new RegExp(`\\b${a}\\b[^\\d\\n]{0,20}(\\d+(?:\\.\\d+)?)`, 'i').exec(text);
    if (m) sub[a] = Number(m[1]);
  }
  const tag = /<SCORE>\s*(\d+(?:\.\d+)?)\s*<\/SCORE>/i.exec(text);
  const complete = ASPECTS.every((a) => sub[a] !== undefined && sub[a]! <= 10);
  if (!tag && !complete) throw new Error('the reply holds neither sub-scores nor a <SCORE> tag');
  const score = tag ? Number(tag[1]) : combine(Object.fromEntries(ASPECTS.map((a) => [a, sub[a]! / 10])) as Record<Aspect, number>);
  if (!(score >= 0 && score <= 10)) throw new Error(`the score ${score} is outside 0-10`);
  const subScores = Object.fromEntries(ASPECTS.map((a) => [a, Math.min(10, sub[a] ?? score)])) as SubScores;
  const rationale = text.replace(/<SCORE>[^<]*<\/SCORE>/gi, '').trim();
  return { score, subScores, rationale };
}

export const judgeOp = defineOp<JudgeInput, JudgeOutput>({
  name: 'v2.judge',
  kind: 'convolve',
  version: 1,
  input: JudgeInputSchema,
  output: JudgeOutputSchema,
  maxOutputTokens: 1500,
  async prompt(input, env) {
    const sources = await readSources(env, input.sourcesKey);
    return [
      {
        role: 'system',
        content: ['You assess how well the outline of an academic survey organises its sources.', RUBRIC, DATA_NOTE].join('\n'),
      },
      {
        role: 'user',
        content: [
          fence('Survey topic', input.title),
          fence('Outline (section ids in brackets)', renderOutline(input.outline, { ids: true })),
          fence(`The ${sources.length} sources (id: key terms of what they contribute)`, renderSources(sources)),
          'Assess the outline.',
        ].join('\n\n'),
      },
    ];
  },
  parse: (text) => parseJudgeReply(text),
  // Offline, the score is heading fidelity on held-out terms, which the offline feedback does not
  // optimise; the entropy measure it does optimise is kept in the sub-scores (combine() gives it back).
  async extractive(input, env) {
    const sources = await readSources(env, input.sourcesKey);
    const entropy = scoreOutline(input.outline, sources);
    const fidelity = headingFidelity(input.outline, sources, entropy.analysis);
    const rationale = [
      `Score ${fidelity.score.toFixed(2)} of 10 is heading fidelity: each leaf heading alone retrieves the sources placed under it with mean reciprocal rank ${fidelity.mrr.toFixed(3)} over ${fidelity.sources} sources (chance ${fidelity.chance.toFixed(3)}), measured on a held-out half of each source's terms.`,
      `The entropy measure the feedback works on gives ${entropy.score.toFixed(2)} of 10 (the sub-scores below):`,
      entropy.rationale,
    ].join('\n');
    return { score: fidelity.score, subScores: entropy.subScores, rationale };
  },
});

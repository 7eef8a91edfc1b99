/**
 * v2.refine (convolve): self-refinement — an outline and its evaluation → one suggestion, with
 * no digests (upstream's digest-free refine). Sample i of a best-of-N round focuses on the i-th
 * weakest aspect of the evaluation, so the N attempts explore different repairs. Offline: the
 * repair for that aspect is computed from the outline and the sources (an aspect with nothing
 * to repair hands over to the next weakest): coverage → sections for unplaced sources;
 * balance → split the fullest leaf by clustering; distinctness → merge or retitle the closest
 * pair; structure → fix empty, chained and too deep sections; description → write missing texts.
 */
import { z } from 'zod';
import { defineOp, fence } from '../op.ts';
import { OutlineNodeSchema, findNode, renderOutline, sections, walk, type OutlineNode } from '../../algo/outline.ts';
import { SuggestionSchema, refOf, type OutlineOperation, type Suggestion } from '../../algo/outline-edit.ts';
import { DEEP, analyseOutline, weakestFirst, type Aspect, type OutlineAnalysis } from '../../algo/entropy.ts';
import { features, joinList } from '../../algo/tfidf.ts';
import { JudgeOutputSchema } from './judge.ts';
import {
  DATA_NOTE,
  OPERATIONS_GUIDE,
  describeGroup,
  makeSpace,
  parseSuggestionReply,
  proposeEmptyFixes,
  proposeSections,
  proposeSplit,
  readSources,
  renderSources,
  suggestionText,
  type Space,
} from './feedback.ts';

export const RefineInputSchema = z.object({
  title: z.string(),
  outline: OutlineNodeSchema,
  evaluation: JudgeOutputSchema,
  sourcesKey: z.string(),
  /** Attempt index within a best-of-N round. */
  sample: z.number().int().min(0),
  slot: z.string(),
});
export type RefineInput = z.infer<typeof RefineInputSchema>;

/** The aspect attempt `sample` starts from: the (sample+1)-th weakest. */
export function focusOf(evaluation: { subScores: Record<string, number> }, sample: number): Aspect[] {
  const order = weakestFirst(evaluation.subScores);
  const start = sample % order.length;
  return [...order.slice(start), ...order.slice(0, start)];
}

function repairs(aspect: Aspect, outline: OutlineNode, a: OutlineAnalysis, space: Space): OutlineOperation[] {
  const node = (id: string) => findNode(outline, id)!;
  const parentOf = new Map(walk(outline).flatMap((v) => (v.parent ? [[v.node.id, v.parent] as const] : [])));
  switch (aspect) {
    case 'coverage':
      return proposeSections(outline, space, a.unplaced, 'fit no section of the outline');
    case 'balance': {
      for (const leaf of [...a.leaves].sort((x, y) => y.sources.length - x.sources.length || (x.id < y.id ? -1 : 1))) {
        const op = proposeSplit(node(leaf.id), space, leaf.sources, `it holds ${leaf.sources.length} of the placed sources`);
        if (op) return [op];
      }
      return [];
    }
    case 'distinctness': {
      if (!a.closest) return [];
      const count = (id: string) => a.leaves.find((l) => l.id === id)!.sources.length;
      const [small, big] = count(a.closest.a) <= count(a.closest.b) ? [a.closest.a, a.closest.b] : [a.closest.b, a.closest.a];
      const why = `${small} and ${big} are the most similar sections (cosine ${a.closest.cosine.toFixed(2)})`;
      if (parentOf.get(small) === parentOf.get(big)) return [{ op: 'merge', target: refOf(node(small)), into: refOf(node(big)), reason: why }];
      const mine = a.leaves.find((l) => l.id === small)!.sources;
      const d = mine.length ? describeGroup(space, mine, new Set([...space.topic, ...features(node(big).title, false)]), new Set([node(big).title.toLowerCase()])) : null;
      return d
        ? [{ op: 'rename', target: refOf(node(small)), title: d.title, construction: d.construction, analysis: d.analysis, reason: why }]
        : [{ op: 'remove', target: refOf(node(small)), reason: `${why}, and ${small} holds no source` }];
    }
    case 'structure': {
      const ops = proposeEmptyFixes(outline, space, new Set(a.emptyLeaves), new Set(), 'no source is placed in it');
      if (outline.children.length === 1)
        ops.push(...outline.children[0].children.map((c, i): OutlineOperation => ({ op: 'move', target: refOf(c), parent: null, position: i + 1, reason: 'the outline has a single chapter' })));
      for (const v of sections(outline)) {
        const up = (p: OutlineNode | null | undefined) => (!p || p === outline ? null : refOf(p));
        if (a.chains.includes(v.node.id))
          ops.push({ op: 'move', target: refOf(v.node.children[0]), parent: up(v.parent), position: null, reason: `${v.node.id} has a single subsection` });
        if (a.deep.includes(v.node.id))
          ops.push({ op: 'move', target: refOf(v.node), parent: up(parentOf.get(v.parent!.id)), position: null, reason: `it is deeper than level ${DEEP}` });
      }
      return ops;
    }
    case 'description':
      return a.undescribed.flatMap((id): OutlineOperation[] => {
        const n = node(id);
        const own = a.leaves.find((l) => l.id === id)?.sources ?? [];
        const d = own.length ? describeGroup(space, own, space.topic, new Set()) : null;
        const kids = n.children.map((c) => c.title);
        const construction = n.construction.trim() || d?.construction || `From each paper, note what it reports on ${joinList(features(n.title, false).slice(0, 4))}.`;
        const analysis = n.analysis.trim() || (kids.length ? `Relate ${joinList(kids)} to each other and say what they share.` : (d?.analysis ?? ''));
        if (construction === n.construction && analysis === n.analysis) return [];
        return [{ op: 'rename', target: refOf(n), title: null, construction, analysis: analysis || null, reason: 'its description is incomplete' }];
      });
  }
}

export const refineOp = defineOp<RefineInput, Suggestion>({
  name: 'v2.refine',
  kind: 'convolve',
  version: 1,
  input: RefineInputSchema,
  output: SuggestionSchema,
  maxOutputTokens: 2500,
  async prompt(input, env) {
    const sources = await readSources(env, input.sourcesKey);
    const focus = focusOf(input.evaluation, input.sample)[0];
    return [
      {
        role: 'system',
        content: [
          'You improve the outline of an academic survey using only the outline and its evaluation.',
          'Balance the chapters and order them logically; at most ten subsections under a section and never',
          'a single one; merge thin or overlapping sections; make titles specific; make each analysis say how',
          'to compare the papers it names; cover gaps, open challenges and ways to address them.',
          `Attempt ${input.sample + 1}: concentrate on the "${focus}" aspect of the evaluation first.`,
          OPERATIONS_GUIDE,
          DATA_NOTE,
        ].join('\n'),
      },
      {
        role: 'user',
        content: [
          fence('Survey topic', input.title),
          fence('Outline (section ids in brackets)', renderOutline(input.outline, { ids: true })),
          fence(`Evaluation (score ${input.evaluation.score.toFixed(2)} of 10)`, `${JSON.stringify(input.evaluation.subScores)}\n${input.evaluation.rationale}`),
          fence('Sources (id: key terms)', renderSources(sources)),
          'Give one suggestion as JSON.',
        ].join('\n\n'),
      },
    ];
  },
  parse: (text) => parseSuggestionReply(text),
  async extractive(input, env) {
    const sources = await readSources(env, input.sourcesKey);
    const a = analyseOutline(input.outline, sources);
    const space = makeSpace(input.outline, sources);
    for (const aspect of focusOf(input.evaluation, input.sample)) {
      const ops = repairs(aspect, input.outline, a, space);
      if (ops.length) {
        const was = input.evaluation.subScores[aspect].toFixed(1);
        return { text: suggestionText(`Revisions for ${aspect} (rated ${was} of 10 in the evaluation):`, ops), operations: ops };
      }
    }
    return { text: `No revision found: the outline has no unplaced source, crowded or empty section, close pair of sections or missing description to repair.`, operations: [] };
  },
});

/**
 * v2.modify (convolve): an outline plus suggestions → the complete revised outline. Offline:
 * the suggestions' operations applied in order (`applyOperations`), then repaired and
 * renumbered; the notes say what was applied, what was skipped and why.
 */
import { z } from 'zod';
import { defineOp, fence } from '../op.ts';
import { LooseOutlineNodeSchema, MAX_OUTLINE_DEPTH, OutlineNodeSchema, parseOutlineMarkdown, renderOutline } from '../../algo/outline.ts';
import { SuggestionSchema, applyOperations } from '../../algo/outline-edit.ts';
import { extractJson } from '../../algo/text.ts';
import { outlineProblems } from '../../algo/reply-checks.ts';
import { DATA_NOTE } from './feedback.ts';

export const ModifyInputSchema = z.object({
  title: z.string(),
  outline: OutlineNodeSchema,
  suggestions: z.array(SuggestionSchema),
  /** Deepest section level allowed. */
  maxDepth: z.number().int().min(1).max(MAX_OUTLINE_DEPTH),
  /** Where in the refinement this runs (keeps repeated requests distinct tasks). */
  slot: z.string(),
});
export type ModifyInput = z.infer<typeof ModifyInputSchema>;

export const ModifyOutputSchema = z.object({
  /** The revised top-level sections (ids may be empty: the caller repairs and renumbers). */
  sections: z.array(LooseOutlineNodeSchema),
  notes: z.array(z.string()).default([]),
});
export type ModifyOutput = z.infer<typeof ModifyOutputSchema>;

const FORMAT = [
  'Answer with JSON only: {"sections": [{"title": "...", "construction": "...", "analysis": "...", "children": [...]}],',
  '"notes": ["one line per change you made"]}. "construction" says what to pull out of every paper for the section;',
  '"analysis" says how to organise and compare that material, naming papers as [@P003]. Titles carry no numbers.',
].join('\n');

export const modifyOp = defineOp<ModifyInput, ModifyOutput>({
  name: 'v2.modify',
  kind: 'convolve',
  version: 1,
  input: ModifyInputSchema,
  output: ModifyOutputSchema,
  maxOutputTokens: 8000,
  check: (out) => outlineProblems(out.sections),
  prompt(input) {
    const plans = input.suggestions.map((s, i) =>
      fence(`Suggestion ${i + 1} of ${input.suggestions.length}`, [s.text, s.operations.length ? `Edits: ${JSON.stringify(s.operations)}` : ''].filter(Boolean).join('\n\n')),
    );
    return [
      {
        role: 'system',
        content: [
          'You revise the outline of an academic survey by carrying out the suggestions given. Apply every',
          'suggestion; where two disagree, prefer the one listed first. Keep sections the suggestions do not',
          'touch as they are, carry every paper citation of the suggestions into the analysis texts, and',
          `return the whole outline, not only the changes. At most ${input.maxDepth} levels; never a single`,
          'subsection under a section; no introduction, conclusion or references sections.',
          FORMAT,
          DATA_NOTE,
        ].join('\n'),
      },
      {
        role: 'user',
        content: [fence('Survey topic', input.title), fence('Current outline (section ids in brackets)', renderOutline(input.outline, { ids: true })), ...plans, 'Return the revised outline as JSON.'].join(
          '\n\n',
        ),
      },
    ];
  },
  parse(text, input) {
    const json = ModifyOutputSchema.safeParse(extractJson(text));
    if (json.success && json.data.sections.length) return json.data;
    const sections = parseOutlineMarkdown(text, input.title).children;
    if (sections.length === 0) throw new Error('the reply holds no outline sections');
    return { sections, notes: [] };
  },
  extractive(input) {
    const r = applyOperations(
      input.outline,
      input.suggestions.flatMap((s) => s.operations),
      input.maxDepth,
    );
    return {
      sections: r.outline.children,
      notes: [...r.applied.map((a) => `applied: ${a}`), ...r.skipped.map((s) => `skipped: ${s}`), ...r.repairs.map((x) => `repaired: ${x}`)],
    };
  },
});

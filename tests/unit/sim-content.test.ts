/** The simulator's content generator: JSON valid for the requested schema, made of prompt words, deterministic. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { createRng } from '../../shared/algo/rng.ts';
import { makeJson, makeText, promptWords } from '../../shared/sim/content.ts';
import { schemaArb, word } from './sim-helpers.ts';

describe('sim content', () => {
  it('produces values that validate against the zod schema behind the JSON Schema', () => {
    fc.assert(
      fc.property(schemaArb.node, fc.array(word, { minLength: 0, maxLength: 20 }), fc.integer(), (schema, words, seed) => {
        const json = z.toJSONSchema(schema, { io: 'output' });
        const value = makeJson(json, words, createRng(seed));
        const r = schema.safeParse(JSON.parse(JSON.stringify(value)));
        if (!r.success) throw new Error(`${JSON.stringify(json)}\n→ ${JSON.stringify(value)}\n${r.error.message}`);
      }),
      { numRuns: 400, seed: 20240601 },
    );
  });

  it('handles recursive schemas ($ref into $defs) and discriminated unions', () => {
    interface Section {
      title: string;
      children: Section[];
    }
    const Section: z.ZodType<Section> = z.lazy(() => z.object({ title: z.string().min(1), children: z.array(Section) }));
    const Out = z.object({
      root: Section,
      verdict: z.discriminatedUnion('kind', [z.object({ kind: z.literal('keep'), why: z.string() }), z.object({ kind: z.literal('drop') })]),
      both: z.intersection(z.object({ a: z.string() }), z.object({ b: z.number() })),
    });
    const json = z.toJSONSchema(Out, { io: 'output' });
    for (let seed = 0; seed < 50; seed++) {
      const v = makeJson(json, ['merge', 'outline', 'survey'], createRng(seed));
      expect(Out.safeParse(v).success).toBe(true);
    }
  });

  it('builds strings from prompt words and is deterministic for a seed', () => {
    const words = promptWords([
      { content: 'You are a careful reviewer.' },
      { content: 'Summarise the findings about convolution kernels and attention heads.' },
    ]);
    expect(words).toContain('convolution');
    expect(words).not.toContain('the');
    const schema = { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] };
    const a = makeJson(schema, words, createRng(7)) as { summary: string };
    const b = makeJson(schema, words, createRng(7));
    expect(b).toEqual(a);
    for (const w of a.summary.split(' ')) expect(words).toContain(w);
    const text = makeText(words, createRng(3));
    expect(text.length).toBeGreaterThan(20);
    expect(text.toLowerCase().split(/[ .]+/).filter(Boolean).every((w) => words.includes(w))).toBe(true);
  });
});

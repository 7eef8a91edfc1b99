/** The simulator's content generator: JSON valid for the requested schema, made of prompt words, deterministic. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { createRng } from '../../shared/algo/rng.ts';
import { makeJson, makeText, promptWords } from '../../shared/sim/content.ts';

const word = fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'kernel', 'survey', 'outline');

// Leaf schemas with the constraints ops use (lengths, ranges, enums, formats).
const leaf: fc.Arbitrary<z.ZodType> = fc.oneof(
  fc.record({ min: fc.integer({ min: 0, max: 6 }), span: fc.integer({ min: 0, max: 30 }) }).map(({ min, span }) => z.string().min(min).max(min + span)),
  fc.constant(z.string()),
  fc.record({ lo: fc.integer({ min: -50, max: 50 }), span: fc.integer({ min: 0, max: 100 }) }).map(({ lo, span }) => z.number().int().min(lo).max(lo + span)),
  fc.record({ lo: fc.double({ min: -5, max: 5, noNaN: true }), span: fc.double({ min: 0.01, max: 10, noNaN: true }) }).map(({ lo, span }) => z.number().gt(lo).lt(lo + span)),
  fc.constant(z.number().int().nonnegative().multipleOf(5)),
  fc.constant(z.boolean()),
  fc.uniqueArray(word, { minLength: 1, maxLength: 4 }).map((ws) => z.enum(ws as [string, ...string[]])),
  word.map((w) => z.literal(w)),
  fc.constantFrom(z.email(), z.uuid(), z.iso.datetime(), z.url()),
);

const schemaArb = fc.letrec<{ node: z.ZodType }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc
      .uniqueArray(fc.tuple(word, tie('node'), fc.constantFrom('plain', 'optional', 'nullable')), { minLength: 1, maxLength: 4, selector: (t) => t[0] })
      .map((fields) => z.object(Object.fromEntries(fields.map(([k, s, mode]) => [k, mode === 'optional' ? s.optional() : mode === 'nullable' ? s.nullable() : s])))),
    fc.record({ item: tie('node'), min: fc.integer({ min: 0, max: 3 }), span: fc.integer({ min: 0, max: 4 }) }).map(({ item, min, span }) => z.array(item).min(min).max(min + span)),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => z.union([a, b])),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => z.tuple([a, b])),
    tie('node').map((v) => z.record(z.string(), v)),
  ),
}));

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

/** `conform` makes any value valid for a schema, keeping what already fits; `fits` tells whether it already does. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { createRng } from '../../shared/algo/rng.ts';
import { makeJsonAt } from '../../shared/sim/content.ts';
import { bounds, conform, enumOf, fits, keyEnum, subschema } from '../../shared/sim/schema.ts';
import { schemaArb } from './sim-helpers.ts';

const ctxFor = (json: Record<string, any>, seed: number) => {
  const rng = createRng(seed);
  return { root: json, fill: (s: any) => makeJsonAt(s, json, ['alpha', 'beta', 'survey'], rng) };
};

describe('sim schema fitting', () => {
  it('turns any JSON value into one the zod schema behind the JSON Schema accepts', () => {
    fc.assert(
      fc.property(schemaArb.node, fc.jsonValue({ maxDepth: 3 }), fc.integer(), (schema, value, seed) => {
        const json = z.toJSONSchema(schema, { io: 'output' }) as Record<string, any>;
        const out = conform(value, json, ctxFor(json, seed));
        const r = schema.safeParse(JSON.parse(JSON.stringify(out)));
        if (!r.success) throw new Error(`${JSON.stringify(json)}\n${JSON.stringify(value)} → ${JSON.stringify(out)}\n${r.error.message}`);
      }),
      { numRuns: 400, seed: 20240602 },
    );
  });

  it('leaves a value that already fits unchanged, and says it fits', () => {
    fc.assert(
      fc.property(schemaArb.node, fc.integer(), (schema, seed) => {
        const json = z.toJSONSchema(schema, { io: 'output' }) as Record<string, any>;
        const valid = JSON.parse(JSON.stringify(makeJsonAt(json, json, ['alpha', 'beta'], createRng(seed))));
        expect(conform(valid, json, ctxFor(json, seed + 1))).toEqual(valid);
        expect(fits(valid, json, json)).toBe(true);
      }),
      { numRuns: 300, seed: 20240603 },
    );
  });

  it('repairs only what the schema forbids: an id outside the enum, a score out of range, a missing field', () => {
    const Out = z.object({ sections: z.partialRecord(z.enum(['S1', 'S2']), z.string()), score: z.number().min(0).max(10), note: z.string() });
    const json = z.toJSONSchema(Out) as Record<string, any>;
    const out = conform({ sections: { S1: 'kept text', S9: 'dropped' }, score: 14 }, json, ctxFor(json, 1)) as any;
    expect(out.sections).toEqual({ S1: 'kept text' });
    expect(out.score).toBe(10);
    expect(typeof out.note).toBe('string');
    expect(fits({ sections: { S9: 'x' }, score: 1, note: '' }, json, json)).toBe(false);
  });

  it('reads enums, key enums and bounds through $refs and nullable unions', () => {
    const Inner = z.object({ id: z.enum(['P001', 'P002']), conf: z.number().min(1).max(3).nullable() });
    const json = z.toJSONSchema(z.object({ items: z.array(Inner), map: z.partialRecord(z.enum(['S1']), z.string()) }), { reused: 'ref' }) as Record<string, any>;
    expect(enumOf(subschema(json, json, ['items', 0, 'id']), json)).toEqual(['P001', 'P002']);
    expect(bounds(subschema(json, json, ['items', '*', 'conf']), json)).toEqual({ min: 1, max: 3 });
    expect(keyEnum(subschema(json, json, ['map']), json)).toEqual(['S1']);
  });
});

/** The sloppy mode: a stated, seeded share of replies corrupted in each of the kinds small models produce. */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../shared/algo/rng.ts';
import { mapOp } from '../../shared/ops/v1/index.ts';
import { digestOp, outlinePartialOp } from '../../shared/ops/v2/index.ts';
import { jsonCandidates } from '../../shared/llm/structured.ts';
import { CORRUPTION_KINDS, SCHEMA_SAFE_KINDS, applicableKinds, corrupt, sloppyReply, unknownId, type CorruptionKind, type SloppyInput } from '../../shared/sim/sloppy.ts';
import { askSim, PAPERS, replySchema, TOPIC } from './sim-helpers.ts';

const SECTIONS = [
  { id: 'S1', title: 'Quantization of Keys and Values', construction: 'the bit width and the scales', leaf: true, papers: [] },
  { id: 'S2', title: 'Token Eviction', construction: 'which tokens are evicted', leaf: true, papers: [] },
];

/** Clean replies of three ops with their schemas: a digest (ids in an enum), an outline, a scored record. */
async function cases() {
  const digestIn = { title: TOPIC, paperId: 'P001', paperTitle: PAPERS[0].title, textKey: 'k', sections: SECTIONS };
  const digest = await askSim(digestOp, digestIn, { blobs: { k: PAPERS[0].text } });
  const partialIn = { title: TOPIC, papers: PAPERS.map((p) => ({ id: p.id, title: p.title, abstract: p.text })) };
  const outline = await askSim(outlinePartialOp, partialIn);
  const mapIn = { chunk: { index: 0, text: PAPERS[2].text }, question: 'Which tokens does eviction keep?', profile: 'qa' as const };
  const record = await askSim(mapOp, mapIn);
  return [
    { reply: digest.reply, ...replySchema(digestOp, digestOp.input.parse(digestIn)) },
    { reply: outline.reply, ...replySchema(outlinePartialOp, partialIn) },
    { reply: record.reply, ...replySchema(mapOp, mapOp.input.parse(mapIn)) },
  ];
}

describe('sim sloppy mode', () => {
  it('corrupts about the stated share of replies, seeded, and every kind occurs', async () => {
    const cs = await cases();
    const count = Object.fromEntries(CORRUPTION_KINDS.map((k) => [k, 0])) as Record<CorruptionKind, number>;
    const N = 3000;
    let corrupted = 0;
    for (let i = 0; i < N; i++) {
      const c = cs[i % cs.length];
      const input: SloppyInput = { value: c.reply, schema: c.json, structured: false };
      const r = sloppyReply(input, createRng(i), 0.3);
      expect(sloppyReply(input, createRng(i), 0.3)).toEqual(r); // deterministic per seed
      if (r.kind) (corrupted++, count[r.kind]++);
      else expect(r.content).toBe(JSON.stringify(c.reply));
    }
    expect(corrupted / N).toBeGreaterThan(0.27);
    expect(corrupted / N).toBeLessThan(0.33);
    for (const k of CORRUPTION_KINDS) expect(count[k], k).toBeGreaterThan(0);
  });

  it('with structured output, only corruptions guided decoding allows: the rest of the reply still fits the schema', async () => {
    const cs = await cases();
    const seen = new Set<CorruptionKind>();
    for (let i = 0; i < 600; i++) {
      const c = cs[i % cs.length];
      const r = sloppyReply({ value: c.reply, schema: c.json, structured: true }, createRng(i), 1);
      expect(r.kind).toBeDefined();
      seen.add(r.kind!);
      expect(SCHEMA_SAFE_KINDS).toContain(r.kind);
      if (r.kind === 'truncated') expect(r.finishReason).toBe('length');
      else expect(c.zod.safeParse(JSON.parse(r.content)).success, `${r.kind}: ${r.content}`).toBe(true);
    }
    expect([...seen].sort()).toEqual([...SCHEMA_SAFE_KINDS].sort());
  });

  it('each kind breaks the reply the way it says', async () => {
    const [digest, outline, record] = await cases();
    const rng = () => createRng(11);
    const on = (c: typeof digest, kind: CorruptionKind) => corrupt({ value: c.reply, schema: c.json, structured: false }, kind, rng());
    const parses = (s: string) => {
      try {
        return JSON.parse(s);
      } catch {
        return undefined;
      }
    };
    for (const kind of ['prose', 'fence'] as const) {
      const r = on(digest, kind);
      expect(parses(r.content)).toBeUndefined();
      expect(jsonCandidates(r.content)).toContainEqual(digest.reply); // the engine's tolerant reading recovers it
    }
    expect(parses(on(digest, 'syntax').content)).toBeUndefined();
    const cut = on(digest, 'truncated');
    expect(cut.finishReason).toBe('length');
    expect(JSON.stringify(digest.reply).startsWith(cut.content)).toBe(true);
    for (const kind of ['missing-field', 'wrong-type', 'out-of-range'] as const) expect(record.zod.safeParse(parses(on(record, kind).content)).success, kind).toBe(false);
    const bad = parses(on(digest, 'unknown-id').content);
    expect(Object.keys(bad.sections).some((id) => !['S1', 'S2'].includes(id))).toBe(true);
    expect(digest.zod.safeParse(bad).success).toBe(false);
    expect(parses(on(outline, 'one-section').content).sections).toHaveLength(1);
    expect(JSON.stringify(parses(on(digest, 'empty').content))).toMatch(/""|\{\}|\[\]/);
    const rep = parses(on(record, 'repeated').content);
    const longest = Object.values(rep).filter((v): v is string => typeof v === 'string').sort((a, b) => b.length - a.length)[0];
    const first = /^.*?[.!?](?=\s|$)/.exec(longest)![0];
    expect(longest.split(first).length - 1).toBeGreaterThanOrEqual(8);
    expect(JSON.stringify(parses(on(record, 'language').content))).toMatch(/\b(le|la|et|dans|die|und|von|mit)\b/);
  });

  it('corrupts free text only by cutting, emptying, repeating or translating it', () => {
    const text = 'The pass key is 68413. Nobody should forget it.';
    expect(applicableKinds({ text, structured: false }).sort()).toEqual(['empty', 'language', 'repeated', 'truncated']);
    expect(corrupt({ text, structured: false }, 'empty', createRng(1)).content).toBe('');
  });

  it('invents ids of the same shape that are not among the known ones', () => {
    expect(unknownId(['S1', 'S2', 'S2.1'], createRng(1))).toMatch(/^S\d+$/);
    expect(['S1', 'S2', 'S2.1']).not.toContain(unknownId(['S1', 'S2', 'S2.1'], createRng(1)));
    const p = unknownId(['P001', 'P067'], createRng(2));
    expect(p).toMatch(/^P\d{3}$/);
    expect(Number(p.slice(1))).toBeGreaterThan(67);
  });
});

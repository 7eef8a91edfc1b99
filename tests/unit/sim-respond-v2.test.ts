/** The simulator answers V2 prompts with the ids, titles and sentences it was shown, within the schema sent. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ALL_OPS } from '../../shared/ops/registry.ts';
import { concludeOp, digestOp, groupOp, outlineMergeOp, outlinePartialOp, writeOp } from '../../shared/ops/v2/index.ts';
import { verifyOp } from '../../shared/ops/v2/verify.ts';
import { DigestOutputSchema } from '../../shared/ops/v2/digest.ts';
import { citedKeys } from '../../shared/algo/citations.ts';
import { KNOWN_OPS, respondJson, shrinkToFit } from '../../shared/sim/respond/index.ts';
import { createRng } from '../../shared/algo/rng.ts';
import { askSim, plain, PAPERS, TOPIC } from './sim-helpers.ts';

const words = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}-]+/gu) ?? []);

const SECTIONS = [
  { id: 'S1', title: 'Compressing the Cache', construction: 'From each paper, note how it makes the cache smaller.', leaf: false, papers: [] },
  { id: 'S1.1', title: 'Quantization of Keys and Values', construction: 'From each paper, note the bit width, the quantization scales and the accuracy kept.', leaf: true, papers: [] },
  { id: 'S1.2', title: 'Token Eviction', construction: 'From each paper, note which tokens are evicted and by what attention score.', leaf: true, papers: [] },
  { id: 'S2', title: 'Memory Management and Offloading', construction: 'From each paper, note where cache blocks live: pages, host memory, PCIe transfer.', leaf: true, papers: [] },
];

describe('sim responders: v2', () => {
  it('has a responder for every op the workers serve that prompts a model', () => {
    // Tools (web search, page fetch) run without a model and have no prompt.
    const isTool = (op: (typeof ALL_OPS)[number]) => op.tool === true;
    for (const op of ALL_OPS.filter((o) => !isTool(o))) expect(KNOWN_OPS, op.name).toContain(op.name);
  });

  it('sources.judge gives one verdict per candidate, relevant when it is about the topic', async () => {
    const { judgeOp } = await import('../../shared/ops/sources/judge.ts');
    const candidates = [
      { id: 'C1', title: PAPERS[0].title, abstract: PAPERS[0].text },
      { id: 'C2', title: 'Protein Folding with Graph Networks', abstract: 'Graph networks predict protein structures from sequences.' },
    ];
    const r = await askSim(judgeOp, { topic: 'Key value cache quantization', candidates });
    expect(r.valid).toBe(true);
    expect(r.value.verdicts.map((v) => [v.id, v.relevant])).toEqual([['C1', true], ['C2', false]]);
  });

  it('v2.digest files the paper under leaf sections of the outline shown and quotes it, citing it', async () => {
    const p = PAPERS[0];
    const input = { title: TOPIC, paperId: p.id, paperTitle: p.title, textKey: 'k', sections: SECTIONS };
    const r = await askSim(digestOp, input, { blobs: { k: p.text } });
    expect(r.op).toBe('v2.digest');
    expect(r.valid).toBe(true);
    const ids = Object.keys(r.value.sections);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids[0]).toBe('S1.1');
    for (const id of ids) expect(['S1.1', 'S1.2', 'S2']).toContain(id);
    for (const text of Object.values(r.value.sections)) {
      expect(citedKeys(text)).toEqual(['P001']);
      for (const s of text.split(/(?<=[.!?])\s+/)) expect(p.text).toContain(plain(s));
    }
  });

  it('v2.digest keeps to the section ids the schema enumerates', async () => {
    const p = PAPERS[0];
    const input = { title: TOPIC, paperId: p.id, paperTitle: p.title, textKey: 'k', sections: SECTIONS };
    const tight = DigestOutputSchema.extend({ paperId: z.literal('P001'), sections: z.partialRecord(z.enum(['S1.2', 'S2']), z.string()) });
    const r = await askSim(digestOp, input, { blobs: { k: p.text }, tighten: tight });
    expect(r.valid).toBe(true);
    expect(Object.keys(r.value.sections).length).toBeGreaterThan(0);
    for (const id of Object.keys(r.value.sections)) expect(['S1.2', 'S2']).toContain(id);
  });

  it('v2.outline.partial titles at least two sections with phrases of the paper titles and cites every paper', async () => {
    const r = await askSim(outlinePartialOp, { title: TOPIC, papers: PAPERS.map((p) => ({ id: p.id, title: p.title, abstract: p.text })) });
    expect(r.valid).toBe(true);
    const sections = r.value.sections;
    expect(sections.length).toBeGreaterThanOrEqual(2);
    const titleWords = new Set(PAPERS.flatMap((p) => [...words(p.title)]));
    for (const s of sections) for (const w of words(s.title)) if (w !== 'and') expect(titleWords, s.title).toContain(w);
    const cited = new Set(sections.flatMap((s) => citedKeys(`${s.construction} ${s.analysis}`)));
    expect([...cited].sort()).toEqual(PAPERS.map((p) => p.id));
  });

  it('v2.outline.merge merges sections the partials share and keeps their citations', async () => {
    const node = (t: string, ids: string[]) => ({ id: '', title: t, construction: 'From each paper, note its method.', analysis: `Compare [${ids.map((i) => `@${i}`).join('; ')}].`, children: [] });
    const partials = [
      { sections: [node('Cache Quantization', ['P001', 'P002']), node('Token Eviction', ['P003'])] },
      { sections: [node('Token Eviction', ['P004']), node('Memory Offloading', ['P005', 'P006'])] },
    ];
    const r = await askSim(outlineMergeOp, { title: TOPIC, partials });
    expect(r.valid).toBe(true);
    expect(r.value.sections.map((s) => s.title)).toEqual(['Cache Quantization', 'Token Eviction', 'Memory Offloading']);
    const cited = new Set(r.value.sections.flatMap((s) => citedKeys(s.analysis)));
    expect([...cited].sort()).toEqual(PAPERS.map((p) => p.id));
  });

  it('v2.group puts every paper of the list in exactly one group', async () => {
    const r = await askSim(groupOp, { title: TOPIC, groupSize: 2, papers: PAPERS.map((p) => ({ id: p.id, title: p.title })) });
    expect(r.valid).toBe(true);
    const ids = r.value.groups.flatMap((g) => g.ids);
    expect([...ids].sort()).toEqual(PAPERS.map((p) => p.id));
    expect(r.value.groups.length).toBeGreaterThanOrEqual(2);
  });

  it('v2.write builds a leaf from its digests, citing exactly their papers; the root gets an abstract', async () => {
    const digests = PAPERS.slice(2, 4).map((p) => ({ paperId: p.id, paperTitle: p.title, text: p.text.replace(/\.(\s|$)/g, ` [@${p.id}].$1`) }));
    const node = { id: 'S1.2', number: '1.2', title: 'Token Eviction', construction: 'which tokens are evicted', analysis: 'Compare [@P003; @P004].' };
    const leaf = await askSim(writeOp, { title: TOPIC, role: 'leaf', node, digests, paperCount: 6 });
    expect(leaf.valid).toBe(true);
    expect(citedKeys(leaf.value.text).sort()).toEqual(['P003', 'P004']);
    expect(leaf.value.abstract).toBeUndefined();
    const root = await askSim(writeOp, {
      title: TOPIC, role: 'root', node: { id: 'S0', number: '', title: TOPIC, construction: '', analysis: '' }, paperCount: 6,
      children: [{ id: 'S1', number: '1', title: 'Token Eviction', text: leaf.value.text }],
    });
    expect(root.valid).toBe(true);
    expect(root.value.abstract).toMatch(/Token Eviction \(1\)/);
  });

  it('v2.conclude gathers the sections and cites the open problems of the notes, in the language asked for', async () => {
    const sections = [
      { number: '1', title: 'Quantization', text: `${PAPERS[0].text} [@P001] ${PAPERS[1].text} [@P002]` },
      { number: '2', title: 'Eviction', text: `${PAPERS[2].text} [@P003]` },
    ];
    const notes = [{ paperId: 'P003', subject: 'Zhang et al.', text: 'Whether eviction hurts multi-turn dialogue remains an open problem.' }];
    const r = await askSim(concludeOp, { title: TOPIC, number: '3', sections, notes });
    expect(r.valid).toBe(true);
    expect(r.value.text).toContain('remains an open problem [@P003].');
    const fr = await askSim(concludeOp, { title: TOPIC, number: '3', sections, notes, language: 'French' });
    expect(fr.value.text).toMatch(/\b(le|de|et|dans)\b/);
    expect(citedKeys(fr.value.text)).toEqual(['P003']);
  });

  it('v2.verify answers every check shown, supporting what the passage states and quoting it', async () => {
    const input = {
      section: 'S1',
      sentences: [
        { id: 0, text: 'Quantization of the key value cache to four bits cuts cache memory by three quarters [@P001].' },
        { id: 1, text: 'Token eviction doubles decoding speed on 128 GPUs [@P003].' },
      ],
      sources: [{ id: 'P001', key: 'a' }, { id: 'P003', key: 'b' }],
    };
    const r = await askSim(verifyOp, input, { blobs: { a: PAPERS[0].text, b: PAPERS[2].text } });
    expect(r.valid).toBe(true);
    expect(verifyOp.check!(r.value, verifyOp.input.parse(input))).toEqual([]);
    const [a, b] = r.value.checks;
    expect(a).toMatchObject({ sentence: 0, key: 'P001', supported: true });
    expect(PAPERS[0].text).toContain(a.evidence);
    expect(b).toMatchObject({ sentence: 1, key: 'P003', supported: false });
    expect(b.reason).toMatch(/128/);
  });

  it('keeps a clean reply within max_tokens by shortening its longest texts to their leading sentences', () => {
    const long = PAPERS.map((p) => p.text).join(' ');
    const value = { checks: [{ sentence: 0, key: 'P001', evidence: long, reason: 'short' }, { sentence: 1, key: 'P002', evidence: long.slice(0, 120), reason: 'short' }] };
    const schema = z.toJSONSchema(z.object({ checks: z.array(z.object({ sentence: z.number().int(), key: z.string(), evidence: z.string(), reason: z.string() })) }));
    const out = shrinkToFit(value, schema, 500) as typeof value;
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(500);
    expect(out.checks).toHaveLength(2);
    for (const c of out.checks) expect(long.startsWith(c.evidence)).toBe(true);
  });

  it('answers a schema whose title names no known op with a value the schema accepts', () => {
    const Out = z.object({ verdict: z.enum(['keep', 'drop']), n: z.number().int().min(2).max(4), why: z.string().min(3) });
    const schema = { ...z.toJSONSchema(Out), title: 'some.future.op' };
    const r = respondJson({ messages: [{ role: 'user', content: 'Should we keep the section on eviction?' }], schema, maxTokens: 200 }, createRng(3));
    expect(r.op).toBeUndefined();
    expect(Out.safeParse(r.value).success).toBe(true);
  });
});


/** The simulator's answers to the outline-refinement and SurveyEval judge prompts: about the outline and material shown, scores in range. */
import { describe, expect, it } from 'vitest';
import { feedbackOp, judgeOp, kernelOp, modifyOp, refineOp } from '../../shared/ops/v2/conv-index.ts';
import { dedupOp, factsOp, rubricOp, sectionOp, supportOp } from '../../shared/ops/eval/index.ts';
import type { OutlineNode } from '../../shared/algo/outline.ts';
import { askSim, PAPERS, TOPIC } from './sim-helpers.ts';

const leaf = (id: string, title: string, construction: string, analysis = ''): OutlineNode => ({ id, title, construction, analysis, children: [] });
const OUTLINE: OutlineNode = {
  id: 'S0', title: TOPIC, construction: '', analysis: '',
  children: [
    leaf('S1', 'Cache Quantization', 'From each paper, note the bit width and quantization scales.', 'Compare [@P001; @P002].'),
    leaf('S2', 'Token Eviction', 'From each paper, note which tokens are evicted.', 'Compare [@P003; @P004].'),
    leaf('S3', 'Hardware Accelerators', 'From each paper, note the accelerator area.'),
  ],
};
const SOURCES = {
  sources: PAPERS.map((p, i) => ({ id: p.id, terms: Object.fromEntries(p.title.toLowerCase().split(/\W+/).filter((w) => w.length > 3).map((w, j) => [w, 1 - j / 10])), filed: i < 2 ? [{ id: 'S1', title: 'Cache Quantization' }] : i < 4 ? [{ id: 'S2', title: 'Token Eviction' }] : [] })),
};
const blobs = { src: JSON.stringify(SOURCES), survey: '# Survey\n\n## 1 Quantization\n\nQuantization of the key value cache saves memory [@P001].\n\n## 2 Eviction\n\nToken eviction keeps heavy hitters [@P003].', p1: PAPERS[0].text };
const shownIds = new Set(['S1', 'S2', 'S3']);
const targets = (ops: any[]) => ops.flatMap((o) => [o.target, o.into, o.parent].filter(Boolean).map((r: any) => r.id));

describe('sim responders: refinement and evaluation', () => {
  it('v2.judge scores the outline from its sections and sources, inside 0-10', async () => {
    const r = await askSim(judgeOp, { title: TOPIC, outline: OUTLINE, sourcesKey: 'src', sample: 0, slot: 'a' }, { blobs });
    expect(r.valid).toBe(true);
    for (const v of [r.value.score, ...Object.values(r.value.subScores)]) expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(10);
    expect(r.value.rationale).toMatch(/of 6 sources/);
  });

  it('v2.refine, v2.feedback and v2.kernel name only sections of the outline shown', async () => {
    const evaluation = { score: 5, subScores: { balance: 6, distinctness: 7, coverage: 2, structure: 6, description: 5 }, rationale: 'P005 and P006 fit nowhere.' };
    const refine = await askSim(refineOp, { title: TOPIC, outline: OUTLINE, evaluation, sourcesKey: 'src', sample: 0, slot: 'a' }, { blobs });
    expect(refine.valid).toBe(true);
    expect(refine.value.operations.length).toBeGreaterThan(0);
    for (const id of targets(refine.value.operations)) expect(shownIds).toContain(id);

    const digests = PAPERS.slice(0, 3).map((p, i) => ({ paperId: p.id, sections: i < 2 ? { S1: `${p.text} [@${p.id}]` } : {}, suggestion: '' }));
    const fb = await askSim(feedbackOp, { title: TOPIC, outline: OUTLINE, group: ['P001', 'P002', 'P003'], digests, sourcesKey: 'src' }, { blobs });
    expect(fb.valid).toBe(true);
    const ops = fb.value.operations as any[];
    expect(ops.find((o) => o.op === 'add')?.papers).toEqual(['P003']);
    expect(ops.find((o) => o.op === 'remove')?.target.id).toMatch(/^S[23]$/);

    const suggestions = [
      { text: 'Drop the accelerator section.', operations: [{ op: 'remove' as const, target: { id: 'S3', title: 'Hardware Accelerators' }, reason: 'empty' }], score: 7, evaluation: 'better' },
      { text: 'Rename eviction.', operations: [{ op: 'rename' as const, target: { id: 'S2', title: 'Token Eviction' }, title: 'Eviction Policies', construction: null, analysis: null, reason: 'clearer' }], score: 5, evaluation: 'fine' },
    ];
    const k = await askSim(kernelOp, { title: TOPIC, outline: OUTLINE, suggestions, slot: 'a' }, { blobs });
    expect(k.valid).toBe(true);
    expect(k.value.operations.map((o) => o.op)).toEqual(['remove', 'rename']);
  });

  it('v2.modify returns the outline shown with the suggested edits carried out', async () => {
    const suggestions = [{ text: 'Drop the accelerator section and add offloading.', operations: [
      { op: 'remove' as const, target: { id: 'S3', title: 'Hardware Accelerators' }, reason: 'no paper' },
      { op: 'add' as const, parent: null, title: 'Offloading and Paging', construction: 'where blocks live', analysis: 'Compare them.', papers: ['P005', 'P006'], reason: 'unplaced' },
    ] }];
    const r = await askSim(modifyOp, { title: TOPIC, outline: OUTLINE, suggestions, maxDepth: 3, slot: 'a' }, { blobs });
    expect(r.valid).toBe(true);
    expect(r.value.sections.map((s) => s.title)).toEqual(['Cache Quantization', 'Token Eviction', 'Offloading and Paging']);
    expect(r.value.sections[2].analysis).toContain('[@P005; @P006]');
  });

  it('eval.support backs a claim the source states and rejects one it does not', async () => {
    const yes = await askSim(supportOp, { claim: 'Quantization of the key value cache to four bits cuts cache memory by three quarters.', paperTitle: PAPERS[0].title, sourceKey: 'p1' }, { blobs });
    const no = await askSim(supportOp, { claim: 'Speculative decoding doubles throughput on translation benchmarks.', paperTitle: PAPERS[0].title, sourceKey: 'p1' }, { blobs });
    expect(yes.valid && no.valid).toBe(true);
    expect(yes.value.supported).toBe(true);
    expect(no.value.supported).toBe(false);
    expect(yes.value.score).toBeGreaterThan(no.value.score);
  });

  it('eval.dedup, eval.facts, eval.section and eval.rubric answer from the text, inside their ranges', async () => {
    const claims = ['Eviction keeps heavy hitter tokens.', 'Paging removes fragmentation.', 'Eviction keeps the heavy hitter tokens.'];
    const d = await askSim(dedupOp, { claims });
    expect(d.value.remove).toEqual([3]);
    const text = `${PAPERS[2].text} [@P003] However, eviction can lose long-range facts, and whether it suits dialogue remains open.`;
    const f = await askSim(factsOp, { title: TOPIC, section: { title: 'Eviction', text } });
    expect(f.valid).toBe(true);
    for (const c of f.value.claims) expect(text.replace(/\s*\[@P003\]/, '')).toContain(c);
    for (const family of ['language', 'critical'] as const) {
      const s = await askSim(sectionOp, { title: TOPIC, family, section: { title: 'Eviction', text } });
      expect(s.valid).toBe(true);
      expect(s.value.dimensionScores).toHaveLength(3);
    }
    const rub = await askSim(rubricOp, { title: TOPIC, criterion: 'structure', contentKey: 'survey' }, { blobs });
    expect(rub.valid).toBe(true);
    expect(Number.isInteger(rub.value.score)).toBe(true);
  });
});

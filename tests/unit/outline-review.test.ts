/** Edited outlines: checks in plain words, where each section's material comes from, the change list, and the writer's view. */
import { describe, expect, it } from 'vitest';
import { normaliseOutline, outlineContext, remapDigests } from '../../shared/algo/outline-review.ts';
import type { OutlineNode } from '../../shared/algo/outline.ts';

const n = (id: string, title: string, children: OutlineNode[] = [], construction = ''): OutlineNode => ({ id, title, construction, analysis: '', children });
const REF = n('S0', 'Survey', [n('S1', 'Methods', [n('S1.1', 'Quantization', [], 'bits'), n('S1.2', 'Eviction')]), n('S2', 'Systems', [n('S2.1', 'Offloading'), n('S2.2', 'Paging')]), n('S3', 'Evaluation')]);
const plain = (o: OutlineNode): unknown => JSON.parse(JSON.stringify(o));

describe('normaliseOutline', () => {
  it('keeps an unchanged outline unchanged, every section mapped to itself', () => {
    const r = normaliseOutline(plain(REF), REF, { maxDepth: 3, strictIds: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.outline).toEqual(REF);
    expect(r.changes).toEqual([]);
    expect(r.from['S2.2']).toEqual(['S2.2']);
  });

  it('describes a rename, a move, an addition, a removal and a guidance edit, and maps the material', () => {
    const edited = {
      outline: {
        title: 'Survey',
        children: [
          { id: 'S1', title: 'Methods', children: [{ id: 'S1.1', title: 'Low-bit caches', guidance: 'bit widths' }, { id: 'S2.2', title: 'Paging' }, { id: '', title: 'Hybrid methods' }] },
          { id: 'S2', title: 'Systems', children: [{ id: 'S2.1', title: 'Offloading' }, { id: 'S1.2', title: 'Eviction' }] },
        ],
      },
    };
    const r = normaliseOutline(edited, REF, { maxDepth: 3, strictIds: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.outline.children.map((c) => c.children.map((k) => `${k.id} ${k.title}`))).toEqual([
      ['S1.1 Low-bit caches', 'S1.2 Paging', 'S1.3 Hybrid methods'],
      ['S2.1 Offloading', 'S2.2 Eviction'],
    ]);
    expect(r.from).toMatchObject({ 'S1.1': ['S1.1'], 'S1.2': ['S2.2'], 'S2.2': ['S1.2'] });
    expect(r.from['S1.3']).toBeUndefined();
    expect(r.outline.children[0].children[0].construction).toBe('bit widths');
    expect(r.changes).toEqual(
      expect.arrayContaining([
        'renamed 1.1 "Quantization" to "Low-bit caches"',
        'edited the guidance of 1.1 "Low-bit caches"',
        'moved "Paging" from 2.2 to 1.2',
        'added 1.3 "Hybrid methods"',
        'removed 3 "Evaluation"',
      ]),
    );
  });

  it('folds a lone subsection into its parent, with the material of both', () => {
    const edited = { title: 'Survey', children: [{ id: 'S1', title: 'Methods', children: [{ id: 'S1.1', title: 'Quantization' }] }, { id: 'S2', title: 'Systems' }] };
    const r = normaliseOutline(edited, REF, { maxDepth: 3, strictIds: true });
    expect(r.ok && r.from.S1).toEqual(['S1', 'S1.1']);
    expect(r.ok && r.repairs[0]).toMatch(/folded the only subsection "Quantization"/);
  });

  it('lists every problem in plain words and stores nothing', () => {
    const bad = {
      title: 'Survey',
      children: [
        { id: 'S1', title: '   ', children: [{ id: 'S9', title: 'Ghost', children: [{ title: 'Deep', children: [{ title: 'Deeper' }] }] }] },
        { id: 'S1', title: 'Again' },
      ],
    };
    const r = normaliseOutline(bad, REF, { maxDepth: 3, strictIds: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.join('\n');
    expect(text).toMatch(/empty title: give it a title, or remove the section/);
    expect(text).toMatch(/"Ghost" has the id "S9", which is not a section of the outline you fetched/);
    expect(text).toMatch(/"Deeper" is at level 4; this survey allows 3 level\(s\)/);
    expect(text).toMatch(/the id "S1" is used by .* and by "Again"/);
  });

  it('refuses what is not a section tree, and an outline with one top-level section', () => {
    const notTree = normaliseOutline([1, 2], REF, { maxDepth: 3 });
    expect(!notTree.ok && notTree.problems[0]).toMatch(/not a section tree/);
    const one = normaliseOutline({ title: 'Survey', children: [{ title: 'Only' }] }, REF, { maxDepth: 3 });
    expect(!one.ok && one.problems.join()).toMatch(/1 top-level section\(s\); a survey needs at least 2/);
  });
});

describe('outlineContext', () => {
  it("shows a section's path and subtree only, so a sibling's rename leaves it unchanged", () => {
    const view = outlineContext(REF, 'S1.2');
    expect(view).toBe('# Survey\n\n## 1 Methods\n\n### 1.2 Eviction');
    const renamed = JSON.parse(JSON.stringify(REF)) as OutlineNode;
    renamed.children[0].children[0].title = 'Low-bit caches';
    expect(outlineContext(renamed, 'S1.2')).toBe(view);
    expect(outlineContext(renamed, 'S1')).not.toBe(outlineContext(REF, 'S1'));
    expect(outlineContext(renamed, 'S0')).toContain('Low-bit caches');
  });
});

describe('remapDigests', () => {
  it('files each paper under the sections its material moved to, merged ones joined', () => {
    const out = remapDigests([{ paperId: 'P1', sections: { 'S1.1': 'a', 'S1.2': 'b', S3: 'c' }, suggestion: '' }], { S1: ['S1.1', 'S1.2'], S2: ['S3'], S4: ['S9'] });
    expect(out[0].sections).toEqual({ S1: 'a b', S2: 'c' });
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyOperations, refOf, type OutlineOperation, type SectionRef } from '../../shared/algo/outline-edit.ts';
import { findNode, sections, validateOutline, walk, type OutlineNode } from '../../shared/algo/outline.ts';
import { citedKeys } from '../../shared/algo/citations.ts';
import { OUTLINE_SPREAD } from './conv-fixture.ts';

/** A two-level outline: S1 with two subsections, S2, S3. */
const NESTED: OutlineNode = {
  ...OUTLINE_SPREAD,
  children: [
    {
      id: 'S1',
      title: 'Compression',
      construction: 'Note how the cache shrinks.',
      analysis: 'Relate quantization and eviction.',
      children: [
        { id: 'S1.1', title: 'Quantization of the Cache', construction: 'Bits.', analysis: 'Compare [@P001; @P002].', children: [] },
        { id: 'S1.2', title: 'Token Eviction', construction: 'Budgets.', analysis: 'Compare [@P005; @P006].', children: [] },
      ],
    },
    { id: 'S2', title: 'Offloading and Paging', construction: 'Where blocks live.', analysis: 'Compare [@P009; @P010].', children: [] },
    { id: 'S3', title: 'Benchmarks', construction: 'Datasets.', analysis: 'Compare coverage.', children: [] },
  ],
};
const ref = (id: string): SectionRef => refOf(findNode(NESTED, id)!);
const titles = (o: OutlineNode) => sections(o).map((v) => `${v.node.id} ${v.node.title}`);

describe('outline operations', () => {
  it('add: a new section citing its papers; a second time it changes nothing', () => {
    const op: OutlineOperation = { op: 'add', parent: ref('S1'), title: 'Low-Rank Projection', construction: 'Note the rank.', analysis: 'Compare them.', papers: ['P003'], reason: '' };
    const r = applyOperations(NESTED, [op]);
    expect(titles(r.outline)).toContain('S1.3 Low-Rank Projection');
    expect(citedKeys(findNode(r.outline, 'S1.3')!.analysis)).toEqual(['P003']);
    const again = applyOperations(r.outline, [op]);
    expect(again.outline).toEqual(r.outline);
    expect(again.skipped[0]).toContain('already exists');
  });

  it('add under a leaf puts the section beside it (no single subsection)', () => {
    const r = applyOperations(NESTED, [{ op: 'add', parent: ref('S2'), title: 'Disaggregated Serving', construction: '', analysis: '', papers: ['P011'], reason: '' }]);
    expect(titles(r.outline)).toEqual(expect.arrayContaining(['S2 Offloading and Paging', 'S3 Disaggregated Serving', 'S4 Benchmarks']));
  });

  it('merge: texts, citations and subsections join the other section', () => {
    const r = applyOperations(NESTED, [{ op: 'merge', target: ref('S1.2'), into: ref('S2'), reason: 'test' }]);
    // S1 is left with one subsection, which the repair folds into it.
    expect(titles(r.outline)).toEqual(['S1 Compression', 'S2 Offloading and Paging', 'S3 Benchmarks']);
    expect(citedKeys(findNode(r.outline, 'S2')!.analysis)).toEqual(['P009', 'P010', 'P005', 'P006']);
    expect(r.repairs.join(' ')).toContain('folded');
  });

  it('split: parts become subsections and take their papers; repeating it changes nothing', () => {
    const op: OutlineOperation = {
      op: 'split',
      target: ref('S2'),
      parts: [
        { title: 'Host Offloading', construction: 'PCIe.', analysis: 'Compare them.', papers: ['P009'] },
        { title: 'Paged Memory', construction: 'Pages.', analysis: 'Compare them.', papers: ['P010'] },
      ],
      reason: '',
    };
    const r = applyOperations(NESTED, [op]);
    expect(titles(r.outline)).toEqual(expect.arrayContaining(['S2.1 Host Offloading', 'S2.2 Paged Memory']));
    expect(citedKeys(findNode(r.outline, 'S2.2')!.analysis)).toEqual(['P010']);
    expect(applyOperations(r.outline, [op]).outline).toEqual(r.outline);
  });

  it('split at the deepest level replaces the section by its parts', () => {
    const op: OutlineOperation = {
      op: 'split',
      target: ref('S1.1'),
      parts: [
        { title: 'Scalar Quantization', construction: '', analysis: '', papers: ['P001'] },
        { title: 'Vector Quantization', construction: '', analysis: '', papers: ['P002'] },
      ],
      reason: '',
    };
    const r = applyOperations(NESTED, [op], 2);
    expect(titles(r.outline).slice(0, 4)).toEqual(['S1 Compression', 'S1.1 Scalar Quantization', 'S1.2 Vector Quantization', 'S1.3 Token Eviction']);
    expect(validateOutline(r.outline, 2)).toEqual([]);
  });

  it('rename keeps the papers the old analysis cited', () => {
    const r = applyOperations(NESTED, [{ op: 'rename', target: ref('S2'), title: 'Cache Offloading', construction: null, analysis: 'Weigh bandwidth against capacity.', reason: '' }]);
    const n = findNode(r.outline, 'S2')!;
    expect(n.title).toBe('Cache Offloading');
    expect(n.construction).toBe('Where blocks live.');
    expect(citedKeys(n.analysis)).toEqual(['P009', 'P010']);
  });

  it('move: a section changes parent; moving under itself or emptying the top level is refused', () => {
    const r = applyOperations(NESTED, [{ op: 'move', target: ref('S3'), parent: ref('S1'), position: 0, reason: '' }]);
    expect(titles(r.outline)).toEqual(['S1 Compression', 'S1.1 Benchmarks', 'S1.2 Quantization of the Cache', 'S1.3 Token Eviction', 'S2 Offloading and Paging']);
    const bad = applyOperations(NESTED, [{ op: 'move', target: ref('S1'), parent: ref('S1.1'), position: null, reason: '' }]);
    expect(bad.applied).toEqual([]);
    const lonely = applyOperations(NESTED, [
      { op: 'remove', target: ref('S3'), reason: '' },
      { op: 'merge', target: ref('S2'), into: ref('S1.1'), reason: '' },
    ]);
    expect(lonely.skipped.join(' ')).toContain('fewer than two top-level sections');
    expect(lonely.outline.children.length).toBeGreaterThanOrEqual(2);
  });

  it('finds sections by title after ids have shifted', () => {
    const r = applyOperations(NESTED, [
      { op: 'remove', target: ref('S1.1'), reason: '' },
      { op: 'rename', target: ref('S2'), title: 'Offloading', construction: null, analysis: null, reason: '' },
    ]);
    expect(r.applied).toHaveLength(2);
    expect(titles(r.outline)).toContain('S2 Offloading');
  });

  it('always returns a valid outline, whatever the operations', () => {
    const nodes = sections(NESTED).map((v) => v.node);
    const target = fc.integer({ min: 0, max: nodes.length - 1 }).map((i) => refOf(nodes[i]));
    const maybeParent = fc.option(target, { nil: null });
    const title = fc.constantFrom('Sparse Attention', 'Speculative Decoding', 'Quantization of the Cache', 'Benchmarks', '  ', 'Prefix Sharing');
    const papers = fc.subarray(['P001', 'P002', 'P005', 'P009', 'P011']);
    const op: fc.Arbitrary<OutlineOperation> = fc.oneof(
      fc.record({ op: fc.constant('add' as const), parent: maybeParent, title, construction: fc.constant('Note it.'), analysis: fc.constant('Compare them.'), papers, reason: fc.constant('') }),
      fc.record({ op: fc.constant('remove' as const), target, reason: fc.constant('') }),
      fc.record({ op: fc.constant('merge' as const), target, into: target, reason: fc.constant('') }),
      fc.record({ op: fc.constant('split' as const), target, parts: fc.array(fc.record({ title, construction: fc.constant(''), analysis: fc.constant(''), papers }), { maxLength: 3 }), reason: fc.constant('') }),
      fc.record({ op: fc.constant('rename' as const), target, title: fc.option(title, { nil: null }), construction: fc.constant(null), analysis: fc.constant(null), reason: fc.constant('') }),
      fc.record({ op: fc.constant('move' as const), target, parent: maybeParent, position: fc.option(fc.nat(4), { nil: null }), reason: fc.constant('') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 8 }), fc.integer({ min: 1, max: 4 }), (ops, maxDepth) => {
        const r = applyOperations(NESTED, ops, maxDepth);
        expect(validateOutline(r.outline, maxDepth)).toEqual([]);
        expect(r.applied.length + r.skipped.length).toBe(ops.length);
        expect(new Set(walk(r.outline).map((v) => v.node.id)).size).toBe(walk(r.outline).length);
      }),
      { numRuns: 400 },
    );
  });
});

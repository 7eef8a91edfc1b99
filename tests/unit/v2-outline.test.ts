import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  LooseOutlineNodeSchema,
  cleanTitle,
  findNode,
  leaves,
  parseOutlineMarkdown,
  renderOutline,
  repairOutline,
  sectionNumber,
  validateOutline,
  walk,
  type OutlineNode,
} from '../../shared/algo/outline.ts';

const n = (title: string, children: OutlineNode[] = [], id = ''): OutlineNode => ({ id, title, construction: `c ${title}`, analysis: `a ${title}`, children });
const root = (children: OutlineNode[]) => n('Survey', children, 'S0');

describe('validateOutline', () => {
  it('accepts a numbered outline with two top-level sections', () => {
    const o = root([n('A', [n('A1', [], 'S1.1'), n('A2', [], 'S1.2')], 'S1'), n('B', [], 'S2')]);
    expect(validateOutline(o)).toEqual([]);
  });

  it('names each problem: one top-level section, wrong ids, empty titles, too deep', () => {
    const deep = n('L1', [n('L2', [n('L3', [n('L4', [n('L5', [], 'S1.1.1.1.1')], 'S1.1.1.1')], 'S1.1.1')], 'S1.1')], 'S1');
    const problems = validateOutline(root([deep]), 4);
    expect(problems.join('\n')).toMatch(/1 top-level section/);
    expect(problems.join('\n')).toMatch(/depth 5, deeper than 4/);
    const bad = validateOutline(root([n('', [], 'S1'), n('B', [], 'S7')]));
    expect(bad.join('\n')).toMatch(/S1 has an empty title/);
    expect(bad.join('\n')).toMatch(/id "S7", expected "S2"/);
  });
});

describe('repairOutline', () => {
  it('renumbers ids by position and says so', () => {
    const { outline, repairs, problems } = repairOutline(root([n('A', [n('x'), n('y')]), n('B')]));
    expect(walk(outline).map((v) => v.node.id)).toEqual(['S0', 'S1', 'S1.1', 'S1.2', 'S2']);
    expect(repairs).toContain('renumbered section ids by position');
    expect(problems).toEqual([]);
  });

  it('drops a section with an empty title and moves its subsections up', () => {
    const { outline, repairs } = repairOutline(root([n('A'), n('  ', [n('kept 1'), n('kept 2')])]));
    expect(outline.children.map((c) => c.title)).toEqual(['A', 'kept 1', 'kept 2']);
    expect(repairs.join('\n')).toMatch(/empty title \(its 2 subsection\(s\) moved up\)/);
  });

  it('folds sections deeper than the limit into their ancestor, keeping their text', () => {
    const o = root([n('A', [n('B', [n('C', [n('D'), n('D2')]), n('C2')]), n('B2')]), n('E')]);
    const { outline, problems, repairs } = repairOutline(o, 2);
    expect(problems).toEqual([]);
    const b = findNode(outline, 'S1.1')!;
    expect(b.children).toEqual([]);
    expect(b.construction).toContain('C: c C');
    expect(b.construction).toContain('D: c D');
    expect(repairs.join('\n')).toMatch(/below depth 2/);
  });

  it('folds a lone subsection into its parent', () => {
    const { outline } = repairOutline(root([n('A', [n('only')]), n('B')]));
    expect(outline.children[0].children).toEqual([]);
    expect(outline.children[0].construction).toBe('c A c only');
  });

  it('lifts the children of a single top-level section so the outline has two', () => {
    const { outline, problems } = repairOutline(root([n('Everything', [n('X'), n('Y')])]));
    expect(outline.children.map((c) => c.title)).toEqual(['X', 'Y']);
    expect(problems).toEqual([]);
  });

  it('reports what it cannot repair', () => {
    expect(repairOutline(root([n('Alone')])).problems.join()).toMatch(/at least 2 are needed/);
  });

  it('cleans numbering and marks out of titles', () => {
    expect(cleanTitle('## 2.1 **Token eviction**')).toBe('Token eviction');
    expect(cleanTitle('[S3] "Quantization"')).toBe('Quantization');
    expect(cleanTitle('2024 trends in caching')).toBe('2024 trends in caching');
  });

  const field = {
    id: fc.constantFrom('', 'S9', 'x'),
    title: fc.oneof(fc.constantFrom('', '  ', '# 1.2 Head'), fc.string({ maxLength: 12 })),
    construction: fc.string({ maxLength: 5 }),
    analysis: fc.string({ maxLength: 5 }),
  };
  const arbTree = fc.letrec<{ node: OutlineNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ ...field, children: fc.constant([] as OutlineNode[]) }),
      fc.record({ ...field, children: fc.array(tie('node'), { maxLength: 3 }) }),
    ),
  })).node;

  it('always yields ids by position, titles present and depth within the limit', () => {
    fc.assert(
      fc.property(arbTree, fc.integer({ min: 1, max: 4 }), (tree, maxDepth) => {
        const { outline } = repairOutline({ ...tree, id: 'S0' }, maxDepth);
        const problems = validateOutline(outline, maxDepth).filter((p) => !/top-level/.test(p));
        expect(problems).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('rendering and reading', () => {
  const o = repairOutline(root([n('Quantization', [n('Two-bit'), n('Vector')]), n('Eviction')])).outline;

  it('numbers headings 1, 1.2 and shows ids for prompts that answer by id', () => {
    const md = renderOutline(o, { ids: true });
    expect(md).toContain('## [S1] 1 Quantization');
    expect(md).toContain('### [S1.2] 1.2 Vector');
    expect(md).toContain('Construction: c Vector');
    expect(sectionNumber('S1.2')).toBe('1.2');
    expect(leaves(o).map((l) => l.id)).toEqual(['S1.1', 'S1.2', 'S2']);
  });

  it('reads back its own rendering', () => {
    const back = parseOutlineMarkdown(renderOutline(o, { numbers: false }), 'Survey');
    expect(repairOutline(back).outline).toEqual(o);
  });

  it('reads sloppy Markdown: bold labels, no leading title, deeper jumps', () => {
    const md = [
      'Here is the outline.',
      '## Caching',
      '**Digest Construction**: what is cached',
      '**Digest Analysis**: compare [@P001]',
      '#### Deep child',
      'plain line goes to construction',
      '## Serving',
    ].join('\n');
    const o2 = repairOutline(parseOutlineMarkdown(md, 'T')).outline;
    expect(o2.children.map((c) => c.title)).toEqual(['Caching', 'Serving']);
    expect(o2.children[0].analysis).toBe('compare [@P001]');
    expect(o2.children[0].construction).toContain('what is cached');
    expect(o2.children[0].construction).toContain('plain line goes to construction');
  });

  it('parses loose model JSON with defaults for missing fields', () => {
    const parsed = LooseOutlineNodeSchema.parse({ title: 'A', children: [{ title: 'B' }] });
    expect(parsed).toEqual({ id: '', title: 'A', construction: '', analysis: '', children: [{ id: '', title: 'B', construction: '', analysis: '', children: [] }] });
  });
});

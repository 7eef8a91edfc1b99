/**
 * The console's pure parts: the Markdown renderer (escaping, citations titled by their
 * reference), the outline edits (agreeing with shared/algo/outline.ts on ids and validity) and
 * the refinement chart's data.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseReferences, renderMarkdown, renderInline } from '../../services/gateway/console/lib/markdown.ts';
import { applyEdit, numberOf, outlineProblems, MAX_DEPTH, type OutlineEdit } from '../../services/gateway/console/lib/outline-ops.ts';
import { blockChartSvg, scoresFromApi, scoresFromEvents } from '../../services/gateway/console/lib/refinement.ts';
import { MAX_OUTLINE_DEPTH, renumber, validateOutline, type OutlineNode } from '../../shared/algo/outline.ts';
import { renderReferences } from '../../shared/algo/citations.ts';

const SURVEY = [
  '# KV cache memory',
  '',
  '## 1 Quantization',
  '',
  'Four-bit caches keep accuracy [1] and outliers matter [1, 2]; see also [3–4].',
  '',
  '## References',
  '',
  renderReferences([
    { number: 1, key: 'P001', title: 'Cache *quantization* <fast>', authors: ['A. Chen'], year: 2024, url: 'https://example.org/1' },
    { number: 2, key: 'P002', title: 'Outlier channels', authors: [], url: 'https://example.org/2' },
    { number: 3, key: 'P003', title: 'Third', authors: ['B. Li'] },
    { number: 4, key: 'P004', title: 'Fourth', authors: ['C. Wu'] },
  ] as never),
].join('\n');

describe('console Markdown renderer', () => {
  it('escapes raw HTML and drops script links', () => {
    const html = renderMarkdown('<script>alert(1)</script> **b** [x](javascript:alert(1)) <img src=x onerror=y>');
    expect(html).not.toMatch(/<script|<img|href="javascript/i);
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('<strong>b</strong>');
  });

  it('reads reference titles from the entries the assembler writes, unescaping Markdown', () => {
    const refs = parseReferences(SURVEY);
    expect(refs.get(1)?.title).toBe('Cache *quantization* <fast>');
    expect(refs.get(2)?.title).toBe('Outlier channels');
    expect(refs.size).toBe(4);
  });

  it('turns numbered citations into links titled with the work and pointing at its entry', () => {
    const html = renderMarkdown(SURVEY);
    expect(html).toContain('<a class="cite" href="#ref-1" data-ref="1" title="Cache *quantization* &lt;fast&gt;">1</a>');
    expect(html).toContain('href="#ref-2" data-ref="2" title="Outlier channels"');
    expect(html).toMatch(/data-ref="3"[^>]*>3<\/a>, <a class="cite" href="#ref-4"/); // a range cites every number in it
    expect(html).toContain('<li id="ref-1" value="1">');
    expect(html).toContain('<li id="ref-4" value="4">');
  });

  it('renders tables, lists, code and headings', () => {
    const html = renderMarkdown('## 2 Eviction\n\n| a | b |\n|---|---|\n| 1 \\| 2 | `x<y` |\n\n- one\n- two [9]\n\n```mermaid\ngraph <A>\n```');
    expect(html).toContain('<h2 id="h-2-eviction">2 Eviction</h2>');
    expect(html).toContain('<td>1 | 2</td><td><code>x&lt;y</code></td>');
    expect(html).toContain('<ul><li>one</li><li>two <span class="citation">[<a class="cite" href="#ref-9" data-ref="9">9</a>]</span></li></ul>');
    expect(html).toContain('<pre><code class="language-mermaid">graph &lt;A&gt;</code></pre>');
  });

  it('leaves bracketed text that is not a citation alone', () => {
    expect(renderInline('[see above] and [a, 1]')).toBe('[see above] and [a, 1]');
  });
});

const leaf = (id: string, title: string, children: OutlineNode[] = []): OutlineNode => ({ id, title, construction: `extract ${title}`, analysis: '', children });
const BASE: OutlineNode = leaf('S0', 'Survey', [leaf('S1', 'A', [leaf('S1.1', 'A1'), leaf('S1.2', 'A2')]), leaf('S2', 'B'), leaf('S3', 'C')]);
const ids = (o: OutlineNode) => o.children.map((c) => `${c.id}:${c.title}`);

describe('console outline edits', () => {
  it('uses the same depth limit as the outline module', () => {
    expect(MAX_DEPTH).toBe(MAX_OUTLINE_DEPTH);
  });

  it('renames, moves, adds and removes by position, keeping the ids sections had (new ones get "")', () => {
    let o = applyEdit(BASE, { kind: 'rename', path: [0, 1], title: '  New   name ' });
    expect(o.children[0].children[1]).toMatchObject({ id: 'S1.2', title: 'New name' });
    o = applyEdit(o, { kind: 'move', path: [2], by: -1 });
    expect(ids(o)).toEqual(['S1:A', 'S3:C', 'S2:B']);
    o = applyEdit(o, { kind: 'add', path: [0], title: 'After A' });
    expect(ids(o)).toEqual(['S1:A', ':After A', 'S3:C', 'S2:B']);
    o = applyEdit(o, { kind: 'add', path: [1], title: 'Inside', child: true });
    expect(o.children[1].children[0]).toMatchObject({ id: '', title: 'Inside' });
    o = applyEdit(o, { kind: 'remove', path: [0] });
    expect(ids(o)).toEqual([':After A', 'S3:C', 'S2:B']);
    o = applyEdit(o, { kind: 'guidance', path: [1], text: ' compare the budgets ' });
    expect(o.children[1].construction).toBe('compare the budgets');
    expect(BASE.children[0].children[1].title).toBe('A2'); // edits never change their input
    expect(numberOf([1, 0])).toBe('2.1');
  });

  it('refuses impossible edits with a message that says why', () => {
    expect(() => applyEdit(BASE, { kind: 'move', path: [0], by: -1 })).toThrow(/already first/);
    expect(() => applyEdit(BASE, { kind: 'rename', path: [1], title: ' ' })).toThrow(/cannot be empty/);
    expect(() => applyEdit(BASE, { kind: 'remove', path: [8] })).toThrow(/not in the outline/);
    expect(() => applyEdit(BASE, { kind: 'add', path: [0, 0], title: 'deeper', child: true }, 2)).toThrow(/allows 2 level/);
  });

  it('finds an outline valid exactly when validateOutline does (after renumbering), whatever the edits', () => {
    const step = fc.record({ kind: fc.constantFrom('rename', 'move', 'add', 'remove'), pick: fc.nat(), title: fc.constantFrom('x', 'Y z', ' '), up: fc.boolean(), child: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 14 }), (steps) => {
        let o = BASE;
        for (const s of steps) {
          const paths: number[][] = [];
          const collect = (n: OutlineNode, p: number[]) => n.children.forEach((c, i) => (paths.push([...p, i]), collect(c, [...p, i])));
          collect(o, []);
          if (!paths.length) break;
          const path = paths[s.pick % paths.length];
          const e: OutlineEdit =
            s.kind === 'rename' ? { kind: 'rename', path, title: s.title } : s.kind === 'move' ? { kind: 'move', path, by: s.up ? -1 : 1 } : s.kind === 'add' ? { kind: 'add', path, title: 'new', child: s.child } : { kind: 'remove', path };
          try {
            o = applyEdit(o, e);
          } catch {
            // a refused edit leaves the outline as it was
          }
        }
        expect(outlineProblems(o).length === 0).toBe(validateOutline(renumber(o)).length === 0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('console refinement chart', () => {
  const events = [
    { type: 'info', stage: 'refine', data: { block: 0, layer: 1, scores: [2.1, 2.6, 2.4], best: 2.6 } },
    { type: 'info', stage: 'refine', data: { block: 0, layer: 2, scores: [2.7, 3.1], best: 3.1 } },
    { type: 'info', stage: 'refine', data: { block: 0, phase: 'accepted', best: 3.1 } },
    { type: 'info', stage: 'refine', data: { block: 1, layer: 'self-refine 1', scores: [3.0], best: 3.2 } },
    { type: 'tasks.progress', stage: 'judge', data: { block: 0, layer: 1, best: 9 } },
  ];

  it('collects scores per block and layer from refine events', () => {
    expect(scoresFromEvents(events)).toEqual([
      { block: 0, layers: [{ label: 'layer 1', scores: [2.1, 2.6, 2.4], best: 2.6 }, { label: 'layer 2', scores: [2.7, 3.1], best: 3.1 }] },
      { block: 1, layers: [{ label: 'self-refine 1', scores: [3], best: 3.2 }] },
    ]);
  });

  it('reads the API shape and draws one dot per candidate plus the best line', () => {
    const [b] = scoresFromApi([{ block: 0, layers: [{ layer: 1, scores: [1, 2] }, { layer: 2, scores: [2.5, 2], best: 2.5 }] }]);
    expect(b.layers.map((l) => l.best)).toEqual([2, 2.5]);
    const svg = blockChartSvg(b);
    expect(svg.match(/class="cand"/g)).toHaveLength(4);
    expect(svg.match(/class="best"/g)).toHaveLength(2);
    expect(svg).toContain('<polyline');
    expect(svg).toContain('block 1: entropy score per layer');
  });
});

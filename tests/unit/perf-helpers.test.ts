import { describe, expect, it } from 'vitest';
import { barChart, lineChart, niceMax } from '../../bench/svg.ts';

describe('bench:perf helpers', () => {
  it('charts are well-formed SVG with escaped text and a nice axis', () => {
    expect([niceMax(0.7), niceMax(7.2), niceMax(130), niceMax(0)]).toEqual([1, 10, 200, 1]);
    const bar = barChart({ title: 'a < b & c', labels: ['x'], series: [{ name: 's', values: [3] }], yLabel: 'ms', reference: { value: 2, label: 'bound' } });
    expect(bar).toContain('a &lt; b &amp; c');
    expect(bar.match(/<svg /g)).toHaveLength(1);
    expect(bar.trim().endsWith('</svg>')).toBe(true);
    const line = lineChart({ title: 't', labels: ['1', '2'], series: [{ name: 'p', values: [1, null] }, { name: 'ideal', values: [1, 2], dashed: true, color: 0 }], yLabel: 'y' });
    expect(line).toContain('stroke-dasharray="6 4"');
    expect((line.match(/<circle /g) ?? []).length).toBe(3);
  });
});

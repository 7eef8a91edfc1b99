import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { expectedCalls, refineBlock, type ConvParamsInput } from '../../services/coordinator/jobs/refine-block.ts';
import { validateOutline } from '../../shared/algo/outline.ts';
import { DIGESTS_SPREAD, DIGESTS_UNBALANCED, GROUPS, OUTLINE, OUTLINE_SPREAD, PAPERS, newCluster, testContext, type TestContextOptions } from './conv-fixture.ts';

const SMALL: ConvParamsInput = { convLayer: 3, resultNum: 4, topK: 3, selfRefineCount: 2, selfRefineBestOf: 2 };
const SINGLES = PAPERS.map((p) => [p.id]);

async function block(params: ConvParamsInput, opts: TestContextOptions = {}, groups = GROUPS, outline = OUTLINE, digests = DIGESTS_UNBALANCED) {
  const t = testContext(opts);
  const r = await refineBlock(t.ctx, params, outline, groups, digests);
  return { ...r, ...t };
}

const slotLayer = (line: string) => /\.L(\d+)\.g/.exec(line)?.[1];

describe('refineBlock call counts', () => {
  it('matches upstream’s budget for the defaults (34 groups: pooling, then sampling)', () => {
    expect(expectedCalls({}, 34)).toEqual({ 'v2.feedback': 34, 'v2.kernel': 11 + 50, 'v2.modify': 34 + 12 + 50 + 9, 'v2.judge': 1 + 34 + 12 + 50 + 9, 'v2.refine': 9, total: 34 + 61 + 105 + 106 + 9 });
    expect(expectedCalls({ convLayer: 0, selfRefineCount: 0 }, 5)).toEqual({ 'v2.feedback': 5, 'v2.kernel': 0, 'v2.modify': 5, 'v2.judge': 6, 'v2.refine': 0, total: 16 });
  });

  const cases: [string, ConvParamsInput, string[][]][] = [
    ['defaults', {}, GROUPS],
    ['pooling with a lone remainder', { kernelWidth: 5, resultNum: 2, convLayer: 3 }, SINGLES.slice(0, 11)],
    ['pooling then sampling', { kernelWidth: 2, resultNum: 3, topK: 4, convLayer: 4, selfRefineCount: 1 }, SINGLES],
    ['a pool smaller than the kernel', { kernelWidth: 5, convLayer: 2 }, GROUPS],
    ['kernel width one (no kernel calls)', { kernelWidth: 1, resultNum: 3, convLayer: 2 }, GROUPS],
    ['averaged judges, original mode', { ...SMALL, judgeSamples: 3, mode: 'original' }, GROUPS],
    ['upstream acceptance', { ...SMALL, upstreamAcceptance: true }, GROUPS],
  ];
  it.each(cases)('%s: tasks per op equal expectedCalls', async (_, params, groups) => {
    const r = await block(params, {}, groups);
    const want = expectedCalls(params, groups);
    const { total, ...perOp } = want;
    expect(r.record.calls).toEqual(perOp);
    expect(r.executed).toEqual(Object.fromEntries(Object.entries(perOp).filter(([, n]) => n > 0)));
    expect(r.executedIds.length).toBe(total);
  });
});

describe('refineBlock results', () => {
  it('improves a deliberately unbalanced outline, and the same seed gives the same outline', async () => {
    const a = await block({}, { seed: 42 });
    const b = await block({}, { seed: 42 });
    expect(a.outline).toEqual(b.outline);
    expect(a.record).toEqual(b.record);
    expect(a.record.accepted.score).toBeGreaterThan(a.record.initial.score + 1);
    expect(validateOutline(a.outline)).toEqual([]);
    // The crowded section was split and the empty ones went.
    expect(a.record.initial.subScores.balance).toBeLessThan(a.record.accepted.subScores.balance);
  });

  it('never lowers the best score from layer to layer, nor below the initial outline', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.constantFrom('evolve' as const, 'original' as const), fc.boolean(), async (seed, mode, spread) => {
        const r = await block({ ...SMALL, mode }, { seed }, GROUPS, spread ? OUTLINE_SPREAD : OUTLINE, spread ? DIGESTS_SPREAD : DIGESTS_UNBALANCED);
        const bests = [...r.record.layers.map((l) => l.best), ...r.record.selfRefine.map((s) => s.best)];
        bests.forEach((b, i) => expect(b).toBeGreaterThanOrEqual(i ? bests[i - 1] : r.record.initial.score));
        expect(r.record.accepted.score).toBe(bests[bests.length - 1]);
        expect(r.record.accepted.score).toBeGreaterThanOrEqual(r.record.initial.score);
        if (mode === 'original') expect(r.record.layers.every((l) => l.base === 'incumbent')).toBe(true);
        // The CLI's per-layer events carry the same numbers.
        const layerEvents = r.events.filter((e) => e.stage === 'refine' && typeof e.data?.layer === 'number');
        expect(layerEvents.map((e) => e.data!.best)).toEqual(r.record.layers.map((l) => l.best));
        expect(layerEvents.map((e) => e.data!.layer)).toEqual(r.record.layers.map((l) => l.layer));
      }),
      { numRuns: 8 },
    );
  });

  it('records every layer: candidates, kernel groups, receptive fields', async () => {
    const r = await block(SMALL, { seed: 3 });
    expect(r.record.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3]);
    expect(r.record.layers[0].candidates).toHaveLength(GROUPS.length);
    for (const l of r.record.layers.slice(1)) {
      expect(l.kernelGroups).toHaveLength(4);
      expect(l.candidates).toHaveLength(4);
      expect(l.poolScores.length).toBeLessThanOrEqual(3);
      for (const c of l.candidates) expect(c.receptive.length).toBeGreaterThanOrEqual(1);
    }
    expect(r.record.selfRefine.map((s) => s.candidates.length)).toEqual([2, 2]);
    expect(r.record.accepted.outline).toEqual(r.outline);
  });

  it('stops early when a layer improves the best score by less than the threshold', async () => {
    const r = await block({ ...SMALL, earlyStopDelta: 5 });
    expect(r.record.stoppedAfter).toBe(1);
    expect(r.record.layers).toHaveLength(2);
  });

  it('drops a candidate whose task failed and carries on', async () => {
    const r = await block(SMALL, { fail: (op, input) => op === 'v2.judge' && input.slot === 'b0.L1.g2' });
    expect(r.record.failures).toEqual([{ op: 'v2.judge', slot: 'b0.L1.g2', error: 'failed on purpose' }]);
    expect(r.record.layers[1].candidates).toHaveLength(3);
    expect(r.record.accepted.score).toBeGreaterThan(r.record.initial.score);
  });

  it('under upstream acceptance takes the best of each self-refine round even when worse', async () => {
    const r = await block({ ...SMALL, upstreamAcceptance: true }, { seed: 5 });
    for (const s of r.record.selfRefine) expect(s.best).toBe(Math.max(...s.candidates.map((c) => c.score)));
  });
});

describe('refineBlock as a workflow', () => {
  it('is a barrier per layer: no kernel of layer L+1 starts before every judge of layer L is done', async () => {
    // Judges take a varying time; kernels and modifies are instant.
    const delay = (op: string, input: { slot?: string }) => (op === 'v2.judge' ? 1 + ((input.slot ?? '').length * 7) % 9 : 0);
    const r = await block(SMALL, { delay });
    const lines = r.order;
    for (let L = 0; L < 3; L++) {
      const judgesDone = lines.map((l, i) => (l.startsWith('done v2.judge') && slotLayer(l) === String(L) ? i : -1)).filter((i) => i >= 0);
      const nextKernels = lines.map((l, i) => (l.startsWith('start v2.kernel') && slotLayer(l) === String(L + 1) ? i : -1)).filter((i) => i >= 0);
      expect(judgesDone.length).toBeGreaterThan(0);
      expect(nextKernels.length).toBeGreaterThan(0);
      expect(Math.max(...judgesDone)).toBeLessThan(Math.min(...nextKernels));
    }
  });

  it('resumes after a coordinator crash in layer 3 with the same result and no finished task redone', async () => {
    const clean = await block(SMALL, { seed: 9 });
    const firstL3 = clean.order.findIndex((l) => l.startsWith('start v2.kernel') && slotLayer(l) === '3');
    const crashAt = clean.order.slice(0, firstL3).filter((l) => l.startsWith('start ')).length + 2;
    const cluster = newCluster();
    await expect(block(SMALL, { seed: 9, cluster, crashAfter: crashAt })).rejects.toThrow(/crashed|gone/);
    const before = new Set(cluster.store.keys());
    expect(before.size).toBeGreaterThanOrEqual(crashAt);
    const resumed = await block(SMALL, { seed: 9, cluster });
    expect(resumed.outline).toEqual(clean.outline);
    expect(resumed.record).toEqual(clean.record);
    expect(resumed.executedIds.filter((id) => before.has(id))).toEqual([]);
    expect(before.size + resumed.executedIds.length).toBe(clean.executedIds.length);
  });
});

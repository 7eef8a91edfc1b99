import { describe, expect, it } from 'vitest';
import { bottomUp, completionOrder, levelCount } from '../../shared/algo/schedule.ts';

interface T {
  id: string;
  children: T[];
}
const t = (id: string, ...children: T[]): T => ({ id, children });

// S0 ─┬─ S1 ─┬─ S1.1 (slow)
//     │      └─ S1.2
//     └─ S2 ─┬─ S2.1
//            └─ S2.2
const tree = t('S0', t('S1', t('S1.1'), t('S1.2')), t('S2', t('S2.1'), t('S2.2')));
const slow = (id: string) => (id === 'S1.1' ? 50 : 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bottom-up writing order', () => {
  it('starts a parent as soon as its own children finish, without waiting for other subtrees', async () => {
    const log: string[] = [];
    await bottomUp<T, string>(tree, async (node) => {
      log.push(`start ${node.id}`);
      await sleep(slow(node.id));
      log.push(`end ${node.id}`);
      return node.id;
    });
    // S2 is written while S1.1 is still running: no barrier per level.
    expect(log.indexOf('start S2')).toBeLessThan(log.indexOf('end S1.1'));
    expect(log.indexOf('end S2')).toBeLessThan(log.indexOf('end S1.1'));
    // A parent never starts before all its children have ended.
    for (const [parent, kids] of [
      ['S1', ['S1.1', 'S1.2']],
      ['S2', ['S2.1', 'S2.2']],
      ['S0', ['S1', 'S2']],
    ] as const)
      for (const k of kids) expect(log.indexOf(`start ${parent}`)).toBeGreaterThan(log.indexOf(`end ${k}`));
  });

  it('starts every leaf at once', async () => {
    let running = 0;
    let peak = 0;
    await bottomUp<T, void>(tree, async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(5);
      running--;
    });
    expect(peak).toBe(4);
  });

  it('hands each parent its children results in outline order', async () => {
    const seen = new Map<string, string[]>();
    const out = await bottomUp<T, string>(tree, async (node, kids) => {
      seen.set(node.id, kids.map((k) => k.result));
      await sleep(node.id === 'S1.1' ? 10 : 0);
      return `text of ${node.id}`;
    });
    expect(seen.get('S1')).toEqual(['text of S1.1', 'text of S1.2']);
    expect(seen.get('S0')).toEqual(['text of S1', 'text of S2']);
    expect(out.size).toBe(7);
  });

  it('matches the simulated completion order for given durations', () => {
    const order = completionOrder(tree, slow).map((s) => s.id);
    expect(order).toEqual(['S1.2', 'S2.1', 'S2.2', 'S2', 'S1.1', 'S1', 'S0']);
    const s2 = completionOrder(tree, slow).find((s) => s.id === 'S2')!;
    expect(s2).toEqual({ id: 'S2', start: 5, finish: 10 });
    expect(levelCount(tree)).toBe(3);
  });

  it('rejects when a node fails, so callers decide how to degrade', async () => {
    await expect(
      bottomUp<T, void>(tree, async (node) => {
        if (node.id === 'S2.1') throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });
});

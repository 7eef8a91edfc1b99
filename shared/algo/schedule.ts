/**
 * Bottom-up, dependency-driven processing of a tree: every leaf starts at once, and each parent
 * starts as soon as its own children are done, with no barrier per level. `completionOrder`
 * simulates the same rule with given durations, so tests can state the expected order. Pure:
 * the only effects are those of the caller's `work` function.
 */

export interface TreeLike<T> {
  id: string;
  children: readonly T[];
}

export interface ChildResult<N, R> {
  node: N;
  result: R;
}

/**
 * Run `work` on every node, children before their parent (recursive Promise.all). Returns the
 * results by node id. A rejected child rejects its ancestors (callers that want to carry on
 * catch inside `work`).
 */
export async function bottomUp<N extends TreeLike<N>, R>(
  root: N,
  work: (node: N, children: ChildResult<N, R>[]) => Promise<R>,
): Promise<Map<string, R>> {
  const results = new Map<string, R>();
  const visit = async (node: N): Promise<R> => {
    const kids = await Promise.all(node.children.map(async (c) => ({ node: c, result: await visit(c) })));
    const r = await work(node, kids);
    results.set(node.id, r);
    return r;
  };
  await visit(root);
  return results;
}

export interface Slot {
  id: string;
  start: number;
  finish: number;
}

/**
 * Start and finish times under the dependency rule with unlimited parallelism: a node starts
 * when its last child finishes (leaves at 0). Sorted by finish time, then start, then id.
 */
export function completionOrder<N extends TreeLike<N>>(root: N, duration: (id: string) => number): Slot[] {
  const slots: Slot[] = [];
  const visit = (node: N): number => {
    const start = Math.max(0, ...node.children.map(visit));
    const finish = start + duration(node.id);
    slots.push({ id: node.id, start, finish });
    return finish;
  };
  visit(root);
  return slots.sort((a, b) => a.finish - b.finish || a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Number of "waves" a level-synchronous schedule would need (the tree height + 1), for comparison. */
export function levelCount<N extends TreeLike<N>>(root: N): number {
  return 1 + Math.max(0, ...root.children.map((c) => levelCount(c)));
}

/**
 * The console's outline edits: rename, move up/down, add, remove a section and change its
 * guidance (the `construction` text: what to extract from each paper). Each edit returns a new
 * tree renumbered by position (S1, S1.2, …), the form the API validates. Pure: no DOM, no I/O.
 */
// Types only: the runtime of shared/algo/outline.ts brings zod (450 KB) into the browser bundle.
import type { OutlineNode } from '../../../../shared/algo/outline.ts';

export type { OutlineNode };

export type OutlineEdit =
  | { kind: 'rename'; id: string; title: string }
  | { kind: 'guidance'; id: string; text: string }
  | { kind: 'move'; id: string; by: -1 | 1 }
  /** A new section after `id` on the same level, or as the last child of `id` with `child`. */
  | { kind: 'add'; id: string; title: string; child?: boolean }
  | { kind: 'remove'; id: string };

/** Deepest section level (MAX_OUTLINE_DEPTH of shared/algo/outline.ts; a unit test keeps them equal). */
export const MAX_DEPTH = 4;

function clone(n: OutlineNode): OutlineNode {
  return { ...n, children: n.children.map(clone) };
}

/** Ids by position: the root S0, its children S1, S2, …, theirs S1.1, … */
function renumbered(n: OutlineNode, id = 'S0'): OutlineNode {
  return { ...n, id, children: n.children.map((c, i) => renumbered(c, id === 'S0' ? `S${i + 1}` : `${id}.${i + 1}`)) };
}

/** The node with `id` and its parent in `root` (the root itself has no parent). */
function locate(root: OutlineNode, id: string, parent: OutlineNode | null = null): { node: OutlineNode; parent: OutlineNode | null } | undefined {
  if (root.id === id) return { node: root, parent };
  for (const c of root.children) {
    const found = locate(c, id, root);
    if (found) return found;
  }
  return undefined;
}

/** Depth of a section below the root (top-level sections: 1). */
export function depthOf(id: string): number {
  return id === 'S0' ? 0 : id.split('.').length;
}

/** Apply one edit; throws an Error that says what is wrong when the edit cannot apply. */
export function applyEdit(outline: OutlineNode, edit: OutlineEdit): OutlineNode {
  const root = clone(outline);
  const at = locate(root, edit.id);
  if (!at) throw new Error(`section ${edit.id} is not in the outline; reload the page`);
  const siblings = at.parent?.children;
  const index = siblings ? siblings.indexOf(at.node) : -1;
  switch (edit.kind) {
    case 'rename': {
      const title = edit.title.replace(/\s+/g, ' ').trim();
      if (!title) throw new Error('a section title cannot be empty');
      at.node.title = title;
      break;
    }
    case 'guidance':
      at.node.construction = edit.text.trim();
      break;
    case 'move': {
      if (!siblings) throw new Error('the survey itself cannot move');
      const to = index + edit.by;
      if (to < 0 || to >= siblings.length) throw new Error(`section ${edit.id} is already ${edit.by < 0 ? 'first' : 'last'} on its level`);
      [siblings[index], siblings[to]] = [siblings[to], siblings[index]];
      break;
    }
    case 'add': {
      const title = edit.title.replace(/\s+/g, ' ').trim();
      if (!title) throw new Error('give the new section a title');
      const fresh: OutlineNode = { id: '', title, construction: '', analysis: '', children: [] };
      if (edit.child || !siblings) {
        if (depthOf(edit.id) + 1 > MAX_DEPTH) throw new Error(`sections go at most ${MAX_DEPTH} levels deep`);
        at.node.children.push(fresh);
      } else siblings.splice(index + 1, 0, fresh);
      break;
    }
    case 'remove':
      if (!siblings) throw new Error('the survey itself cannot be removed');
      siblings.splice(index, 1);
      break;
  }
  return renumbered(root);
}

/** What keeps an outline made by these edits from being saved (empty when it can be). */
export function outlineProblems(root: OutlineNode): string[] {
  const problems: string[] = [];
  if (root.children.length < 2) problems.push(`the outline has ${root.children.length} top-level section(s); keep at least 2`);
  const check = (n: OutlineNode, depth: number) => {
    if (depth > 0 && !n.title.trim()) problems.push(`section ${n.id.slice(1)} has no title`);
    if (depth > MAX_DEPTH) problems.push(`section ${n.id.slice(1)} is ${depth} levels deep; at most ${MAX_DEPTH} are allowed`);
    for (const c of n.children) check(c, depth + 1);
  };
  check(root, 0);
  return problems;
}

/**
 * The outline inside an API reply: either the tree itself or an object holding it under
 * `outline`; undefined when the reply holds none.
 */
export function outlineOf(reply: unknown): OutlineNode | undefined {
  const isNode = (v: unknown): v is OutlineNode =>
    !!v && typeof v === 'object' && typeof (v as OutlineNode).title === 'string' && Array.isArray((v as OutlineNode).children);
  if (isNode(reply)) return reply;
  const inner = (reply as { outline?: unknown } | null)?.outline;
  return isNode(inner) ? inner : undefined;
}

/**
 * The console's outline edits: rename, move up/down, add, remove a section and change its
 * guidance (the `construction` text: what to extract from each paper). Each edit returns a new
 * tree renumbered by position (S1, S1.2, …), the form the API validates. Pure: no DOM, no I/O.
 */
import { MAX_OUTLINE_DEPTH, renumber, validateOutline, walk, type OutlineNode } from '../../../../shared/algo/outline.ts';

export type { OutlineNode };

export type OutlineEdit =
  | { kind: 'rename'; id: string; title: string }
  | { kind: 'guidance'; id: string; text: string }
  | { kind: 'move'; id: string; by: -1 | 1 }
  /** A new section after `id` on the same level, or as the last child of `id` with `child`. */
  | { kind: 'add'; id: string; title: string; child?: boolean }
  | { kind: 'remove'; id: string };

function clone(n: OutlineNode): OutlineNode {
  return { ...n, children: n.children.map(clone) };
}

/** The node with `id` and its parent in `root` (the root itself has no parent). */
function locate(root: OutlineNode, id: string): { node: OutlineNode; parent: OutlineNode | null } | undefined {
  const v = walk(root).find((x) => x.node.id === id);
  return v ? { node: v.node, parent: v.parent } : undefined;
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
        if (depthOf(edit.id) + 1 > MAX_OUTLINE_DEPTH) throw new Error(`sections go at most ${MAX_OUTLINE_DEPTH} levels deep`);
        at.node.children.push(fresh);
      } else siblings.splice(index + 1, 0, fresh);
      break;
    }
    case 'remove':
      if (!siblings) throw new Error('the survey itself cannot be removed');
      siblings.splice(index, 1);
      break;
  }
  return renumber(root);
}

/** What keeps the outline from being saved (empty when it can be). */
export function outlineProblems(root: OutlineNode): string[] {
  return validateOutline(root);
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

/**
 * The console's outline edits: rename, move up/down, add, remove a section and change its
 * guidance (the `construction` text: what to extract from each paper). Sections are addressed
 * by their position (a path of child indices) and keep the ids the server gave them, so the
 * server can tell a moved or renamed section from a new one; a new section has the id "".
 * Pure: no DOM, no I/O.
 */
// Types only: the runtime of shared/algo/outline.ts brings zod (450 KB) into the browser bundle.
import type { OutlineNode } from '../../../../shared/algo/outline.ts';

export type { OutlineNode };

/** Position of a section: child indices from the root ([0] is the first top-level section). */
export type Path = readonly number[];

export type OutlineEdit =
  | { kind: 'rename'; path: Path; title: string }
  | { kind: 'guidance'; path: Path; text: string }
  | { kind: 'move'; path: Path; by: -1 | 1 }
  /** A new section after `path` on the same level, or as the last child of `path` with `child`. */
  | { kind: 'add'; path: Path; title: string; child?: boolean }
  | { kind: 'remove'; path: Path };

/** Deepest section level of surveys unless the server says otherwise (MAX_OUTLINE_DEPTH of shared/algo/outline.ts; a unit test keeps them equal). */
export const MAX_DEPTH = 4;

function clone(n: OutlineNode): OutlineNode {
  return { ...n, children: n.children.map(clone) };
}

/** "1.2" for the path [0, 1]. */
export const numberOf = (path: Path) => path.map((i) => i + 1).join('.');

function at(root: OutlineNode, path: Path): { node: OutlineNode; parent: OutlineNode } {
  if (!path.length) throw new Error('the survey itself cannot be edited here');
  let parent = root;
  for (const i of path.slice(0, -1)) {
    parent = parent.children[i];
    if (!parent) throw new Error(`section ${numberOf(path)} is not in the outline; reload the page`);
  }
  const node = parent.children[path[path.length - 1]];
  if (!node) throw new Error(`section ${numberOf(path)} is not in the outline; reload the page`);
  return { node, parent };
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Apply one edit, returning a new tree; throws an Error that says what is wrong when it cannot apply. */
export function applyEdit(outline: OutlineNode, edit: OutlineEdit, maxDepth = MAX_DEPTH): OutlineNode {
  const root = clone(outline);
  const { node, parent } = at(root, edit.path);
  const index = edit.path[edit.path.length - 1];
  const siblings = parent.children;
  switch (edit.kind) {
    case 'rename':
      if (!oneLine(edit.title)) throw new Error('a section title cannot be empty');
      node.title = oneLine(edit.title);
      break;
    case 'guidance':
      node.construction = edit.text.trim();
      break;
    case 'move': {
      const to = index + edit.by;
      if (to < 0 || to >= siblings.length) throw new Error(`section ${numberOf(edit.path)} is already ${edit.by < 0 ? 'first' : 'last'} on its level`);
      [siblings[index], siblings[to]] = [siblings[to], siblings[index]];
      break;
    }
    case 'add': {
      if (!oneLine(edit.title)) throw new Error('give the new section a title');
      const fresh: OutlineNode = { id: '', title: oneLine(edit.title), construction: '', analysis: '', children: [] };
      if (edit.child) {
        if (edit.path.length + 1 > maxDepth) throw new Error(`this survey allows ${maxDepth} level(s) of sections`);
        node.children.push(fresh);
      } else siblings.splice(index + 1, 0, fresh);
      break;
    }
    case 'remove':
      siblings.splice(index, 1);
      break;
  }
  return root;
}

/** What keeps an outline made by these edits from being saved (empty when it can be). */
export function outlineProblems(root: OutlineNode, maxDepth = MAX_DEPTH): string[] {
  const problems: string[] = [];
  if (root.children.length < 2) problems.push(`the outline has ${root.children.length} top-level section(s); keep at least 2`);
  const check = (n: OutlineNode, path: number[]) => {
    if (path.length > 0 && !n.title.trim()) problems.push(`section ${numberOf(path)} has no title`);
    if (path.length > maxDepth) problems.push(`section ${numberOf(path)} is ${path.length} levels deep; this survey allows ${maxDepth}`);
    n.children.forEach((c, i) => check(c, [...path, i]));
  };
  check(root, []);
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

/**
 * The survey outline: a tree whose root is the survey itself (id "S0") and whose sections carry
 * stable ids by position ("S1", "S1.2"), a title, a construction text (what to extract from each
 * paper) and an analysis text (how to organise and compare it). Schema, validation, repair,
 * walking, rendering and a tolerant Markdown reader. Pure: no I/O.
 */
import { z } from 'zod';

export interface OutlineNode {
  id: string;
  title: string;
  construction: string;
  analysis: string;
  children: OutlineNode[];
}

export const ROOT_ID = 'S0';
/** Deepest section level allowed (top-level sections are depth 1). */
export const MAX_OUTLINE_DEPTH = 4;

export const OutlineNodeSchema: z.ZodType<OutlineNode> = z.object({
  id: z.string(),
  title: z.string(),
  construction: z.string(),
  analysis: z.string(),
  get children() {
    return z.array(OutlineNodeSchema);
  },
});

/** What a model may return: ids and texts optional (repair numbers the nodes). */
export interface LooseOutlineNode {
  id?: string;
  title: string;
  construction?: string;
  analysis?: string;
  children?: LooseOutlineNode[];
}
export const LooseOutlineNodeSchema: z.ZodType<OutlineNode, LooseOutlineNode> = z.object({
  id: z.string().default(''),
  title: z.string(),
  construction: z.string().default(''),
  analysis: z.string().default(''),
  get children() {
    return z.array(LooseOutlineNodeSchema).default([]);
  },
});

export interface Visit {
  node: OutlineNode;
  depth: number;
  parent: OutlineNode | null;
}

/** Pre-order list of every node with its depth (root = 0) and parent. */
export function walk(root: OutlineNode): Visit[] {
  const out: Visit[] = [];
  const go = (node: OutlineNode, depth: number, parent: OutlineNode | null) => {
    out.push({ node, depth, parent });
    for (const c of node.children) go(c, depth + 1, node);
  };
  go(root, 0, null);
  return out;
}

/** Every section (not the root), pre-order. */
export function sections(root: OutlineNode): Visit[] {
  return walk(root).slice(1);
}

export function leaves(root: OutlineNode): OutlineNode[] {
  return sections(root)
    .map((v) => v.node)
    .filter((n) => n.children.length === 0);
}

export function findNode(root: OutlineNode, id: string): OutlineNode | undefined {
  return walk(root).find((v) => v.node.id === id)?.node;
}

/** "S1.2" → "1.2"; the root has no number. */
export function sectionNumber(id: string): string {
  return id === ROOT_ID ? '' : id.replace(/^S/, '');
}

export function cloneOutline(root: OutlineNode): OutlineNode {
  return { ...root, children: root.children.map(cloneOutline) };
}

/** Strip heading marks, leading numbering, emphasis and quotes; collapse white space. */
export function cleanTitle(title: string): string {
  return title
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^#+\s*/, '')
    // Numbering: "[S2.1]", "S2.1", "2.1", "3.", "4)" (a bare year such as "2024 …" is a word).
    .replace(/^(?:\[S?\d+(?:\.\d+)*\]|S\d+(?:\.\d+)*|\d{1,2}(?:\.\d+)+\.?|\d{1,2}[.)]?)\s+/, '')
    .replace(/^(\*\*|__)(.*)\1$/, '$2')
    .replace(/^["'“‘](.*)["'”’]$/, '$1')
    .trim();
}

/** Problems that make an outline unusable; empty when it is valid. */
export function validateOutline(root: OutlineNode, maxDepth = MAX_OUTLINE_DEPTH): string[] {
  const problems: string[] = [];
  if (root.id !== ROOT_ID) problems.push(`the root id is "${root.id}", expected "${ROOT_ID}"`);
  if (root.children.length < 2) problems.push(`the outline has ${root.children.length} top-level section(s); at least 2 are needed`);
  const seen = new Set<string>();
  const check = (node: OutlineNode, depth: number, expected: string) => {
    if (depth > 0) {
      if (node.id !== expected) problems.push(`section "${node.title}" has id "${node.id}", expected "${expected}"`);
      if (seen.has(node.id)) problems.push(`id ${node.id} is used twice`);
      seen.add(node.id);
      if (!node.title.trim()) problems.push(`section ${node.id} has an empty title`);
      if (depth > maxDepth) problems.push(`section ${node.id} is at depth ${depth}, deeper than ${maxDepth}`);
    }
    node.children.forEach((c, i) => check(c, depth + 1, depth === 0 ? `S${i + 1}` : `${expected}.${i + 1}`));
  };
  check(root, 0, ROOT_ID);
  return problems;
}

function joinText(a: string, b: string): string {
  return [a.trim(), b.trim()].filter(Boolean).join(' ');
}

/** Give every node its id by position: S1, S1.1, … (the root is S0). */
export function renumber(root: OutlineNode): OutlineNode {
  const go = (n: OutlineNode, id: string): OutlineNode => ({
    ...n,
    id,
    children: n.children.map((c, i) => go(c, id === ROOT_ID ? `S${i + 1}` : `${id}.${i + 1}`)),
  });
  return go(root, ROOT_ID);
}

/**
 * Repair what can be repaired, saying what was done: clean titles and texts, drop sections with
 * empty titles (their children move up), fold a lone child into its parent, fold sections deeper
 * than `maxDepth` into their ancestor at that depth, and renumber. `problems` lists what is still
 * wrong afterwards (for example fewer than two top-level sections).
 */
export function repairOutline(
  input: OutlineNode,
  maxDepth = MAX_OUTLINE_DEPTH,
): { outline: OutlineNode; repairs: string[]; problems: string[] } {
  const repairs: string[] = [];
  const tidy = (n: OutlineNode, depth: number): OutlineNode[] => {
    const title = depth === 0 ? n.title.trim() : cleanTitle(n.title);
    if (depth > 0 && title !== n.title) repairs.push(`cleaned the title "${n.title}" to "${title}"`);
    const kids = n.children.flatMap((c) => tidy(c, depth + 1));
    const node = { id: n.id, title, construction: n.construction.trim(), analysis: n.analysis.trim(), children: kids };
    if (depth > 0 && !title) {
      repairs.push(`dropped a section with an empty title${kids.length ? ` (its ${kids.length} subsection(s) moved up)` : ''}`);
      return kids;
    }
    return [node];
  };
  let root = tidy(input, 0)[0];
  const foldSingles = (n: OutlineNode, depth: number): OutlineNode => {
    let node = { ...n, children: n.children.map((c) => foldSingles(c, depth + 1)) };
    while (node.children.length === 1 && (depth > 0 || node.children[0].children.length >= 2)) {
      const only = node.children[0];
      repairs.push(`folded the only subsection "${only.title}" into "${node.title}"`);
      node = {
        ...node,
        construction: joinText(node.construction, only.construction),
        analysis: joinText(node.analysis, only.analysis),
        children: only.children,
      };
    }
    return node;
  };
  root = foldSingles(root, 0);
  const foldDeep = (n: OutlineNode, depth: number): OutlineNode => {
    if (depth < maxDepth || n.children.length === 0) return { ...n, children: n.children.map((c) => foldDeep(c, depth + 1)) };
    const below = walk(n).slice(1).map((v) => v.node);
    repairs.push(`folded ${below.length} section(s) below depth ${maxDepth} into "${n.title}"`);
    return {
      ...n,
      construction: below.reduce((t, b) => joinText(t, b.construction && `${b.title}: ${b.construction}`), n.construction),
      analysis: below.reduce((t, b) => joinText(t, b.analysis && `${b.title}: ${b.analysis}`), n.analysis),
      children: [],
    };
  };
  root = foldDeep(root, 0);
  const before = walk(root).map((v) => v.node.id).join(',');
  root = renumber(root);
  if (walk(root).map((v) => v.node.id).join(',') !== before) repairs.push('renumbered section ids by position');
  return { outline: root, repairs, problems: validateOutline(root, maxDepth) };
}

export interface RenderOptions {
  /** Show section numbers ("2.1") in headings. */
  numbers?: boolean;
  /** Show ids ("[S2.1]") in headings, for prompts that answer by section id. */
  ids?: boolean;
  construction?: boolean;
  analysis?: boolean;
}

/** Markdown view of the outline: the root as "#", sections as "##"…, optional texts below. */
export function renderOutline(root: OutlineNode, opts: RenderOptions = {}): string {
  const { numbers = true, ids = false, construction = true, analysis = true } = opts;
  return walk(root)
    .map(({ node, depth }) => {
      const num = numbers && depth > 0 ? `${sectionNumber(node.id)} ` : '';
      const id = ids && depth > 0 ? `[${node.id}] ` : '';
      const lines = [`${'#'.repeat(depth + 1)} ${id}${num}${node.title}`];
      if (construction && node.construction) lines.push(`Construction: ${node.construction}`);
      if (analysis && node.analysis) lines.push(`Analysis: ${node.analysis}`);
      return lines.join('\n');
    })
    .join('\n\n');
}

const HEADING = /^(#{1,6})\s*(.*?)\s*#*\s*$/;
const LABEL = /^\s*[*_]*\s*(?:digest\s+)?(construction|analysis)\s*[*_]*\s*:\s*[*_]*\s*(.*)$/i;

/**
 * Read an outline from Markdown headings (tolerant): a single leading level-1 heading is the
 * survey title; the shallowest remaining level is depth 1; "Construction:" / "Analysis:" lines
 * (any emphasis, optional "Digest") fill the texts; other lines go to the current text.
 */
export function parseOutlineMarkdown(text: string, surveyTitle: string): OutlineNode {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const heads = lines.map((l) => HEADING.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  let skipFirst = false;
  if (heads.length > 1 && heads[0][1].length === 1 && heads.filter((h) => h[1].length === 1).length === 1) skipFirst = true;
  const levels = heads.slice(skipFirst ? 1 : 0).map((h) => h[1].length);
  const base = levels.length ? Math.min(...levels) : 1;
  const root: OutlineNode = { id: ROOT_ID, title: surveyTitle, construction: '', analysis: '', children: [] };
  const stack: { node: OutlineNode; level: number }[] = [{ node: root, level: base - 1 }];
  let field: 'construction' | 'analysis' = 'construction';
  let first = true;
  for (const line of lines) {
    const h = HEADING.exec(line);
    if (h) {
      if (first && skipFirst) {
        first = false;
        continue;
      }
      first = false;
      const level = Math.max(h[1].length, base);
      while (stack.length > 1 && stack[stack.length - 1].level >= level) stack.pop();
      const id = /^\[(S[\d.]+)\]\s*/.exec(h[2]);
      const node: OutlineNode = { id: id?.[1] ?? '', title: h[2].slice(id?.[0].length ?? 0), construction: '', analysis: '', children: [] };
      stack[stack.length - 1].node.children.push(node);
      stack.push({ node, level });
      field = 'construction';
      continue;
    }
    if (!line.trim() || /^\s*(```|~~~)/.test(line)) continue;
    const cur = stack[stack.length - 1].node;
    const lab = LABEL.exec(line);
    if (lab) field = lab[1].toLowerCase() as typeof field;
    cur[field] = joinText(cur[field], lab ? lab[2] : line);
  }
  return root;
}

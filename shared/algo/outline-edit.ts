/**
 * Concrete, machine-applicable outline operations (add, remove, merge, split, rename, move) and
 * `applyOperations`, which applies a list of them and returns a valid, renumbered outline.
 * Operations name sections by id and title as they were in the outline the operation was
 * written against; ids shift as soon as a section is added or removed, so a section is found
 * by title first (current or original), then by original id. Applying an operation twice is
 * harmless: an existing section with the same title is reused and a missing target is skipped.
 * Paper ids ride along as citations ([@P001]) in the analysis texts. Pure: no I/O.
 */
import { z } from 'zod';
import { ROOT_ID, MAX_OUTLINE_DEPTH, cleanTitle, repairOutline, type OutlineNode } from './outline.ts';
import { citedKeys, filterCitations } from './citations.ts';
import { terms } from './text.ts';

export const SectionRefSchema = z.object({ id: z.string(), title: z.string() });
export type SectionRef = z.infer<typeof SectionRefSchema>;

export const SplitPartSchema = z.object({
  title: z.string(),
  construction: z.string(),
  analysis: z.string(),
  /** Papers that move from the split section to this part. */
  papers: z.array(z.string()),
});
export type SplitPart = z.infer<typeof SplitPartSchema>;

const reason = z.string().default('');
/** A plain union (JSON Schema anyOf, which structured-output servers accept more widely than oneOf). */
export const OutlineOperationSchema = z.union([
  z.object({
    op: z.literal('add'),
    /** null: a top-level section. */
    parent: SectionRefSchema.nullable(),
    title: z.string(),
    construction: z.string(),
    analysis: z.string(),
    papers: z.array(z.string()),
    reason,
  }),
  z.object({ op: z.literal('remove'), target: SectionRefSchema, reason }),
  z.object({ op: z.literal('merge'), target: SectionRefSchema, into: SectionRefSchema, reason }),
  z.object({ op: z.literal('split'), target: SectionRefSchema, parts: z.array(SplitPartSchema), reason }),
  z.object({
    op: z.literal('rename'),
    target: SectionRefSchema,
    title: z.string().nullable(),
    construction: z.string().nullable(),
    analysis: z.string().nullable(),
    reason,
  }),
  z.object({
    op: z.literal('move'),
    target: SectionRefSchema,
    parent: SectionRefSchema.nullable(),
    position: z.number().int().min(0).nullable(),
    reason,
  }),
]);
export type OutlineOperation = z.infer<typeof OutlineOperationSchema>;

/** A suggestion: operations a program can apply, and the same plan in words for a model. */
export const SuggestionSchema = z.object({ text: z.string(), operations: z.array(OutlineOperationSchema) });
export type Suggestion = z.infer<typeof SuggestionSchema>;

/** Title comparison key: cleaned, lower-cased, punctuation folded. */
export function titleKey(title: string): string {
  return cleanTitle(title)
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export const refOf = (n: Pick<OutlineNode, 'id' | 'title'>): SectionRef => ({ id: n.id, title: n.title });

/** Append a citation of the ids the text does not cite yet. */
export function withCitations(text: string, ids: readonly string[]): string {
  const have = new Set(citedKeys(text));
  const add = [...new Set(ids)].filter((i) => !have.has(i));
  if (!add.length) return text;
  return `${text.trim()} [${add.map((i) => `@${i}`).join('; ')}]`.trim();
}

/** Drop citations of the given ids from a text. */
export function withoutCitations(text: string, ids: readonly string[]): string {
  const drop = new Set(ids);
  return filterCitations(text, (k) => !drop.has(k)).text.trim();
}

/** Sentences a merged text keeps, so repeated merges do not grow texts without bound. */
const MAX_JOINED_SENTENCES = 6;

/** Join two texts, leaving out sentences the first already holds; citations of dropped sentences stay. */
function joinTexts(a: string, b: string): string {
  const split = (t: string) => t.split(/(?<=[.!?\]])\s+/).map((s) => s.trim()).filter(Boolean);
  const all = [...new Set([...split(a), ...split(b)])];
  const kept = all.slice(0, MAX_JOINED_SENTENCES).join(' ');
  return withCitations(kept, citedKeys(all.slice(MAX_JOINED_SENTENCES).join(' ')));
}

/** One line describing an operation, for suggestion texts and notes. */
export function describeOperation(op: OutlineOperation): string {
  const ref = (r: SectionRef | null) => (r ? `${r.id} "${r.title}"` : 'the top level');
  const why = op.reason ? `: ${op.reason}` : '';
  switch (op.op) {
    case 'add':
      return `Add a section "${op.title}" under ${ref(op.parent)}${op.papers.length ? ` for ${op.papers.join(', ')}` : ''}${why}`;
    case 'remove':
      return `Remove ${ref(op.target)}${why}`;
    case 'merge':
      return `Merge ${ref(op.target)} into ${ref(op.into)}${why}`;
    case 'split':
      return `Split ${ref(op.target)} into ${op.parts.map((p) => `"${p.title}"${p.papers.length ? ` (${p.papers.join(', ')})` : ''}`).join(', ')}${why}`;
    case 'rename': {
      const what = [op.title ? `retitle it "${op.title}"` : '', op.construction ? 'rewrite its construction' : '', op.analysis ? 'rewrite its analysis' : ''].filter(Boolean);
      return `Revise ${ref(op.target)}: ${what.join(', ') || 'no change'}${why}`;
    }
    case 'move':
      return `Move ${ref(op.target)} under ${ref(op.parent)}${op.position !== null ? ` at position ${op.position + 1}` : ''}${why}`;
  }
}

/** Working node: the outline node plus the id and title it had before any operation. */
interface Work {
  origId: string;
  origTitle: string;
  title: string;
  construction: string;
  analysis: string;
  children: Work[];
}

const toWork = (n: OutlineNode): Work => ({
  origId: n.id,
  origTitle: n.title,
  title: n.title,
  construction: n.construction,
  analysis: n.analysis,
  children: n.children.map(toWork),
});
const fromWork = (w: Work): OutlineNode => ({
  id: w.origId,
  title: w.title,
  construction: w.construction,
  analysis: w.analysis,
  children: w.children.map(fromWork),
});
const cloneWork = (w: Work): Work => ({ ...w, children: w.children.map(cloneWork) });

interface Located {
  node: Work;
  parent: Work;
}

function all(root: Work): Located[] {
  const out: Located[] = [];
  const go = (p: Work) => p.children.forEach((c) => (out.push({ node: c, parent: p }), go(c)));
  go(root);
  return out;
}

function overlap(a: string, b: string): number {
  const x = new Set(terms(a));
  const y = new Set(terms(b));
  if (!x.size || !y.size) return 0;
  let both = 0;
  for (const t of x) if (y.has(t)) both++;
  return both / (x.size + y.size - both);
}

/** Find the section an operation means: same title (now or originally), else same original id with a similar title. */
export function locate(root: Work, ref: SectionRef): Located | undefined {
  const nodes = all(root);
  const key = titleKey(ref.title);
  if (key) {
    const byTitle = nodes.filter((l) => titleKey(l.node.title) === key || titleKey(l.node.origTitle) === key);
    if (byTitle.length) return byTitle.find((l) => l.node.origId === ref.id) ?? byTitle[0];
  }
  const byId = ref.id && ref.id !== ROOT_ID ? nodes.find((l) => l.node.origId === ref.id) : undefined;
  if (byId && (!key || overlap(byId.node.origTitle, ref.title) >= 0.5 || overlap(byId.node.title, ref.title) >= 0.5)) return byId;
  return undefined;
}

function depthOf(root: Work, node: Work): number {
  const go = (w: Work, d: number): number => (w === node ? d : Math.max(-1, ...w.children.map((c) => go(c, d + 1))));
  return go(root, 0);
}

const contains = (outer: Work, inner: Work): boolean => outer === inner || outer.children.some((c) => contains(c, inner));

/** Apply one operation in place; returns a note when it cannot be applied (nothing changed). */
function applyOne(root: Work, op: OutlineOperation, maxDepth: number): string | null {
  const fresh = (title: string, construction: string, analysis: string, papers: readonly string[]): Work => ({
    origId: '',
    origTitle: title,
    title: cleanTitle(title),
    construction: construction.trim(),
    analysis: withCitations(analysis, papers),
    children: [],
  });
  switch (op.op) {
    case 'add': {
      if (!titleKey(op.title)) return 'the new section has no title';
      const same = locate(root, { id: '', title: op.title });
      if (same) {
        const before = same.node.analysis;
        same.node.analysis = withCitations(same.node.analysis, op.papers);
        return before === same.node.analysis ? `a section "${same.node.title}" already exists` : null;
      }
      const node = fresh(op.title, op.construction, op.analysis, op.papers);
      if (!op.parent) return void root.children.push(node), null;
      const at = locate(root, op.parent);
      if (!at) return void root.children.push(node), null;
      // A leaf parent would be left with a single subsection: add a sibling instead.
      if (at.node.children.length === 0) at.parent.children.splice(at.parent.children.indexOf(at.node) + 1, 0, node);
      else at.node.children.push(node);
      return null;
    }
    case 'remove': {
      const at = locate(root, op.target);
      if (!at) return `section ${op.target.id} "${op.target.title}" not found`;
      at.parent.children.splice(at.parent.children.indexOf(at.node), 1, ...at.node.children);
      return null;
    }
    case 'merge': {
      const from = locate(root, op.target);
      const into = locate(root, op.into);
      if (!from || !into) return `section ${(from ? op.into : op.target).id} not found`;
      if (contains(from.node, into.node) || contains(into.node, from.node)) return 'a section cannot be merged with its own ancestor or descendant';
      into.node.construction = joinTexts(into.node.construction, from.node.construction);
      into.node.analysis = joinTexts(into.node.analysis, from.node.analysis);
      into.node.children.push(...from.node.children);
      from.parent.children.splice(from.parent.children.indexOf(from.node), 1);
      return null;
    }
    case 'split': {
      const at = locate(root, op.target);
      if (!at) return `section ${op.target.id} "${op.target.title}" not found`;
      const parts = op.parts.filter((p) => titleKey(p.title));
      const total = at.node.children.length + parts.length;
      if (!parts.length || total < 2) return 'a split needs at least two parts';
      if (at.node.children.length === 0 && depthOf(root, at.node) >= maxDepth) {
        // At the deepest level the parts replace the section, as siblings.
        if (parts.length < 2) return 'a split needs at least two parts';
        const made = parts.map((p) => fresh(p.title, p.construction, p.analysis, p.papers));
        at.parent.children.splice(at.parent.children.indexOf(at.node), 1, ...made);
        return null;
      }
      let changed = false;
      for (const p of parts) {
        let home = at.node.children.find((c) => titleKey(c.title) === titleKey(p.title));
        if (!home) {
          home = fresh(p.title, p.construction, p.analysis, p.papers);
          at.node.children.push(home);
          changed = true;
        }
        // The part's papers move to it from the section's other subsections; a leaf subsection
        // left citing nothing (a part of an earlier split, now re-split) goes.
        for (const c of [...at.node.children]) {
          const before = c.analysis;
          c.analysis = c === home ? withCitations(c.analysis, p.papers) : withoutCitations(c.analysis, p.papers);
          if (before === c.analysis) continue;
          changed = true;
          if (c !== home && !c.children.length && citedKeys(before).length && !citedKeys(`${c.construction} ${c.analysis}`).length)
            at.node.children.splice(at.node.children.indexOf(c), 1);
        }
      }
      return changed ? null : 'the section is already split this way';
    }
    case 'rename': {
      const at = locate(root, op.target);
      if (!at) return `section ${op.target.id} "${op.target.title}" not found`;
      const n = at.node;
      const before = `${n.title}\n${n.construction}\n${n.analysis}`;
      if (op.title && titleKey(op.title)) n.title = cleanTitle(op.title);
      if (op.construction?.trim()) n.construction = op.construction.trim();
      // Keep the evidence: papers the old analysis cited stay cited.
      if (op.analysis?.trim()) n.analysis = withCitations(op.analysis, citedKeys(n.analysis));
      return before === `${n.title}\n${n.construction}\n${n.analysis}` ? 'nothing to change' : null;
    }
    case 'move': {
      const at = locate(root, op.target);
      if (!at) return `section ${op.target.id} "${op.target.title}" not found`;
      const dest = op.parent ? locate(root, op.parent)?.node : root;
      if (!dest) return `section ${op.parent!.id} "${op.parent!.title}" not found`;
      if (contains(at.node, dest)) return 'a section cannot move under itself';
      if (dest !== root && dest.children.length === 0) return 'the new parent has no subsections (merge instead)';
      const from = at.parent.children.indexOf(at.node);
      at.parent.children.splice(from, 1);
      const pos = Math.min(op.position ?? dest.children.length, dest.children.length);
      dest.children.splice(pos, 0, at.node);
      return at.parent === dest && pos === from ? 'the section is already there' : null;
    }
  }
}

export interface ApplyResult {
  outline: OutlineNode;
  /** Operations applied, described. */
  applied: string[];
  /** Operations left out, with why. */
  skipped: string[];
  /** What the final repair changed (folded single subsections, renumbering…). */
  repairs: string[];
}

/**
 * Apply the operations in order to a copy of the outline. An operation that cannot be applied,
 * or that would leave fewer than two top-level sections, is skipped with a note. The result
 * is repaired (`repairOutline`) and renumbered, so it is valid whenever the input was.
 */
export function applyOperations(outline: OutlineNode, ops: readonly OutlineOperation[], maxDepth = MAX_OUTLINE_DEPTH): ApplyResult {
  let root = toWork(outline);
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const op of ops) {
    const next = cloneWork(root);
    const note = applyOne(next, op, maxDepth);
    const said = describeOperation(op);
    if (note) skipped.push(`${said} (${note})`);
    else if (next.children.length < 2 && root.children.length >= 2) skipped.push(`${said} (it would leave fewer than two top-level sections)`);
    else {
      root = next;
      applied.push(said);
    }
  }
  const { outline: fixed, repairs } = repairOutline(fromWork(root), maxDepth);
  return { outline: fixed, applied, skipped, repairs };
}

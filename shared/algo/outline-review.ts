/**
 * Outline review: a person's edited outline, checked and normalised (titles cleaned, a lone
 * subsection folded into its parent, sections numbered by position), with where each section
 * came from (the ids it had in the outline the person fetched) and the edit in plain words;
 * and the per-section view of the outline a writer sees, so that renaming one section changes
 * the writing input of that section and its ancestors only. Pure: no I/O.
 */
import { z } from 'zod';
import { ROOT_ID, cleanTitle, renderOutline, renumber, sectionNumber, validateOutline, walk, type OutlineNode } from './outline.ts';

/** Most sections an edited outline may have. */
export const MAX_REVIEW_SECTIONS = 300;

interface UserNode {
  id?: string;
  title: string;
  construction?: string;
  analysis?: string;
  /** The same text as `construction`, by the name the console and the docs use. */
  guidance?: string;
  children?: UserNode[];
}

const UserNodeSchema: z.ZodType<UserNode> = z.object({
  id: z.string().max(64).optional(),
  title: z.string({ error: 'every section needs a "title" (text)' }).max(300, 'a title is at most 300 characters'),
  construction: z.string().max(4000).optional(),
  analysis: z.string().max(4000).optional(),
  guidance: z.string().max(4000).optional(),
  get children() {
    return z.array(UserNodeSchema).max(100).optional();
  },
});

export type NormalisedOutline =
  | {
      ok: true;
      outline: OutlineNode;
      /** For each section of `outline`, the ids (in the reference outline) whose material it takes; new sections are absent. */
      from: Record<string, string[]>;
      /** What changed against the reference outline, one line per change. */
      changes: string[];
      /** What was tidied (cleaned titles, folded lone subsections). */
      repairs: string[];
    }
  | { ok: false; problems: string[] };

interface Tagged {
  title: string;
  construction: string;
  analysis: string;
  old: string[];
  children: Tagged[];
}

const join = (a: string, b: string) => [a.trim(), b.trim()].filter(Boolean).join(' ');

/** The outline inside what `outline get` prints ({ outline: … }), or the value itself. */
function unwrap(raw: unknown): unknown {
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && !('title' in raw) && 'outline' in raw) return (raw as { outline: unknown }).outline;
  return raw;
}

/**
 * Check and normalise an edited outline against `ref`, the outline the person fetched. A section
 * keeps its place in the material by keeping its `id`; a new section has no id (or an empty one).
 * With `strictIds`, an id the reference does not have is a problem (a rerun must know where
 * each section's material comes from); otherwise such a section counts as new.
 */
export function normaliseOutline(raw: unknown, ref: OutlineNode, opts: { maxDepth: number; strictIds?: boolean }): NormalisedOutline {
  const parsed = UserNodeSchema.safeParse(unwrap(raw));
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 8).map((i) => `${i.path.length ? `at ${i.path.join('.')}` : 'the outline'}: ${i.message}`);
    return { ok: false, problems: [`the outline is not a section tree ({ "title", "children": [...] }): ${problems.join('; ')}`] };
  }
  const refIds = new Map(walk(ref).map((v) => [v.node.id, v.node]));
  const problems: string[] = [];
  const repairs: string[] = [];
  const used = new Map<string, string>();
  let count = 0;
  const where = (path: string[], title: string) => (title ? `"${title}"` : `the section at ${path.join(' > ') || 'the top level'}`);
  const tag = (n: UserNode, depth: number, path: string[]): Tagged => {
    const title = depth === 0 ? ref.title : cleanTitle(n.title);
    if (depth === 0 && n.title.trim() && n.title.trim() !== ref.title) repairs.push(`kept the survey title "${ref.title}" (the root's title is the topic)`);
    if (depth > 0) {
      count++;
      if (title !== n.title.trim() && title) repairs.push(`cleaned the title "${n.title.trim()}" to "${title}"`);
      if (!title) problems.push(`${where(path, '')} has an empty title: give it a title, or remove the section`);
      if (depth > opts.maxDepth) problems.push(`${where(path, title)} is at level ${depth}; this survey allows ${opts.maxDepth} level(s): move it up, or merge it into its parent`);
    }
    const id = (n.id ?? '').trim();
    let old: string[] = [];
    if (depth > 0 && id) {
      if (id === ROOT_ID) problems.push(`${where(path, title)} has the id "${ROOT_ID}", which is the survey itself: give the section its own id, or "" if it is new`);
      else if (!refIds.has(id)) {
        if (opts.strictIds) problems.push(`${where(path, title)} has the id "${id}", which is not a section of the outline you fetched: keep the ids you were given, and give a new section an empty id ("")`);
      } else if (used.has(id)) problems.push(`the id "${id}" is used by ${used.get(id)} and by ${where(path, title)}: a section keeps its id in one place only; give a copy an empty id ("")`);
      else {
        used.set(id, where(path, title));
        old = [id];
      }
    }
    const construction = (n.guidance ?? n.construction ?? (old.length ? refIds.get(old[0])!.construction : '')).trim();
    const analysis = (n.analysis ?? (old.length ? refIds.get(old[0])!.analysis : '')).trim();
    const children = (n.children ?? []).map((c, i) => tag(c, depth + 1, [...path, title || `#${i + 1}`]));
    return { title, construction, analysis, old: depth === 0 ? [ROOT_ID] : old, children };
  };
  const tagged = tag(parsed.data, 0, []);
  if (tagged.children.length < 2) problems.push(`the outline has ${tagged.children.length} top-level section(s); a survey needs at least 2`);
  if (count > MAX_REVIEW_SECTIONS) problems.push(`the outline has ${count} sections; at most ${MAX_REVIEW_SECTIONS} are allowed`);
  if (problems.length) return { ok: false, problems };
  // A lone subsection adds a heading and nothing else: it is folded into its parent (with its material).
  const fold = (t: Tagged, depth: number): Tagged => {
    let node = { ...t, children: t.children.map((c) => fold(c, depth + 1)) };
    while (depth > 0 && node.children.length === 1) {
      const only = node.children[0];
      repairs.push(`folded the only subsection "${only.title}" into "${node.title}"`);
      node = { ...node, construction: join(node.construction, only.construction), analysis: join(node.analysis, only.analysis), old: [...node.old, ...only.old], children: only.children };
    }
    return node;
  };
  const folded = fold(tagged, 0);
  const strip = (t: Tagged): OutlineNode => ({ id: '', title: t.title, construction: t.construction, analysis: t.analysis, children: t.children.map(strip) });
  const outline = renumber(strip(folded));
  const left = validateOutline(outline, opts.maxDepth);
  if (left.length) return { ok: false, problems: left };
  const from: Record<string, string[]> = {};
  const pair = (t: Tagged, n: OutlineNode) => {
    if (t.old.length) from[n.id] = t.old;
    t.children.forEach((c, i) => pair(c, n.children[i]));
  };
  pair(folded, outline);
  return { ok: true, outline, from, changes: describeChanges(ref, outline, from), repairs };
}

/** The edit in plain words: renamed, moved, guidance edited, added, removed, merged sections. */
export function describeChanges(ref: OutlineNode, outline: OutlineNode, from: Record<string, string[]>): string[] {
  const before = new Map(walk(ref).map((v) => [v.node.id, v.node]));
  const out: string[] = [];
  const kept = new Set<string>();
  for (const { node } of walk(outline).slice(1)) {
    const olds = from[node.id] ?? [];
    if (!olds.length) {
      out.push(`added ${sectionNumber(node.id)} "${node.title}"`);
      continue;
    }
    olds.forEach((o) => kept.add(o));
    const was = before.get(olds[0])!;
    if (olds.length > 1) out.push(`merged ${olds.map((o) => `"${before.get(o)!.title}"`).join(' and ')} into ${sectionNumber(node.id)}`);
    if (was.title !== node.title) out.push(`renamed ${sectionNumber(was.id)} "${was.title}" to "${node.title}"`);
    if (olds[0] !== node.id) out.push(`moved "${node.title}" from ${sectionNumber(olds[0])} to ${sectionNumber(node.id)}`);
    if (olds.length === 1 && (was.construction !== node.construction || was.analysis !== node.analysis)) out.push(`edited the guidance of ${sectionNumber(node.id)} "${node.title}"`);
  }
  for (const { node } of walk(ref).slice(1)) if (!kept.has(node.id)) out.push(`removed ${sectionNumber(node.id)} "${node.title}"`);
  return out;
}

/**
 * The outline as the writer of one section sees it: the path from the survey down to the
 * section, and the section's own subtree (headings only). Siblings and other branches are left
 * out, so an edit elsewhere leaves this section's writing input, and its stored result, as it was.
 */
export function outlineContext(root: OutlineNode, id: string): string {
  const path = (n: OutlineNode): OutlineNode | null => {
    if (n.id === id) return n;
    for (const c of n.children) {
      const below = path(c);
      if (below) return { ...n, children: [below] };
    }
    return null;
  };
  return renderOutline(path(root) ?? root, { construction: false, analysis: false });
}

/** Digests re-keyed to an edited outline: each section takes the texts of the sections it came from. */
export function remapDigests<D extends { sections: Record<string, string> }>(digests: readonly D[], from: Record<string, string[]>): D[] {
  return digests.map((d) => {
    const sections: Record<string, string> = {};
    for (const [to, olds] of Object.entries(from)) {
      const text = olds.map((o) => d.sections[o] ?? '').filter(Boolean).join(' ');
      if (text) sections[to] = text;
    }
    return { ...d, sections };
  });
}

/**
 * Final Markdown of a survey: title, abstract, introduction (the root's text), numbered nested
 * headings ("## 1 …", "### 1.2 …"), figures after their section's text, the conclusion as the
 * last numbered section, citations numbered by first appearance, and a references list of the
 * cited sources only. No sentence appears twice (a repeat is removed where it recurs), and a
 * section the offline engine wrote in the model's place carries a note. Pure: no I/O.
 */
import { walk, sectionNumber, type OutlineNode } from './outline.ts';
import { sentences } from './text.ts';
import { sentenceKey } from './prose.ts';
import { numberCitations, referenceList, renderReferences, toBibtex, type Reference, type RefSource } from './citations.ts';

export interface AssembleInput {
  title: string;
  outline: OutlineNode;
  /** Text of each node by id (the root's text is the introduction). */
  texts: ReadonlyMap<string, string>;
  abstract?: string;
  /** Rendered figure blocks to place after a section's text, by section id. */
  figures?: ReadonlyMap<string, string[]>;
  sources: readonly RefSource[];
  bibtex?: boolean;
  /** The conclusion, assembled as the last numbered section before the references. */
  conclusion?: { title: string; text: string };
  /** Section ids (the root's for the introduction, "conclusion") written by the offline engine instead of the model. */
  offlineSections?: ReadonlySet<string>;
  /** Set when the outline was merged by the offline engine instead of the model: the note to show. */
  offlineOutline?: boolean;
}

export interface Assembled {
  markdown: string;
  references: Reference[];
  /** Cited source ids in number order. */
  cited: string[];
  /** Citation brackets in the text. */
  citationMarks: number;
  /** Unknown ids removed while numbering. */
  dropped: string[];
  /** Sentences removed because they had already appeared earlier in the survey. */
  repeatsRemoved: number;
  bibtex?: string;
}

/** The note shown under a section the offline engine wrote in place of the model. */
export const OFFLINE_SECTION_NOTE = "> Note: this section was written by the offline engine because the model's reply could not be used.";
export const OFFLINE_OUTLINE_NOTE = "> Note: the outline was merged by the offline engine because the model's reply could not be used.";

/**
 * Remove every sentence of a text part whose key was seen before (in this part or an earlier
 * one); table rows, list markers and headings are kept as they are. Returns the part and how
 * many sentences went.
 */
export function dropRepeats(part: string, seen: Set<string>): { text: string; removed: number } {
  let removed = 0;
  const lines = part.split('\n').map((line) => {
    if (/^\s*(\||#|>)/.test(line) || !line.trim()) return line;
    const bullet = /^(\s*[-*]\s+)/.exec(line)?.[1] ?? '';
    // Citation brackets ("[@P1; @P2]") are shadowed so their ";" never splits a sentence.
    const marks: string[] = [];
    const shadowed = line.slice(bullet.length).replace(/\[\s*@[^\]]*\]/g, (m) => `\u0000${marks.push(m) - 1}\u0000`);
    const restore = (s: string) => s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => marks[Number(i)]);
    const kept = sentences(shadowed).map(restore).filter((s) => {
      const key = sentenceKey(s);
      if (key.length < 30) return true;
      if (seen.has(key)) {
        removed++;
        return false;
      }
      seen.add(key);
      return true;
    });
    return kept.length ? bullet + kept.join(' ') : '';
  });
  return { text: lines.join('\n').replace(/\n{3,}/g, '\n\n').trim(), removed };
}

/** A file-name-safe slug of the title ("kv-cache-compression-and-…"). */
export function slugify(title: string, max = 80): string {
  const s = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const cut = s.length > max ? s.slice(0, max).replace(/-[^-]*$/, '') : s;
  return cut || 'survey';
}

export function heading(depth: number, id: string, title: string): string {
  return depth === 0 ? `# ${title}` : `${'#'.repeat(Math.min(depth + 1, 6))} ${sectionNumber(id)} ${title}`;
}

export function assembleSurvey(input: AssembleInput): Assembled {
  const parts: string[] = [];
  const seen = new Set<string>();
  let repeatsRemoved = 0;
  const prose = (t: string) => {
    const r = dropRepeats(t, seen);
    repeatsRemoved += r.removed;
    if (r.text) parts.push(r.text);
  };
  const offline = input.offlineSections ?? new Set<string>();
  for (const { node, depth } of walk(input.outline)) {
    parts.push(heading(depth, node.id, depth === 0 ? input.title : node.title));
    if (depth === 0 && input.abstract?.trim()) prose(`**Abstract.** ${input.abstract.trim()}`);
    if (depth === 0 && input.offlineOutline) parts.push(OFFLINE_OUTLINE_NOTE);
    if (offline.has(node.id)) parts.push(OFFLINE_SECTION_NOTE);
    const text = input.texts.get(node.id)?.trim();
    if (text) prose(text);
    for (const f of input.figures?.get(node.id) ?? []) parts.push(f.trim());
  }
  if (input.conclusion?.text.trim()) {
    parts.push(`## ${input.outline.children.length + 1} ${input.conclusion.title}`);
    if (offline.has('conclusion')) parts.push(OFFLINE_SECTION_NOTE);
    prose(input.conclusion.text.trim());
  }
  const known = new Map(input.sources.map((s) => [s.id, s]));
  const numbered = numberCitations(parts.join('\n\n'), (k) => known.has(k));
  const references = referenceList(numbered.order, known);
  const refs = references.length ? `\n\n## References\n\n${renderReferences(references)}` : '';
  return {
    markdown: `${numbered.text.trim()}${refs}\n`,
    references,
    cited: numbered.order,
    citationMarks: numbered.marks,
    dropped: numbered.dropped,
    repeatsRemoved,
    ...(input.bibtex ? { bibtex: toBibtex(references) } : {}),
  };
}

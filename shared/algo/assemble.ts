/**
 * Final Markdown of a survey: title, abstract, introduction (the root's text), numbered nested
 * headings ("## 1 …", "### 1.2 …"), figures after their section's text, citations numbered by
 * first appearance, and a references list of the cited sources only. Pure: no I/O.
 */
import { walk, sectionNumber, type OutlineNode } from './outline.ts';
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
  bibtex?: string;
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
  for (const { node, depth } of walk(input.outline)) {
    parts.push(heading(depth, node.id, depth === 0 ? input.title : node.title));
    if (depth === 0 && input.abstract?.trim()) parts.push(`**Abstract.** ${input.abstract.trim()}`);
    const text = input.texts.get(node.id)?.trim();
    if (text) parts.push(text);
    for (const f of input.figures?.get(node.id) ?? []) parts.push(f.trim());
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
    ...(input.bibtex ? { bibtex: toBibtex(references) } : {}),
  };
}

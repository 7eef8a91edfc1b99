/**
 * V2 writing: file the digests under their sections (each paper once per section), drop
 * sections no paper informs, and write the tree bottom-up (leaves in parallel, each parent as
 * soon as its own children are done, the root last with the abstract and introduction).
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import { renumber, sectionNumber, walk, type OutlineNode } from '../../../shared/algo/outline.ts';
import { outlineContext } from '../../../shared/algo/outline-review.ts';
import { citedKeys, filterCitations } from '../../../shared/algo/citations.ts';
import { bottomUp } from '../../../shared/algo/schedule.ts';
import { cleanSectionText, writeOp, type WriteInput } from '../../../shared/ops/v2/write.ts';
import { concludeOp, type ConcludeInput } from '../../../shared/ops/v2/conclude.ts';
import { paperSubject } from '../../../shared/algo/prose.ts';
import type { DigestOutput } from '../../../shared/ops/v2/digest.ts';
import type { OpEnv } from '../../../shared/ops/op.ts';
import { cutAt } from '../../../shared/protocol/v2-input.ts';
import { joinTables, writingParts } from '../../../shared/algo/write-parts.ts';

export interface Failure {
  stage: string;
  id: string;
  reason: string;
}

export interface FiledDigest {
  paperId: string;
  paperTitle: string;
  text: string;
  /** How the paper is named as a subject ("Chen et al."). */
  subject?: string;
  year?: number | null;
}

/** What the writer knows of a paper besides its digest. */
export interface PaperMeta {
  title: string;
  authors?: readonly string[];
  year?: number | null;
}

/** Digest texts by section id, in paper order, one entry per paper and section; unknown ids counted. */
export function digestsBySection(
  outline: OutlineNode,
  digests: readonly DigestOutput[],
  meta: ReadonlyMap<string, PaperMeta>,
): { bySection: Map<string, FiledDigest[]>; unknown: number } {
  const ids = new Set(walk(outline).map((v) => v.node.id));
  const bySection = new Map<string, FiledDigest[]>();
  let unknown = 0;
  for (const d of digests)
    for (const [sid, text] of Object.entries(d.sections)) {
      if (!ids.has(sid)) {
        unknown++;
        continue;
      }
      const list = bySection.get(sid) ?? [];
      const prev = list.find((x) => x.paperId === d.paperId);
      if (prev) prev.text = `${prev.text} ${text}`;
      else {
        const m = meta.get(d.paperId);
        const title = m?.title ?? d.paperId;
        list.push({ paperId: d.paperId, paperTitle: title, text, subject: paperSubject(m?.authors, title), year: m?.year ?? null });
      }
      bySection.set(sid, list);
    }
  return { bySection, unknown };
}

/**
 * Remove sections that no digest informs (a parent whose children all go becomes a leaf, and
 * goes too if nothing informs it), fold a lone remaining subsection into its parent, renumber,
 * and say where each old id went. Nothing is pruned if fewer than 2 top-level sections would remain.
 */
export function pruneEmptySections(
  outline: OutlineNode,
  hasMaterial: (id: string) => boolean,
): { outline: OutlineNode; idMap: Map<string, string>; removed: string[] } {
  interface Tagged extends OutlineNode {
    old: string[];
    children: Tagged[];
  }
  const removed: string[] = [];
  const go = (n: OutlineNode, depth: number): Tagged | null => {
    const kids = n.children.map((c) => go(c, depth + 1)).filter((c): c is Tagged => c !== null);
    if (depth > 0 && kids.length === 0 && !hasMaterial(n.id)) {
      removed.push(`${sectionNumber(n.id)} ${n.title}`);
      return null;
    }
    let t: Tagged = { ...n, children: kids, old: [n.id] };
    if (depth > 0 && kids.length === 1) {
      const only = kids[0];
      const join = (a: string, b: string) => [a, b].filter(Boolean).join(' ');
      t = { ...t, construction: join(t.construction, only.construction), analysis: join(t.analysis, only.analysis), children: only.children, old: [...t.old, ...only.old] };
    }
    return t;
  };
  const tagged = go(outline, 0)!;
  if (tagged.children.length < 2) {
    return { outline, idMap: new Map(walk(outline).map((v) => [v.node.id, v.node.id])), removed: [] };
  }
  const fresh = renumber(tagged);
  const idMap = new Map<string, string>();
  const pair = (t: Tagged, f: OutlineNode) => {
    for (const o of t.old) idMap.set(o, f.id);
    t.children.forEach((c, i) => pair(c, f.children[i]));
  };
  pair(tagged, fresh);
  const strip = (n: OutlineNode): OutlineNode => ({ id: n.id, title: n.title, construction: n.construction, analysis: n.analysis, children: n.children.map(strip) });
  return { outline: strip(fresh), idMap, removed };
}

/** Re-key each digest's sections through `idMap` (texts of folded sections joined; unmapped ids dropped). */
export function rekeyDigests(digests: readonly DigestOutput[], idMap: ReadonlyMap<string, string>): DigestOutput[] {
  return digests.map((d) => {
    const sections: Record<string, string> = {};
    for (const [sid, text] of Object.entries(d.sections)) {
      const to = idMap.get(sid);
      if (to) sections[to] = sections[to] ? `${sections[to]} ${text}` : text;
    }
    return { ...d, sections };
  });
}

/** Characters of a subsection's text shown to its parent's writer. */
const SUBTREE_CHARS = 8000;

/**
 * Bytes of digests (their JSON: texts and other fields) one write task carries at most. A
 * section that hundreds of papers were filed under would otherwise make a task over the bus's
 * 1 MiB message limit (measured: 1.27 MiB for a leaf with ~700 papers), and no model reads that
 * much in one prompt anyway.
 */
export const WRITE_DIGEST_BYTES = 400_000;

/** UTF-8 bytes of a digest as the task carries it (msgpack is a little smaller than its JSON). */
const bytesOf = (d: unknown) => Buffer.byteLength(JSON.stringify(d));

/** The digests with their texts cut evenly (each to the same share, at least 160 characters) so the whole fits `max` bytes; unchanged when it fits. */
export function fitDigests<D extends { text: string }>(digests: readonly D[], max = WRITE_DIGEST_BYTES): D[] {
  let out = [...digests];
  let total = out.reduce((n, d) => n + bytesOf(d), 0);
  // Each round scales the share by how far over the budget the last one was (texts may be multi-byte).
  for (let share = Infinity; total > max && share > 160; ) {
    const longest = Math.max(...out.map((d) => d.text.length));
    share = Math.max(160, Math.floor(Math.min(share, longest) * (max / total) * 0.95));
    out = digests.map((d) => (d.text.length > share ? { ...d, text: cutAt(d.text, share) } : d));
    total = out.reduce((n, d) => n + bytesOf(d), 0);
  }
  if (total <= max) return out;
  // Thousands of papers in one section: even 160 characters each do not fit. The section is
  // written from as many as fit, in paper order (the record's citation counts show the rest).
  const kept: D[] = [];
  for (let i = 0, used = 0; i < out.length && used + bytesOf(out[i]) <= max; i++) kept.push(out[i]), (used += bytesOf(out[i]));
  return kept;
}

const NO_BLOBS: OpEnv = {
  blobText: () => Promise.reject(new Error('the offline writer reads no blobs')),
};

export interface WriteArgs {
  title: string;
  outline: OutlineNode;
  bySection: ReadonlyMap<string, FiledDigest[]>;
  knownIds: ReadonlySet<string>;
  paperCount: number;
  targetWords?: number;
  language?: string;
  /** Number the conclusion will have (the root's introduction points at it). */
  conclusionNumber?: string;
}

export interface Written {
  texts: Map<string, string>;
  abstract: string;
  failures: Failure[];
  /** Citations of unknown ids removed from the written text. */
  dropped: number;
  /** Sections the offline writer wrote instead of the model, with why (the Markdown says so). */
  offline: Map<string, string>;
  /** Comparison tables (Markdown) to place after a section's text, by section id. */
  tables: Map<string, string>;
}

/**
 * Write every section bottom-up. A section whose task fails terminally is written by the
 * offline writer instead (recorded in `failures`), so one bad section never stalls the survey.
 */
export async function writeSections(ctx: JobContext, a: WriteArgs): Promise<Written> {
  const total = walk(a.outline).length;
  const failures: Failure[] = [];
  const offline = new Map<string, string>();
  let done = 0;
  let dropped = 0;
  let abstract = '';
  // Each section's text with its subsections' (what a parent and the introduction summarise), and the papers it cites.
  const full = new Map<string, string>();
  const tables = new Map<string, string>();
  const below = new Map<string, Set<string>>();
  const texts = await bottomUp<OutlineNode, string>(a.outline, async (node, kids) => {
    const isRoot = node === a.outline;
    const role = isRoot ? 'root' : node.children.length ? 'parent' : 'leaf';
    const base: WriteInput = {
      title: a.title,
      role,
      node: { id: node.id, number: sectionNumber(node.id), title: isRoot ? a.title : node.title, construction: node.construction, analysis: node.analysis },
      // Only this section's path and subtree: an edit elsewhere leaves this input (and its stored result) unchanged.
      outline: outlineContext(a.outline, node.id),
      digests: [],
      children: kids.map((k) => ({ id: k.node.id, number: sectionNumber(k.node.id), title: k.node.title, text: full.get(k.node.id)!.slice(0, SUBTREE_CHARS), papers: below.get(k.node.id)!.size })),
      paperCount: a.paperCount,
      ...(a.targetWords ? { targetWords: a.targetWords } : {}),
      ...(a.language ? { language: a.language } : {}),
      ...(isRoot && a.conclusionNumber ? { conclusionNumber: a.conclusionNumber } : {}),
    };
    const filed = a.bySection.get(node.id) ?? [];
    // A leaf with more papers than one reply can cite is written in parts of related papers.
    const parts = role === 'leaf' ? writingParts(filed) : [filed];
    const inputs: WriteInput[] = parts.map((p, i) => ({
      ...base,
      digests: fitDigests(p),
      ...(parts.length > 1 ? { part: { index: i + 1, of: parts.length, papers: filed.length } } : {}),
    }));
    const outs = await Promise.all(
      inputs.map(async (input) => {
        const s = await ctx.runSettled(writeOp, input);
        if (ctx.signal.aborted) throw new Error(`job ${ctx.jobId} was cancelled`);
        if (s.ok) {
          if (s.fallback) offline.set(node.id, s.fallback);
          return s.value;
        }
        const which = input.part ? ` (part ${input.part.index} of ${input.part.of})` : '';
        failures.push({ stage: 'write', id: node.id, reason: `${s.error}${which}; written by the offline writer instead` });
        offline.set(node.id, s.error);
        return writeOp.extractive(input, NO_BLOBS);
      }),
    );
    const out = outs.length === 1 ? outs[0] : { text: outs.map((o) => o.text.trim()).filter(Boolean).join('\n\n'), table: joinTables(outs.map((o) => o.table ?? '')) || undefined };
    const f = filterCitations(cleanSectionText(out.text), (k) => a.knownIds.has(k));
    if (out.table) tables.set(node.id, filterCitations(out.table, (k) => a.knownIds.has(k)).text);
    dropped += f.dropped.length;
    if (isRoot && out.abstract) abstract = filterCitations(out.abstract.trim(), (k) => a.knownIds.has(k)).text;
    full.set(node.id, [f.text, ...kids.map((k) => full.get(k.node.id)!)].filter(Boolean).join('\n\n'));
    below.set(node.id, new Set([...citedKeys(f.text), ...kids.flatMap((k) => [...below.get(k.node.id)!])]));
    done++;
    ctx.emit({ type: 'info', stage: 'write', message: `${isRoot ? 'introduction' : `section ${sectionNumber(node.id)}`} written (${done}/${total})`, data: { done, total, section: node.id } });
    return f.text;
  });
  return { texts, abstract, failures, dropped, offline, tables };
}

export interface Concluded {
  title: string;
  text: string;
  /** Why the offline writer wrote it instead of the model, when it did. */
  offline?: string;
  failure?: Failure;
}

/**
 * Write the conclusion from the finished top-level sections (each with its subsections' text)
 * and the papers' notes on limitations and open problems. A failed task falls back to the
 * offline conclusion, recorded.
 */
export async function writeConclusion(
  ctx: JobContext,
  a: { title: string; outline: OutlineNode; texts: ReadonlyMap<string, string>; notes: ConcludeInput['notes']; knownIds: ReadonlySet<string>; language?: string },
): Promise<Concluded> {
  const subtree = (n: OutlineNode): string => [a.texts.get(n.id) ?? '', ...n.children.map(subtree)].filter(Boolean).join('\n\n');
  const input: ConcludeInput = {
    title: a.title,
    number: String(a.outline.children.length + 1),
    // Each section's text is capped so the task stays far below the bus's message limit.
    sections: a.outline.children.map((c) => ({ number: sectionNumber(c.id), title: c.title, text: subtree(c).slice(0, 12_000) })),
    notes: a.notes.slice(0, 400).map((n) => ({ ...n, text: n.text.slice(0, 600) })),
    ...(a.language ? { language: a.language } : {}),
  };
  const settled = await ctx.runSettled(concludeOp, input);
  if (ctx.signal.aborted) throw new Error(`job ${ctx.jobId} was cancelled`);
  const title = 'Conclusion';
  const keep = (t: string) => filterCitations(cleanSectionText(t), (k) => a.knownIds.has(k)).text;
  if (settled.ok) return { title, text: keep(settled.value.text), ...(settled.fallback ? { offline: settled.fallback } : {}) };
  const out = await concludeOp.extractive(input, NO_BLOBS);
  return { title, text: keep(out.text), offline: settled.error, failure: { stage: 'conclude', id: 'conclusion', reason: `${settled.error}; written by the offline writer instead` } };
}

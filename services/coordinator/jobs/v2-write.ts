/**
 * V2 writing: file the digests under their sections (each paper once per section), drop
 * sections no paper informs, and write the tree bottom-up (leaves in parallel, each parent as
 * soon as its own children are done, the root last with the abstract and introduction).
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import { renderOutline, renumber, sectionNumber, walk, type OutlineNode } from '../../../shared/algo/outline.ts';
import { filterCitations } from '../../../shared/algo/citations.ts';
import { bottomUp } from '../../../shared/algo/schedule.ts';
import { cleanSectionText, writeOp, type WriteInput } from '../../../shared/ops/v2/write.ts';
import type { DigestOutput } from '../../../shared/ops/v2/digest.ts';
import type { OpEnv } from '../../../shared/ops/op.ts';

export interface Failure {
  stage: string;
  id: string;
  reason: string;
}

export interface FiledDigest {
  paperId: string;
  paperTitle: string;
  text: string;
}

/** Digest texts by section id, in paper order, one entry per paper and section; unknown ids counted. */
export function digestsBySection(
  outline: OutlineNode,
  digests: readonly DigestOutput[],
  titles: ReadonlyMap<string, string>,
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
      else list.push({ paperId: d.paperId, paperTitle: titles.get(d.paperId) ?? d.paperId, text });
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
}

export interface Written {
  texts: Map<string, string>;
  abstract: string;
  failures: Failure[];
  /** Citations of unknown ids removed from the written text. */
  dropped: number;
}

/**
 * Write every section bottom-up. A section whose task fails terminally is written by the
 * offline writer instead (recorded in `failures`), so one bad section never stalls the survey.
 */
export async function writeSections(ctx: JobContext, a: WriteArgs): Promise<Written> {
  const headings = renderOutline(a.outline, { construction: false, analysis: false });
  const total = walk(a.outline).length;
  const failures: Failure[] = [];
  let done = 0;
  let dropped = 0;
  let abstract = '';
  const texts = await bottomUp<OutlineNode, string>(a.outline, async (node, kids) => {
    const isRoot = node === a.outline;
    const input: WriteInput = {
      title: a.title,
      role: isRoot ? 'root' : node.children.length ? 'parent' : 'leaf',
      node: { id: node.id, number: sectionNumber(node.id), title: isRoot ? a.title : node.title, construction: node.construction, analysis: node.analysis },
      outline: headings,
      digests: a.bySection.get(node.id) ?? [],
      children: kids.map((k) => ({ id: k.node.id, number: sectionNumber(k.node.id), title: k.node.title, text: k.result })),
      paperCount: a.paperCount,
      ...(a.targetWords ? { targetWords: a.targetWords } : {}),
    };
    let out;
    try {
      out = await ctx.run(writeOp, input);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      failures.push({ stage: 'write', id: node.id, reason: `${(e as Error).message}; written by the offline writer instead` });
      out = await writeOp.extractive(input, NO_BLOBS);
    }
    const f = filterCitations(cleanSectionText(out.text), (k) => a.knownIds.has(k));
    dropped += f.dropped.length;
    if (isRoot && out.abstract) abstract = filterCitations(out.abstract.trim(), (k) => a.knownIds.has(k)).text;
    done++;
    ctx.emit({ type: 'info', stage: 'write', message: `${isRoot ? 'introduction' : `section ${sectionNumber(node.id)}`} written (${done}/${total})`, data: { done, total, section: node.id } });
    return f.text;
  });
  return { texts, abstract, failures, dropped };
}

/**
 * Responders for the outline ops. v2.outline.partial: the papers shown are grouped by word
 * overlap into two to five sections titled with phrases of their papers' titles, each citing
 * its papers. v2.outline.merge: top-level sections of the partial outlines with similar titles
 * are merged, their subsections and citations kept. v2.modify: the outline shown, with the
 * suggestions' add / rename / remove edits carried out. Pure: no I/O.
 */
import { fencesLike, findFence, longestFence } from '../prompt.ts';
import { cap, citeIds, joinList, similarity, titlePhrase, topWords, stems, type RespondCtx } from './common.ts';

export interface Node {
  id?: string;
  title: string;
  construction: string;
  analysis: string;
  children: Node[];
}

export interface ShownPaper {
  id: string;
  title: string;
  abstract: string;
}

/** Papers listed as "[P001] Title" followed by their abstract (entries split on id lines). */
export function papersOf(body: string): ShownPaper[] {
  const out: ShownPaper[] = [];
  for (const line of body.split('\n')) {
    const m = /^\s*\[([^\]\s]+)\]\s*(.*)$/.exec(line);
    if (m) out.push({ id: m[1], title: m[2].trim(), abstract: '' });
    else if (out.length && !/^\s*-{3,}\s*$/.test(line)) out[out.length - 1].abstract += `${line}\n`;
  }
  return out.map((p) => ({ ...p, abstract: p.abstract.trim() }));
}

/** Markdown headings ("#" the root) with "Construction:" / "Analysis:" lines, as a tree under the root. */
export function outlineTree(text: string): Node[] {
  const root: Node = { title: '', construction: '', analysis: '', children: [] };
  const stack: { node: Node; depth: number }[] = [{ node: root, depth: 0 }];
  let cur: Node | undefined;
  for (const line of text.split('\n')) {
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      const depth = h[1].length - 1;
      if (depth === 0) {
        cur = root;
        continue;
      }
      const m = /^\[(S\d+(?:\.\d+)*)\]\s*(?:\d+(?:\.\d+)*\.?\s+)?(.*)$/.exec(h[2].trim());
      const node: Node = { ...(m ? { id: m[1] } : {}), title: (m ? m[2] : h[2].replace(/^\d+(?:\.\d+)*\.?\s+/, '')).trim(), construction: '', analysis: '', children: [] };
      while (stack.length > 1 && stack[stack.length - 1].depth >= depth) stack.pop();
      stack[stack.length - 1].node.children.push(node);
      stack.push({ node, depth });
      cur = node;
      continue;
    }
    const f = /^\s*(construction|analysis)\s*:\s*(.*)$/i.exec(line);
    if (f && cur) cur[f[1].toLowerCase() as 'construction' | 'analysis'] = f[2].trim();
  }
  return root.children;
}

const citedIn = (s: string) => [...new Set([...s.matchAll(/@([\w:.-]+?)(?=[\];,\s])/g)].map((m) => m[1]))];

function describe(papers: readonly ShownPaper[], avoid: ReadonlySet<string>): { construction: string; analysis: string } {
  const words = topWords(papers.map((p) => `${p.title} ${p.title} ${p.abstract}`), 4, avoid);
  const about = words.length ? joinList(words) : 'its methods and results';
  return {
    construction: `From each paper, extract what it reports about ${about}: the setting, the method and the results with their numbers.`,
    analysis: `Compare ${citeIds(papers.map((p) => p.id))} on ${about}, and point out where their results disagree.`,
  };
}

/** Greedy grouping: k seeds chosen far apart, every other item joins the seed it is most similar to. */
export function groupBySimilarity<T>(items: readonly T[], text: (t: T) => string, k: number): T[][] {
  if (items.length === 0) return [];
  const n = Math.min(k, items.length);
  const seeds = [0];
  while (seeds.length < n) {
    let best = -1;
    let bestSim = Infinity;
    items.forEach((it, i) => {
      if (seeds.includes(i)) return;
      const s = Math.max(...seeds.map((j) => similarity(text(it), text(items[j]))));
      if (s < bestSim) [best, bestSim] = [i, s];
    });
    seeds.push(best);
  }
  const groups = seeds.map((i) => [items[i]]);
  items.forEach((it, i) => {
    if (seeds.includes(i)) return;
    let g = 0;
    seeds.forEach((j, gi) => {
      if (similarity(text(it), text(items[j])) > similarity(text(it), text(items[seeds[g]]))) g = gi;
    });
    groups[g].push(it);
  });
  return groups;
}

const STOP_EDGE = new Set(['a', 'an', 'the', 'of', 'for', 'and', 'in', 'on', 'to', 'with', 'via', 'by', 'from', 'at', 'as', 'or', 'is', 'are', 'we', 'our', 'this', 'that', 'its', 'their', 'towards', 'toward', 'using', 'based']);

/** Words too general to head a section. */
const GENERIC = new Set(
  ('results result method methods approach approaches paper papers work works experimental experiments effective efficient novel new propose proposed existing based large language model models framework study show code available github com https http www ' +
    'has have had become becomes became grows grow while yet simple remains remain however although such also can may often still thus achieves achieve enables enable preserving achieving enabling making using')
    .split(' '),
);

/** Two-word phrases of a text (no stop word or general word at either end, URLs removed), lower-cased key → first display form. */
function bigrams(raw: string): Map<string, string> {
  const text = raw.replace(/\bhttps?:\/\/\S+|\bwww\.\S+|\S+\.(?:com|org|io)\S*/gi, ' ');
  const ws = text.match(/[\p{L}][\p{L}\p{N}-]*/gu) ?? [];
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < ws.length; i++) {
    const [a, b] = [ws[i], ws[i + 1]];
    if ([a, b].some((w) => STOP_EDGE.has(w.toLowerCase()) || GENERIC.has(w.toLowerCase()) || w.length < 3 || /ly$/i.test(w))) continue;
    const k = `${a} ${b}`.toLowerCase();
    if (!out.has(k)) out.set(k, `${a} ${b}`);
  }
  return out;
}

/**
 * A heading for a group of papers, as a model would write it: the two-word phrase most of their
 * titles (then abstracts) share, not made only of the survey topic's words; else their most
 * frequent words. Phrases already used elsewhere are skipped.
 */
export function groupTitle(papers: readonly ShownPaper[], avoid: ReadonlySet<string>, used: ReadonlySet<string>): string {
  const phrase = (field: 'title' | 'abstract') => {
    const count = new Map<string, { n: number; form: string }>();
    for (const p of papers)
      for (const [k, form] of bigrams(p[field])) {
        const e = count.get(k) ?? { n: 0, form };
        e.n++;
        count.set(k, e);
      }
    const ranked = [...count.entries()]
      .filter(([k, e]) => e.n >= 2 && !used.has(k) && !stems(k).every((t) => avoid.has(t)))
      .sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1));
    return ranked.length ? ranked[0][1].form.replace(/^\p{Ll}/u, (c) => c.toUpperCase()) : '';
  };
  const titleWords = topWords(papers.map((p) => p.title), 2, new Set([...avoid, ...stems([...GENERIC].join(' '))])).map(cap);
  const shared = titleWords.filter((w) => papers.filter((p) => stems(p.title).includes(stems(w)[0])).length >= 2);
  return (
    phrase('title') ||
    (shared.length ? cap(joinList(titleWords)) : '') ||
    phrase('abstract') ||
    (titleWords.length ? cap(joinList(titleWords)) : '') ||
    titlePhrase(papers[0]?.title ?? 'Other Work')
  );
}

function titled(groups: ShownPaper[][], avoid: ReadonlySet<string>): Node[] {
  const used = new Set<string>();
  return groups.map((g) => {
    let title = groupTitle(g, avoid, used);
    if (used.has(title.toLowerCase())) title = `${title} (${g[0].id})`;
    used.add(title.toLowerCase());
    return { title, ...describe(g, avoid), children: [] };
  });
}

/** Number the sections as a model would ("S1", "S1.1"); the caller renumbers anyway. */
export function numbered(nodes: readonly Node[], prefix = 'S'): Node[] {
  return nodes.map((n, i) => {
    const id = prefix === 'S' ? `S${i + 1}` : `${prefix}.${i + 1}`;
    return { ...n, id, children: numbered(n.children, id) };
  });
}

export function respondPartial(ctx: RespondCtx): Record<string, unknown> {
  const topic = findFence(ctx.view, /topic/i)?.body ?? '';
  const avoid = new Set(stems(topic));
  const papers = papersOf((findFence(ctx.view, /abstract|paper/i) ?? longestFence(ctx.view, /topic/i))?.body ?? '');
  if (papers.length === 0) return { sections: [] };
  const k = Math.max(2, Math.min(5, Math.round(papers.length / 3)));
  let groups = groupBySimilarity(papers, (p) => `${p.title} ${p.abstract}`, k);
  if (groups.length === 1) groups = [groups[0], groups[0]]; // one paper: two angles on it
  const sections = titled(groups, avoid);
  if (papers.length === 1 && sections.length === 2) {
    const words = topWords([papers[0].abstract], 2, new Set([...avoid, ...stems(sections[0].title)]));
    sections[1] = { ...sections[1], title: words.length ? cap(joinList(words)) : `Results of ${papers[0].id}` };
  }
  return { sections: numbered(sections) };
}

export function respondMerge(ctx: RespondCtx): Record<string, unknown> {
  const topic = findFence(ctx.view, /topic/i)?.body ?? '';
  const partials = fencesLike(ctx.view, /partial|outline/i);
  const tops = (partials.length ? partials : ctx.view.fences.filter((f) => /^#/m.test(f.body))).flatMap((f) => outlineTree(f.body));
  if (tops.length === 0) return { sections: [] };
  const merged: Node[] = [];
  for (const s of tops) {
    const into = merged.find((m) => similarity(m.title, s.title) >= 0.5);
    if (!into) {
      merged.push({ title: s.title, construction: s.construction, analysis: s.analysis, children: [...s.children] });
      continue;
    }
    const ids = [...new Set([...citedIn(into.analysis), ...citedIn(s.analysis)])];
    if (ids.length) into.analysis = `${into.analysis.replace(/\s*\[[^\]]*@[^\]]*\]/g, '')} ${citeIds(ids)}`.trim();
    for (const c of s.children) if (!into.children.some((x) => similarity(x.title, c.title) >= 0.5)) into.children.push(c);
  }
  // At most eight chapters: fold the smallest into the chapter whose texts are most like it (else the smallest).
  const about = (n: Node) => `${n.title} ${n.title} ${n.construction} ${n.children.map((c) => c.title).join(' ')}`;
  while (merged.length > 8) {
    merged.sort((a, b) => b.children.length - a.children.length);
    const small = merged.pop()!;
    const ranked = merged.map((m) => ({ m, s: similarity(about(m), about(small)) })).sort((a, b) => b.s - a.s || a.m.children.length - b.m.children.length);
    const to = ranked[0].s > 0 ? ranked[0].m : merged[merged.length - 1];
    to.children.push({ ...small, children: [] }, ...small.children);
  }
  if (merged.length === 1 && merged[0].children.length >= 2) return { sections: numbered(merged[0].children) };
  if (merged.length === 1) {
    const words = topWords([merged[0].construction, merged[0].analysis], 2, new Set([...stems(topic), ...stems(merged[0].title)]));
    merged.push({ title: words.length ? cap(joinList(words)) : `Open Problems in ${titlePhrase(topic)}`, construction: merged[0].construction, analysis: merged[0].analysis, children: [] });
  }
  return { sections: numbered(merged.map((m) => (m.children.length === 1 ? { ...m, children: [] } : m))) };
}

interface Edit {
  op?: string;
  target?: { id?: string; title?: string };
  title?: string | null;
  construction?: string | null;
  analysis?: string | null;
  papers?: string[];
  parent?: { id?: string; title?: string } | null;
}

/** Edits written as a JSON list after "Edits:" in a suggestion. */
export function editsOf(body: string): Edit[] {
  const at = body.search(/edits\s*:\s*\n?\s*\[/i);
  if (at < 0) return [];
  const start = body.indexOf('[', at);
  for (let end = body.lastIndexOf(']'); end > start; end = body.lastIndexOf(']', end - 1)) {
    try {
      const v = JSON.parse(body.slice(start, end + 1));
      return Array.isArray(v) ? v.filter((e) => e && typeof e === 'object') : [];
    } catch {
      // shorter span
    }
  }
  return [];
}

function findNode(nodes: Node[], ref: Edit['target']): { list: Node[]; i: number } | undefined {
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if ((ref?.id && n.id === ref.id) || (ref?.title && similarity(n.title, ref.title) >= 0.8)) return { list: nodes, i };
    const deeper = findNode(n.children, ref);
    if (deeper) return deeper;
  }
  return undefined;
}

export function respondModify(ctx: RespondCtx): Record<string, unknown> {
  const shown = findFence(ctx.view, /outline/i);
  const sections = outlineTree(shown?.body ?? '');
  const notes: string[] = [];
  for (const f of fencesLike(ctx.view, /suggestion/i)) {
    for (const e of editsOf(f.body)) {
      const hit = e.target ? findNode(sections, e.target) : undefined;
      if (e.op === 'add' && e.title) {
        const parent = e.parent ? findNode(sections, e.parent) : undefined;
        const list = parent ? parent.list[parent.i].children : sections;
        const analysis = `${e.analysis ?? ''} ${citeIds((e.papers ?? []).filter((p) => !(e.analysis ?? '').includes(`@${p}`)))}`.trim();
        list.push({ title: e.title, construction: e.construction ?? '', analysis, children: [] });
        notes.push(`added "${e.title}"`);
      } else if (e.op === 'rename' && hit) {
        const n = hit.list[hit.i];
        if (e.title) n.title = e.title;
        if (e.construction) n.construction = e.construction;
        if (e.analysis) n.analysis = e.analysis;
        notes.push(`revised "${n.title}"`);
      } else if (e.op === 'remove' && hit && sections.length > 2) {
        notes.push(`removed "${hit.list[hit.i].title}"`);
        hit.list.splice(hit.i, 1);
      } else if (e.op) notes.push(`kept the outline as it was for the ${e.op} of "${e.target?.title ?? e.title ?? ''}"`);
    }
  }
  return { sections: numbered(sections), notes };
}

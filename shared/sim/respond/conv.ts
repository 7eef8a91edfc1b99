/**
 * Responders for the outline-refinement ops, all about the outline shown (sections named by the
 * ids and titles in it). v2.feedback: empty leaves are proposed for removal and papers of the
 * group that were filed nowhere get a new section. v2.kernel: the edits of the suggestions,
 * highest score first, without repeats. v2.refine: one repair for the weakest aspect of the
 * evaluation. v2.judge: scores computed from the outline and the sources' terms. Pure: no I/O.
 */
import { fencesLike, findFence } from '../prompt.ts';
import { cap, citeIds, depthOf, joinList, leafIds, outlineEntries, scaled, similarity, stems, topWords, type RespondCtx } from './common.ts';
import { editsOf } from './outline.ts';

type Entry = { id: string; title: string; body: string };
const ref = (e: Entry) => ({ id: e.id, title: e.title });

function shownOutline(ctx: RespondCtx): Entry[] {
  return outlineEntries(findFence(ctx.view, /outline/i)?.body ?? '');
}

/** "P001: term, term" lines of a sources block. */
function sourcesOf(ctx: RespondCtx): { id: string; terms: string }[] {
  const body = findFence(ctx.view, /source/i)?.body ?? '';
  return body
    .split('\n')
    .map((l) => /^\s*([\w.-]+)\s*:\s*(.+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1], terms: m[2] }));
}

function describeOp(o: Record<string, any>): string {
  const t = o.target?.title ? `"${o.target.title}" (${o.target.id})` : '';
  switch (o.op) {
    case 'add':
      return `Add a section "${o.title}"${o.papers?.length ? ` for ${citeIds(o.papers)}` : ''}`;
    case 'remove':
      return `Remove ${t}`;
    case 'merge':
      return `Merge ${t} into "${o.into?.title}"`;
    case 'rename':
      return `Revise ${t}${o.title ? ` as "${o.title}"` : ''}`;
    default:
      return `${cap(String(o.op ?? 'change'))} ${t}`;
  }
}

const plan = (header: string, ops: Record<string, any>[]) => [header, ...ops.map((o, i) => `${i + 1}. ${describeOp(o)}: ${o.reason ?? ''}`.trim())].join('\n');

export function respondFeedback(ctx: RespondCtx): Record<string, unknown> {
  const entries = shownOutline(ctx);
  const digests = findFence(ctx.view, /digest/i);
  const body = digests?.body ?? '';
  const group = [...new Set([...(/papers?\s+(.*)$/i.exec(digests?.label ?? '')?.[1] ?? '').matchAll(/[\w.-]*\d[\w.-]*/g)].map((m) => m[0]))];
  const filed = new Map<string, string[]>();
  let paper = '';
  for (const line of body.split('\n')) {
    const p = /^paper\s+([\w.-]+)/i.exec(line);
    if (p) paper = p[1];
    const s = /^\s*\[(S\d+(?:\.\d+)*)\]/.exec(line);
    if (s && paper) filed.set(paper, [...(filed.get(paper) ?? []), s[1]]);
  }
  const ops: Record<string, any>[] = [];
  const leaves = leafIds(entries.map((e) => e.id));
  const used = new Set([...filed.values()].flat());
  const empty = entries.filter((e) => leaves.includes(e.id) && !used.has(e.id));
  if (empty.length && empty.length < leaves.length) ops.push({ op: 'remove', target: ref(empty[0]), reason: `none of ${joinList(group)} was filed under it` });
  const nowhere = group.filter((id) => !filed.has(id));
  if (nowhere.length) {
    const lines = body.split(/\n(?=paper\s)/i).filter((b) => nowhere.some((id) => b.toLowerCase().startsWith(`paper ${id.toLowerCase()}`)));
    const words = topWords(lines.length ? lines : [body], 3, new Set(stems(entries.map((e) => e.title).join(' '))));
    const title = words.length ? cap(joinList(words.slice(0, 2))) : `Further Work`;
    ops.push({ op: 'add', parent: null, title, construction: `From each paper, note what it reports on ${joinList(words) || title.toLowerCase()}.`, analysis: `Compare ${citeIds(nowhere)}.`, papers: nowhere, reason: `${joinList(nowhere)} fit no section` });
  }
  const header = ops.length ? `What the digests of ${joinList(group)} call for ${citeIds(group)}:` : `${joinList(group)} fit the outline as it stands ${citeIds(group)}.`;
  return { text: plan(header, ops), operations: ops };
}

export function respondKernel(ctx: RespondCtx): Record<string, unknown> {
  const sugg = fencesLike(ctx.view, /suggestion/i).map((f) => ({ score: Number(/scored\s+(-?[\d.]+)/i.exec(f.label)?.[1] ?? 0), edits: editsOf(f.body), body: f.body }));
  sugg.sort((a, b) => b.score - a.score);
  const seen = new Set<string>();
  const ops: Record<string, any>[] = [];
  for (const s of sugg)
    for (const e of s.edits as Record<string, any>[]) {
      const k = `${e.op}:${(e.target?.title ?? e.title ?? '').toLowerCase()}`;
      if (seen.has(k) || ops.length >= 12) continue;
      seen.add(k);
      ops.push(e);
    }
  const scores = sugg.map((s) => s.score.toFixed(2)).join(', ');
  return { text: plan(`Merged plan from ${sugg.length} suggestions (scores ${scores}), best-scored first:`, ops), operations: ops };
}

const ASPECTS = ['balance', 'distinctness', 'coverage', 'structure', 'description'] as const;

export function respondRefine(ctx: RespondCtx): Record<string, unknown> {
  const entries = shownOutline(ctx);
  const leaves = entries.filter((e) => leafIds(entries.map((x) => x.id)).includes(e.id));
  const evalBody = findFence(ctx.view, /evaluation/i)?.body ?? '';
  let sub: Record<string, number> = {};
  try {
    sub = JSON.parse(evalBody.split('\n')[0]);
  } catch {
    // no sub-scores shown: treat every aspect alike
  }
  const focus = [...ASPECTS].sort((a, b) => (sub[a] ?? 5) - (sub[b] ?? 5))[0];
  const sources = sourcesOf(ctx);
  const ops: Record<string, any>[] = [];
  const fit = (s: { terms: string }) => Math.max(0, ...leaves.map((l) => similarity(s.terms, `${l.title} ${l.body}`)));
  if (focus === 'coverage' || focus === 'balance') {
    const loose = sources.filter((s) => fit(s) === 0).slice(0, 8);
    if (loose.length) {
      const words = topWords(loose.map((s) => s.terms), 2);
      ops.push({ op: 'add', parent: null, title: cap(joinList(words)) || 'Further Work', construction: `From each paper, note what it reports on ${joinList(words)}.`, analysis: `Compare ${citeIds(loose.map((s) => s.id))}.`, papers: loose.map((s) => s.id), reason: `${loose.length} sources fit no section` });
    }
  }
  if (ops.length === 0 && leaves.length >= 3) {
    let pair: [Entry, Entry] | undefined;
    let best = 0;
    for (let i = 0; i < leaves.length; i++)
      for (let j = i + 1; j < leaves.length; j++) {
        const s = similarity(`${leaves[i].title} ${leaves[i].body}`, `${leaves[j].title} ${leaves[j].body}`);
        if (s > best && depthOf(leaves[i].id) === depthOf(leaves[j].id)) [pair, best] = [[leaves[i], leaves[j]], s];
      }
    if (pair) ops.push({ op: 'merge', target: ref(pair[1]), into: ref(pair[0]), reason: `the two sections overlap (word overlap ${best.toFixed(2)})` });
  }
  if (ops.length === 0 && leaves.length) {
    const weakest = leaves.reduce((w, l) => (l.body.length < w.body.length ? l : w));
    const words = topWords(sources.map((s) => s.terms).filter((t) => similarity(t, weakest.title) > 0), 3);
    ops.push({ op: 'rename', target: ref(weakest), title: null, construction: `From each paper, note what it reports on ${joinList(words) || weakest.title.toLowerCase()}.`, analysis: null, reason: 'its description says little about what to extract' });
  }
  return { text: plan(`Revisions for ${focus} (the weakest aspect of the evaluation):`, ops), operations: ops };
}

export function respondJudge(ctx: RespondCtx): Record<string, unknown> {
  const entries = shownOutline(ctx);
  const ids = entries.map((e) => e.id);
  const leaves = entries.filter((e) => leafIds(ids).includes(e.id));
  const sources = sourcesOf(ctx);
  const load = new Map(leaves.map((l) => [l.id, 0]));
  let placed = 0;
  for (const s of sources) {
    const best = leaves.map((l) => ({ l, v: similarity(s.terms, `${l.title} ${l.body}`) })).sort((a, b) => b.v - a.v)[0];
    if (best && best.v > 0) {
      placed++;
      load.set(best.l.id, (load.get(best.l.id) ?? 0) + 1);
    }
  }
  const loads = [...load.values()];
  const mean = loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length);
  const sd = Math.sqrt(loads.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, loads.length));
  let overlap = 0;
  let pairs = 0;
  for (let i = 0; i < leaves.length; i++) for (let j = i + 1; j < leaves.length; j++) (overlap += similarity(leaves[i].title, leaves[j].title)), pairs++;
  const tops = entries.filter((e) => depthOf(e.id) === 1).length;
  const single = entries.filter((e) => entries.filter((c) => c.id.startsWith(`${e.id}.`) && depthOf(c.id) === depthOf(e.id) + 1).length === 1).length;
  const described = entries.filter((e) => /construction\s*:/i.test(e.body)).length;
  const share: Record<(typeof ASPECTS)[number], number> = {
    balance: mean > 0 ? Math.max(0, 1 - sd / (mean + 1)) : 0.2,
    distinctness: pairs ? Math.max(0, 1 - (2 * overlap) / pairs) : 0.5,
    coverage: sources.length ? placed / sources.length : 0.5,
    structure: Math.max(0, (tops >= 2 ? 0.9 : 0.3) - 0.15 * single),
    description: entries.length ? described / entries.length : 0,
  };
  const subScores = Object.fromEntries(ASPECTS.map((a) => [a, scaled(ctx, ['subScores', a], share[a], { min: 0, max: 10 }, 0.5)]));
  const w = { balance: 0.3, distinctness: 0.2, coverage: 0.25, structure: 0.15, description: 0.1 };
  const weakest = [...ASPECTS].sort((a, b) => share[a] - share[b])[0];
  const total = ASPECTS.reduce((n, a) => n + w[a] * share[a], 0);
  const crowded = leaves.map((l) => ({ l, n: load.get(l.id) ?? 0 })).sort((a, b) => b.n - a.n)[0];
  const rationale = [
    `${placed} of ${sources.length} sources match a leaf section by their terms; ${leaves.length} leaves under ${tops} chapters.`,
    crowded ? `The fullest leaf is ${crowded.l.id} "${crowded.l.title}" with ${crowded.n} sources.` : '',
    `The weakest aspect is ${weakest}.`,
  ].filter(Boolean).join(' ');
  return { rationale, subScores, score: scaled(ctx, ['score'], total, { min: 0, max: 10 }, 0.1) };
}


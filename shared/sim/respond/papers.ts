/**
 * Responders for the per-paper ops. v2.group: papers of the list (ids from the schema's enum
 * when it gives one) are grouped by the words their titles share, in groups of the size asked
 * for. v2.digest: the paper is filed under the leaf sections of the outline shown (ids from the
 * schema when it lists them) whose title and construction share most words with it, each with
 * the paper's sentences closest to that section, cited as [@id]. Pure: no I/O.
 */
import { enumOf, keyEnum } from '../schema.ts';
import { findFence, longestFence } from '../prompt.ts';
import { at, citeAtEnd, clip, joinList, leafIds, outlineEntries, quotable, rankSentences, similarity, stems, topWords, type RespondCtx } from './common.ts';

/** "P001: Title (snippet)" lines. */
export function paperLines(body: string): { id: string; title: string }[] {
  const out: { id: string; title: string }[] = [];
  for (const line of body.split('\n')) {
    const m = /^\s*\[?([A-Za-z][\w.-]*\d[\w.-]*)\]?\s*[:：]\s*(.+)$/.exec(line);
    if (m) out.push({ id: m[1], title: m[2].trim() });
  }
  return out;
}

export function respondGroup(ctx: RespondCtx): Record<string, unknown> {
  const list = paperLines((findFence(ctx.view, /paper/i) ?? longestFence(ctx.view, /topic/i))?.body ?? '');
  const allowed = enumOf(at(ctx, ['groups', 0, 'ids', 0]), ctx.schema)?.filter((x): x is string => typeof x === 'string');
  const papers = allowed ? [...list.filter((p) => allowed.includes(p.id)), ...allowed.filter((id) => !list.some((p) => p.id === id)).map((id) => ({ id, title: id }))] : list;
  if (papers.length === 0) return { groups: [] };
  const size = Math.max(1, Number(/groups? of (?:about |around |roughly )?(\d+)/i.exec(ctx.view.instructions)?.[1] ?? 3));
  // A first paper, then the papers most like it, until the group has the size asked for; a last
  // group of one joins the group before it (the prompt forbids single-paper groups).
  const left = papers.slice();
  const sized: (typeof papers)[] = [];
  while (left.length) {
    const seed = left.shift()!;
    const near = left.map((p, i) => ({ i, s: similarity(p.title, seed.title) })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, size - 1).map((x) => x.i);
    sized.push([seed, ...near.map((i) => left[i])]);
    for (const i of near.sort((a, b) => b - a)) left.splice(i, 1);
  }
  if (sized.length >= 2 && sized[sized.length - 1].length === 1 && size > 1) sized[sized.length - 2].push(...sized.pop()!);
  return {
    groups: sized.map((g) => {
      const words = topWords(g.map((p) => p.title), 2);
      return { ids: g.map((p) => p.id), reason: words.length ? `They share ${joinList(words)}.` : 'Closest titles.' };
    }),
  };
}

/** The paper's id: the schema's single allowed value, else the "Paper X" label, else the citation asked for. */
function paperIdOf(ctx: RespondCtx, label: string): string {
  const fixed = enumOf(at(ctx, ['paperId']), ctx.schema);
  if (fixed?.length === 1 && typeof fixed[0] === 'string') return fixed[0];
  return /\bpaper\s+\[?([\w.-]+?)\]?\s*[:(]/i.exec(label)?.[1] ?? /\[@([\w.-]+)\]/.exec(ctx.view.instructions)?.[1] ?? 'P000';
}

export function respondDigest(ctx: RespondCtx): Record<string, unknown> {
  const outlineFence = findFence(ctx.view, /outline/i);
  const entries = outlineEntries(outlineFence?.body ?? '');
  const paper = findFence(ctx.view, /^paper\b/i) ?? longestFence(ctx.view, /outline|topic/i);
  const paperId = paperIdOf(ctx, paper?.label ?? '');
  const text = paper?.body ?? '';
  const allowed = keyEnum(at(ctx, ['sections']), ctx.schema);
  const shownIds = entries.map((e) => e.id);
  let candidates = leafIds(shownIds);
  if (allowed) {
    const ok = candidates.filter((id) => allowed.includes(id));
    candidates = ok.length ? ok : allowed;
  }
  const sents = quotable(text.replace(/\[\s*@[^\]]*\]/g, ''));
  const suggestionWords = topWords([text], 3, new Set(stems(outlineFence?.body ?? '')));
  const suggestion = suggestionWords.length ? `The outline has no place for what ${paperId} reports on ${joinList(suggestionWords)}.` : '';
  if (candidates.length === 0 || sents.length === 0) return { paperId, sections: {}, suggestion };
  const describe = (id: string) => {
    const e = entries.find((x) => x.id === id);
    return e ? `${e.title} ${e.title} ${e.body}` : id;
  };
  const paperTerms = new Set(stems(text));
  const scored = candidates
    .map((id) => {
      const own = [...new Set(stems(describe(id)))].filter((t) => !/^(extract|paper|note|report|each|section|construction|planned)$/.test(t));
      return { id, s: own.length ? own.filter((t) => paperTerms.has(t)).length / Math.sqrt(own.length) : 0 };
    })
    .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : 1));
  const chosen = [scored[0], ...scored.slice(1).filter((x) => x.s > 0 && x.s >= scored[0].s * 0.75)].slice(0, 3);
  const used = new Set<number>();
  const sections: Record<string, string> = {};
  for (const { id } of chosen) {
    let picks = rankSentences(sents, describe(id)).filter((r) => r.hits > 0 && !used.has(r.index)).slice(0, 2);
    if (picks.length === 0 && Object.keys(sections).length === 0) picks = rankSentences(sents, text).filter((r) => !used.has(r.index)).slice(0, 2);
    if (picks.length === 0) continue;
    picks.forEach((p) => used.add(p.index));
    sections[id] = picks
      .sort((a, b) => a.index - b.index)
      .map((p) => citeAtEnd(clip(p.text, 400), [paperId]))
      .join(' ');
  }
  return { paperId, sections, suggestion };
}

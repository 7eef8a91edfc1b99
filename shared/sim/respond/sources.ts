/**
 * Responders for the source-finding ops. sources.queries: the topic, then runs of two to four of
 * its content words, as many as asked for. sources.judge: one verdict per candidate shown (ids
 * from the schema's enum when it gives one): relevant when its title and abstract hold at least
 * half of the topic's content words. Pure: no I/O.
 */
import { enumOf } from '../schema.ts';
import { findFence } from '../prompt.ts';
import { at, stems, type RespondCtx } from './common.ts';
import { terms } from '../../algo/text.ts';

export function respondQueries(ctx: RespondCtx): Record<string, unknown> {
  const topic = (findFence(ctx.view, /topic/i)?.body ?? '').trim();
  const n = Number(/\b(\d{1,2})\s+quer/i.exec(ctx.view.instructions)?.[1] ?? 8);
  const words = terms(topic);
  const out: string[] = topic ? [topic] : [];
  for (const len of [3, 2, 4])
    for (let i = 0; i + len <= words.length && out.length < n; i++) {
      const q = words.slice(i, i + len).join(' ');
      if (!out.some((o) => o.toLowerCase() === q)) out.push(q);
    }
  return { queries: out.slice(0, Math.max(1, n)) };
}

export function respondSourceJudge(ctx: RespondCtx): Record<string, unknown> {
  const topic = findFence(ctx.view, /topic/i)?.body ?? '';
  const body = findFence(ctx.view, /candidate/i)?.body ?? '';
  const allowed = enumOf(at(ctx, ['verdicts', 0, 'id']), ctx.schema)?.filter((x): x is string => typeof x === 'string');
  // Candidates are blocks "id: title" + abstract, separated by blank lines.
  const cands: { id: string; text: string }[] = [];
  for (const block of body.split(/\n\s*\n/)) {
    const m = /^\s*([\w.-]+)\s*:\s*([^]*)$/.exec(block);
    if (m && (!allowed || allowed.includes(m[1])) && !cands.some((c) => c.id === m[1])) cands.push({ id: m[1], text: m[2] });
    else if (cands.length) cands[cands.length - 1].text += ` ${block}`;
  }
  const want = [...new Set(stems(topic))];
  const verdicts = (allowed ?? cands.map((c) => c.id)).map((id) => {
    const have = new Set(stems(cands.find((c) => c.id === id)?.text ?? ''));
    const shared = want.filter((t) => have.has(t));
    const relevant = shared.length > 0 && shared.length >= Math.ceil(want.length / 2);
    return { id, relevant, reason: `It shares ${shared.length} of the topic's ${want.length} content words.` };
  });
  return { verdicts };
}

/**
 * Responders for the SurveyEval judge ops, computed from the material shown. eval.rubric:
 * structure from the headings and the citations' spread, relevance from the topic's words in the
 * text. eval.section: language from sentence length and repetition, critical from contrast and
 * outlook wording. eval.support: the share of the claim's words the source holds, with the
 * source sentence that matches best. eval.facts: the section's plain statements. eval.dedup:
 * claims that repeat an earlier one's words. Scores keep to the schema's ranges. Pure: no I/O.
 */
import { findFence, longestFence } from '../prompt.ts';
import { clip, quotable, rankSentences, scaled, similarity, stems, type RespondCtx } from './common.ts';

const CITE = /\s*\[\s*@[^\]]*\]|\s*\[\d+(?:\s*[,–-]\s*\d+)*\]/g;

export function respondRubric(ctx: RespondCtx): Record<string, unknown> {
  const survey = findFence(ctx.view, /^survey$/i) ?? longestFence(ctx.view, /topic/i);
  const text = survey?.body ?? '';
  const topic = findFence(ctx.view, /topic/i)?.body ?? '';
  const structure = /structure/i.test(ctx.view.instructions) && !/criterion:\s*relevance/i.test(ctx.view.instructions);
  let share: number;
  let why: string;
  if (structure) {
    const h2 = (text.match(/^##\s/gm) ?? []).length;
    const h3 = (text.match(/^###\s/gm) ?? []).length;
    const paras = text.split(/\n\s*\n/).filter((p) => p.trim() && !/^#/.test(p.trim())).length;
    share = Math.min(1, (Math.min(h2, 8) / 8) * 0.6 + (h3 > 0 ? 0.2 : 0) + (paras >= 2 * Math.max(1, h2) ? 0.2 : 0.05));
    why = `The survey has ${h2} main sections and ${h3} subsections over ${paras} paragraphs.`;
  } else {
    const t = new Set(stems(topic));
    const sents = quotable(text.replace(CITE, ''));
    const on = sents.filter((s) => stems(s).some((w) => t.has(w))).length;
    share = sents.length ? on / sents.length : 0;
    why = `${on} of ${sents.length} sentences use words of the topic "${clip(topic.trim(), 80)}".`;
  }
  return { rationale: why, score: scaled(ctx, ['score'], share, { min: 1, max: 5 }, 1) };
}

export function respondSection(ctx: RespondCtx): Record<string, unknown> {
  const text = (findFence(ctx.view, /^section\b/i) ?? longestFence(ctx.view, /topic/i))?.body ?? '';
  const sents = quotable(text.replace(CITE, ''));
  const language = /register|clarity|economy|language/i.test(ctx.view.instructions) && !/critical analysis/i.test(ctx.view.instructions);
  let dims: number[];
  let why: string;
  if (language) {
    const lens = sents.map((s) => s.split(/\s+/).length);
    const mean = lens.reduce((a, b) => a + b, 0) / Math.max(1, lens.length);
    const distinct = new Set(sents.map((s) => s.toLowerCase())).size / Math.max(1, sents.length);
    const long = Math.min(1, Math.max(0, 1 - Math.abs(mean - 22) / 30));
    dims = [0.5 + 0.4 * long, 0.4 + 0.5 * long, 0.2 + 0.7 * distinct];
    why = `${sents.length} sentences of ${mean.toFixed(0)} words on average; ${Math.round(100 * distinct)}% of them distinct.`;
  } else {
    const has = (re: RegExp) => sents.filter((s) => re.test(s)).length / Math.max(1, sents.length);
    const weigh = has(/\b(however|whereas|while|but|limit|trade-?off|at the cost|drawback|unlike)\b/i);
    const link = has(/\b(together|both|in common|across|pattern|suggests?|overall)\b/i);
    const ahead = has(/\b(open|future|remains?|unclear|unexplored|next step|challenge)\b/i);
    dims = [0.3 + 2 * weigh, 0.2 + 2 * link, 0.2 + 2 * ahead].map((x) => Math.min(1, x));
    why = `Contrasts in ${Math.round(100 * weigh)}% of sentences, links across works in ${Math.round(100 * link)}%, open questions in ${Math.round(100 * ahead)}%.`;
  }
  const dimensionScores = dims.map((d, i) => scaled(ctx, ['dimensionScores', i], d, { min: 0, max: 100 }, 1));
  const mean = dimensionScores.reduce((a, b) => a + b, 0) / dimensionScores.length;
  return { rationale: why, dimensionScores, score: scaled(ctx, ['score'], mean / 100, { min: 0, max: 100 }, 0.1) };
}

export function respondSupport(ctx: RespondCtx): Record<string, unknown> {
  const claim = findFence(ctx.view, /^claim/i)?.body ?? '';
  const source = (findFence(ctx.view, /^source/i) ?? longestFence(ctx.view, /^claim/i))?.body ?? '';
  const want = [...new Set(stems(claim.replace(CITE, '')))];
  const have = new Set(stems(source));
  const share = want.length ? want.filter((w) => have.has(w)).length / want.length : 0;
  const best = rankSentences(quotable(source), claim)[0];
  const supported = share >= 0.6;
  return {
    rationale: best && best.hits > 0 ? `The closest passage of the source is "${clip(best.text, 200)}"; it holds ${Math.round(100 * share)}% of the claim's words.` : 'The source does not discuss what the claim states.',
    supported,
    score: scaled(ctx, ['score'], share, { min: 0, max: 100 }, 1),
  };
}

export function respondFacts(ctx: RespondCtx): Record<string, unknown> {
  const text = (findFence(ctx.view, /^section\b/i) ?? longestFence(ctx.view, /topic/i))?.body ?? '';
  const claims = quotable(text.replace(CITE, ''))
    .filter((s) => !/^(this|the present) (section|survey|part)\b/i.test(s) && /\b(is|are|was|were|has|have|uses?|reports?|shows?|reduces?|improves?|achieves?|keeps?|\w+s)\b/i.test(s))
    .map((s) => s.replace(/\s+([.,;])/g, '$1'));
  return { claims: [...new Set(claims)] };
}

export function respondDedup(ctx: RespondCtx): Record<string, unknown> {
  const body = findFence(ctx.view, /claim/i)?.body ?? '';
  const claims = [...body.matchAll(/^\s*(\d+)[.)]\s+(.+)$/gm)].map((m) => ({ n: Number(m[1]), text: m[2] }));
  const remove: number[] = [];
  claims.forEach((c, i) => {
    if (claims.slice(0, i).some((e) => !remove.includes(e.n) && similarity(e.text, c.text) >= 0.7)) remove.push(c.n);
  });
  return { rationale: remove.length ? `Claims ${remove.join(', ')} restate earlier ones in nearly the same words.` : 'Every claim adds something of its own.', remove };
}

/**
 * Responders for the writing ops. v2.write: a leaf section is written from the digests shown
 * (their sentences closest to the section's plan, each citing its paper in the syntax the prompt
 * asks for), a parent from the lead sentences of its subsections, the root as an abstract and an
 * introduction naming the sections. v2.conclude: the themes the sections share, what each
 * stresses, and the open problems of the papers' notes, cited. A request to write in French or
 * German is honoured word by word (translate.ts). v2.figures: one table of the papers a section
 * cites with the words their sentences stress. Pure: no I/O.
 */
import { enumOf } from '../schema.ts';
import { translate, type Language } from '../translate.ts';
import { fencesLike, findFence } from '../prompt.ts';
import { at, cap, clip, depthOf, joinList, outlineEntries, quotable, rankSentences, stems, titlePhrase, topWords, type RespondCtx } from './common.ts';

type CiteStyle = (ids: readonly string[]) => string;

/** The citation syntax the instructions show: "[@P001]" (default) or "\cite{P001}". */
export function citeStyle(instructions: string): CiteStyle {
  if (!/\[@/.test(instructions) && /\\cite\{/.test(instructions)) return (ids) => `\\cite{${ids.join(',')}}`;
  return (ids) => (ids.length ? `[${ids.map((i) => `@${i}`).join('; ')}]` : '');
}

const CITE_MARK = /\s*(?:\[\s*@[^\]]*\]|\\cite\{[^}]*\})/g;
const idsIn = (s: string) => [...new Set([...s.matchAll(/@([\w:.-]+?)(?=[\];,\s])/g)].map((m) => m[1]))];

/** A sentence with its citation (in the requested style) before the final punctuation. */
function cited(sentence: string, ids: readonly string[], style: CiteStyle): string {
  const s = sentence.replace(CITE_MARK, '').trim();
  const m = /^(.*?)([.!?]+["'”’)]*)?$/s.exec(s)!;
  return `${m[1]} ${style(ids)}${m[2] ?? '.'}`;
}

function wordsWanted(instructions: string): number | undefined {
  const n = Number(/about (\d{2,5}) words/i.exec(instructions)?.[1]);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function fitWords(paragraphs: string[], limit: number | undefined): string[] {
  if (!limit) return paragraphs;
  const out: string[] = [];
  let n = 0;
  for (const p of paragraphs) {
    if (n >= limit * 1.2 && out.length) break;
    out.push(p);
    n += p.split(/\s+/).length;
  }
  return out;
}

function leafText(ctx: RespondCtx, style: CiteStyle): string {
  const plan = findFence(ctx.view, /^section\b/i)?.body ?? '';
  const digests = fencesLike(ctx.view, /^digest\b/i).map((f) => ({ id: /\bof\s+\[?([\w.-]+?)\]?\s*:/i.exec(f.label)?.[1] ?? idsIn(f.body)[0] ?? '', body: f.body }));
  // Two sentences per paper when they fit the reply's budget, else one: every paper is cited.
  const budget = ctx.maxTokens * 4 * 0.7;
  const pick = (per: number) => {
    const out: { id: string; text: string; score: number; index: number }[] = [];
    for (const d of digests) for (const r of rankSentences(quotable(d.body), plan).slice(0, per)) out.push({ id: d.id, text: clip(r.text.replace(CITE_MARK, ''), per > 1 ? 500 : 300), score: r.hits, index: out.length });
    return out;
  };
  let items = pick(2);
  if (items.reduce((n, i) => n + i.text.length + 12, 0) > budget) items = pick(1);
  if (items.length === 0) return '';
  const topic = findFence(ctx.view, /topic/i)?.body ?? '';
  const words = topWords(items.map((i) => i.text.replace(CITE_MARK, '')), 3, new Set(stems(topic)));
  const papers = [...new Set(items.map((i) => i.id))];
  const lead = words.length ? `The ${papers.length} paper${papers.length === 1 ? '' : 's'} discussed here centre on ${joinList(words)}.` : '';
  const body = items.map((i) => cited(i.text, [i.id], style));
  const paragraphs: string[] = [];
  for (let i = 0; i < body.length; i += 4) paragraphs.push(body.slice(i, i + 4).join(' '));
  const contrast = papers.length >= 2 ? [`Taken together, ${style(papers.slice(0, 2))} approach ${words[0] ?? 'the problem'} from different angles, and their results are not directly comparable.`] : [];
  return fitWords([[lead, paragraphs[0]].filter(Boolean).join(' '), ...paragraphs.slice(1), ...contrast], wordsWanted(ctx.view.instructions)).join('\n\n');
}

const leadOf = (text: string) => {
  const sents = quotable(text);
  return sents.find((s) => /@|\\cite\{/.test(s)) ?? sents[0] ?? '';
};

function children(ctx: RespondCtx): { number: string; title: string; text: string }[] {
  return fencesLike(ctx.view, /^subsection\b/i).map((f) => {
    const m = /^subsection\s+([\d.]+)\s+(.*?)(?:\s*\(already written\))?$/i.exec(f.label);
    return { number: m?.[1] ?? '', title: (m?.[2] ?? f.label).trim(), text: f.body };
  });
}

/** The language the instructions ask the text to be written in, when the simulator can render it. */
export function requestedLanguage(instructions: string): Language | undefined {
  const m = /\bwrite (?:it )?in ([\p{L}]+)/iu.exec(instructions)?.[1]?.toLowerCase();
  if (m === 'french' || m === 'français' || m === 'francais') return 'fr';
  if (m === 'german' || m === 'deutsch') return 'de';
  return undefined;
}

function inLanguage(ctx: RespondCtx, out: Record<string, unknown>): Record<string, unknown> {
  const lang = requestedLanguage(ctx.view.instructions);
  if (!lang) return out;
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, typeof v === 'string' ? translate(v, lang) : v]));
}

export function respondWrite(ctx: RespondCtx): Record<string, unknown> {
  return inLanguage(ctx, writeReply(ctx));
}

const OPEN = /\b(limitation|open (?:problem|question)|future|remains?|unclear|challenge|not yet|could be extended)\b/i;

export function respondConclude(ctx: RespondCtx): Record<string, unknown> {
  const style = citeStyle(ctx.view.instructions);
  const topic = findFence(ctx.view, /topic/i)?.body.trim() ?? '';
  const sections = fencesLike(ctx.view, /^section\s+\d/i).map((f) => {
    const m = /^section\s+([\d.]+)\s+(.*)$/i.exec(f.label);
    return { number: m?.[1] ?? '', title: (m?.[2] ?? f.label).trim(), text: f.body };
  });
  const notes = (findFence(ctx.view, /limitation|open problem|note/i)?.body ?? '')
    .split('\n')
    .map((l) => /^\s*([\w.-]+)\s*(?:\([^)]*\))?\s*:\s*(.+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1], text: m[2] }));
  const avoid = new Set(stems(topic));
  const perSection = sections.map((s) => new Set(topWords([s.text.replace(CITE_MARK, '')], 12, avoid)));
  const shared = topWords(sections.map((s) => s.text.replace(CITE_MARK, '')), 12, avoid).filter((w) => perSection.filter((p) => p.has(w)).length >= 2).slice(0, 3);
  const synthesis = [
    shared.length ? `Across the ${sections.length} sections of this survey, ${joinList(shared)} recur as common ground.` : `The ${sections.length} sections of this survey approach ${topic || 'the topic'} from distinct angles.`,
    ...sections.map((s, i) => {
      const own = [...perSection[i]].filter((w) => !shared.includes(w)).slice(0, 2);
      return own.length ? `${s.title} (Section ${s.number}) stands apart through its attention to ${joinList(own)}.` : '';
    }),
  ].filter(Boolean).join(' ');
  const open = notes.length
    ? notes.slice(0, 6).map((n) => cited(clip(n.text.replace(CITE_MARK, ''), 300), [n.id], style))
    : sections.flatMap((s) => quotable(s.text).filter((x) => OPEN.test(x)).slice(0, 1)).map((x) => x.trim());
  const future = open.length
    ? `Closing these gaps is where future work on ${topic || 'the topic'} is most needed.`
    : `Future work could test the approaches compared here on common benchmarks, which the papers rarely share.`;
  const text = [synthesis, open.join(' '), future].filter(Boolean).join('\n\n');
  return inLanguage(ctx, { text });
}

function writeReply(ctx: RespondCtx): Record<string, unknown> {
  const style = citeStyle(ctx.view.instructions);
  const kids = children(ctx);
  const topic = findFence(ctx.view, /topic/i)?.body.trim() ?? '';
  const root = /\babstract\b/i.test(ctx.view.instructions) && at(ctx, ['abstract']) !== undefined;
  if (root) {
    const papers = [...new Set(kids.flatMap((k) => idsIn(k.text)))];
    const words = topWords(kids.map((k) => k.text.replace(CITE_MARK, '')), 4, new Set(stems(topic)));
    const abstract = [
      `This survey reviews ${papers.length || 'the'} papers on ${topic || 'its topic'} and organises them into ${kids.length} sections: ${kids.map((k) => `${k.title} (${k.number})`).join('; ')}.`,
      words.length ? `Recurring themes are ${joinList(words)}.` : '',
      'For each theme it compares the methods, weighs their reported results and names the questions that remain open.',
    ].filter(Boolean).join(' ');
    const intro = kids.map((k) => `Section ${k.number} turns to ${k.title.toLowerCase()}. ${leadOf(k.text)}`.trim());
    return { abstract, text: [`Work on ${topic || 'this topic'} has grown quickly, and its results are spread across many venues.`, ...intro].join('\n\n') };
  }
  if (kids.length) {
    const opening = `This section brings together ${joinList(kids.map((k) => `${k.title} (${k.number})`))}.`;
    const leads = kids.map((k) => leadOf(k.text)).filter(Boolean);
    const own = leafText(ctx, style);
    return { text: [opening, leads.join(' '), own].filter(Boolean).join('\n\n') };
  }
  const text = leafText(ctx, style);
  const heading = findFence(ctx.view, /^section\b/i)?.label.replace(/^section\s+[\d.()a-z ]*?:\s*/i, '') ?? '';
  return { text: text || `No paper was filed under ${heading || 'this section'}.` };
}

export function respondFigures(ctx: RespondCtx): Record<string, unknown> {
  const body = findFence(ctx.view, /section/i)?.body ?? '';
  const entries = outlineEntries(body);
  const allowed = enumOf(at(ctx, ['figures', 0, 'sectionId']), ctx.schema)?.filter((x): x is string => typeof x === 'string');
  const candidates = entries.filter((e) => depthOf(e.id) === 1 && (!allowed || allowed.includes(e.id)));
  const best = candidates.map((e) => ({ e, ids: idsIn(e.body) })).sort((a, b) => b.ids.length - a.ids.length)[0];
  if (!best || best.ids.length < 2) return { figures: [] };
  const rows = best.ids.slice(0, 8).map((id) => {
    const sents = quotable(best.e.body).filter((s) => s.includes(`@${id}`));
    const words = topWords(sents.map((s) => s.replace(CITE_MARK, '')), 3);
    return `| [@${id}] | ${words.join(', ').replace(/\|/g, '/') || '—'} |`;
  });
  return {
    figures: [
      {
        sectionId: best.e.id,
        kind: 'table',
        caption: `${cap(titlePhrase(best.e.title, 6))}: the works compared and what each stresses`,
        content: ['| Work | Main terms |', '|---|---|', ...rows].join('\n'),
      },
    ],
  };
}

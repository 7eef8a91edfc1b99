/**
 * Responders for the V1 ops. v1.map: the excerpt's sentences that share most words with the
 * question are the evidence, the answer follows from the best of them (an option letter for a
 * multiple-choice question, a value after the asked-about words, else the sentence), the
 * confidence grows with the share of question words the evidence holds; an excerpt sharing no
 * word is irrelevant. v1.collapse / v1.reduce: the records shown are put to a vote weighted by
 * their confidence. Pure: no I/O.
 */
import { enumOf } from '../schema.ts';
import { findFence, longestFence } from '../prompt.ts';
import { at, clip, quotable, rankSentences, scaled, similarity, stems, type RespondCtx } from './common.ts';

const NO_INFO = '[NO INFORMATION]';

/** The question: the text after a "Question:" line up to a blank line, else the instruction line that asks. */
export function questionOf(instructions: string): string {
  const m = /^[ \t]*(?:\*\*)?question(?:\*\*)?\s*[:：]\s*([^]*?)(?:\n[ \t]*\n|(?![^]))/im.exec(instructions);
  if (m && m[1].trim()) return m[1].trim();
  const asks = instructions.split('\n').filter((l) => /\?\s*$/.test(l));
  return (asks[asks.length - 1] ?? instructions).trim();
}

export interface Option {
  letter: string;
  text: string;
}

const OPTION = /^[ \t]*(?:\(([A-H])\)|([A-H])[.):：])[ \t]+(.+)$/gm;

/** "A. text" / "(B) text" lines of a question. */
export function optionsOf(question: string): Option[] {
  const out: Option[] = [];
  for (const m of question.matchAll(OPTION)) {
    const letter = m[1] ?? m[2];
    if (!out.some((o) => o.letter === letter)) out.push({ letter, text: m[3].trim() });
  }
  return out.length >= 2 ? out : [];
}

/** The asking part of a question (options removed). */
const stemOf = (question: string) => question.replace(OPTION, '').trim();

const NUMBER = /-?\d[\d,]*(?:\.\d+)?/g;
const WANTS_NUMBER = /\b(how many|how much|number|numbers|digits?|pass ?key|amount|count|year|value)\b/i;

/** The answer a sentence gives to a question: a number, the value after the asked-about words, or the sentence itself. */
export function answerFrom(sentence: string, question: string): string {
  const plain = sentence.replace(/\s*\[\s*@[^\]]*\]/g, '').trim();
  const q = new Set(stems(stemOf(question)));
  if (WANTS_NUMBER.test(question)) {
    const nums = [...plain.matchAll(NUMBER)].map((m) => ({ v: m[0].replace(/,$/, ''), at: m.index! }));
    if (nums.length) {
      // The number nearest after the last question word in the sentence.
      const words = [...plain.matchAll(/[\p{L}][\p{L}\p{N}'-]*/gu)].filter((w) => q.has(stems(w[0])[0] ?? ''));
      const after = words.length ? words[words.length - 1].index! : 0;
      return (nums.find((n) => n.at >= after) ?? nums[nums.length - 1]).v;
    }
  }
  // "… <asked words> is/are/was/: <value>": the value.
  const m = /^(.*?)\b(?:is|are|was|were|equals|:)\s+(.+?)[.!?]?$/i.exec(plain);
  if (m && stems(m[1]).some((t) => q.has(t)) && m[2].split(' ').length <= 12) return m[2].replace(/^["“']|["”']$/g, '');
  return plain;
}

function chunkOf(label: string): number[] {
  const m = /\bchunk\s+(\d+)/i.exec(label);
  return m ? [Number(m[1])] : [];
}

export function respondMap(ctx: RespondCtx): Record<string, unknown> {
  const src = longestFence(ctx.view);
  const text = src?.body ?? '';
  const question = questionOf(ctx.view.instructions);
  const asking = stemOf(question) || question;
  const ranked = rankSentences(quotable(text), asking).filter((r) => r.hits > 0);
  const chunks = chunkOf(src?.label ?? '');
  const summary = /\bsummar/i.test(question) || /\bsummar/i.test(ctx.view.instructions.slice(0, 400));
  if (summary) {
    const sents = quotable(text);
    const picked = (ranked.length ? ranked.slice(0, 4).sort((a, b) => a.index - b.index).map((r) => r.text) : sents.slice(0, 3)).join(' ');
    return { chunks, evidence: '', rationale: '', answer: clip(picked, ctx.maxTokens * 3), confidence: scaled(ctx, ['confidence'], 0.6, { min: 0, max: 5 }), irrelevant: picked === '' };
  }
  if (ranked.length === 0) {
    return {
      chunks,
      evidence: '',
      rationale: `The excerpt shares no term with the question "${clip(asking, 80)}".`,
      answer: NO_INFO,
      confidence: scaled(ctx, ['confidence'], 0, { min: 0, max: 5 }),
      irrelevant: true,
    };
  }
  const best = ranked[0];
  // Passages copied word for word; several are separated by " … ".
  const evidence = ranked.slice(0, 2).sort((a, b) => a.index - b.index).map((r) => r.text).join(' … ');
  const options = optionsOf(question);
  const allowed = enumOf(at(ctx, ['answer']), ctx.schema)?.filter((x): x is string => typeof x === 'string');
  let answer: string;
  if (options.length) {
    const pick = options.map((o) => ({ o, s: similarity(o.text, evidence) })).sort((a, b) => b.s - a.s)[0].o;
    answer = allowed?.find((a) => a === pick.letter || a.startsWith(`${pick.letter}.`) || a.startsWith(`(${pick.letter})`)) ?? pick.letter;
  } else if (allowed?.length) {
    answer = allowed.map((a) => ({ a, s: similarity(a, evidence) })).sort((x, y) => y.s - x.s)[0].a;
  } else answer = answerFrom(best.text, question);
  return {
    chunks,
    evidence,
    rationale: `The excerpt says: "${clip(best.text, 200)}", which bears on ${best.hits} of the question's terms.`,
    answer,
    confidence: scaled(ctx, ['confidence'], 0.3 + 0.7 * best.cover, { min: 0, max: 5 }),
    irrelevant: false,
  };
}

interface ShownRecord {
  chunks: number[];
  evidence: string;
  answer: string;
  confidence: number;
}

function chunkList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /(\d+)\s*(?:-\s*(\d+))?/.exec(part);
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    for (let i = a; i <= b && i - a < 10_000; i++) out.push(i);
  }
  return out;
}

/** Records as rendered for collapse and reduce prompts ("Record i (from chunk …):" then field lines). */
export function recordsOf(body: string): ShownRecord[] {
  const parts = body.split(/^(?=Record\s+\d+)/m).filter((p) => p.trim());
  return parts.map((p) => {
    const field = (name: RegExp) => (new RegExp(`^\\s*(?:${name.source})\\s*[:：]\\s*(.*)$`, 'im').exec(p)?.[1] ?? '').trim();
    const from = /\(from chunks?\s+([\d,\s-]+)\)/i.exec(p)?.[1];
    const conf = Number(/(-?\d+(?:\.\d+)?)/.exec(field(/confidence(?: score)?/))?.[1] ?? NaN);
    return {
      chunks: from ? chunkList(from) : [],
      evidence: field(/extracted \w+|evidence/),
      answer: field(/answer|summary/) || p.replace(/^Record\s+\d+[^\n]*\n?/, '').trim(),
      confidence: Number.isFinite(conf) ? conf : 2.5,
    };
  });
}

const key = (a: string) => a.toLowerCase().replace(/[^\p{L}\p{N}.]+/gu, ' ').trim();

export function respondMerge(ctx: RespondCtx): Record<string, unknown> {
  const block = findFence(ctx.view, /record/i) ?? longestFence(ctx.view);
  const records = recordsOf(block?.body ?? '');
  const question = questionOf(ctx.view.instructions);
  const live = records.filter((r) => !/\[\s*no[\s_-]*information\s*\]/i.test(r.answer) && r.answer !== '');
  const all = [...new Set(records.flatMap((r) => r.chunks))].sort((a, b) => a - b);
  if (live.length === 0) {
    return { chunks: all, evidence: '', rationale: `None of the ${records.length} records holds an answer.`, answer: NO_INFO, confidence: scaled(ctx, ['confidence'], 0, { min: 0, max: 5 }), irrelevant: true };
  }
  if (/\bsummar/i.test(question) || /^\s*summary\s*:/im.test(block?.body ?? '')) {
    const text = [...new Set(live.map((r) => r.answer))].join(' ');
    return { chunks: all, evidence: '', rationale: `${live.length} partial summaries merged in document order.`, answer: clip(text, ctx.maxTokens * 3), confidence: scaled(ctx, ['confidence'], 0.6, { min: 0, max: 5 }), irrelevant: false };
  }
  const groups = new Map<string, { w: number; rs: ShownRecord[] }>();
  for (const r of live) {
    const k = key(r.answer);
    const g = groups.get(k) ?? { w: 0, rs: [] };
    g.w += Math.max(0.25, r.confidence) ** 2;
    g.rs.push(r);
    groups.set(k, g);
  }
  const [, win] = [...groups.entries()].sort((a, b) => b[1].w - a[1].w)[0];
  const top = win.rs.reduce((a, b) => (b.confidence > a.confidence ? b : a));
  const total = [...groups.values()].reduce((n, g) => n + g.w, 0);
  const chunks = [...new Set(win.rs.flatMap((r) => r.chunks))].sort((a, b) => a - b);
  const conf = Math.max(...win.rs.map((r) => r.confidence));
  const b = scaled(ctx, ['confidence'], 1, { min: 0, max: 5 });
  return {
    chunks: chunks.length ? chunks : all,
    evidence: clip([...new Set(win.rs.map((r) => r.evidence).filter(Boolean))].join(' | '), 600),
    rationale: `${win.rs.length} of ${live.length} records give this answer (${Math.round((100 * win.w) / total)}% of the confidence-weighted vote).`,
    answer: top.answer,
    confidence: Math.min(b, Math.max(0, Math.round(conf * 2) / 2)),
    irrelevant: false,
  };
}

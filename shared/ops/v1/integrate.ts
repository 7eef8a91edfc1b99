/**
 * The offline collapse and reduce steps: confidence-calibrated integration of records.
 * Answers are normalised and put to a vote weighted by the square of each record's
 * confidence (so one sure record outweighs several unsure ones); retrieval keeps only the
 * 5-point records when there are any; number questions combine partial results with the
 * question's own operation; summaries are merged and re-ranked by centrality. Pure: no I/O.
 */
import type { V1Profile } from '../../protocol/schemas.ts';
import { aggregateNumbers, firstNumber, formatNumber, pickSummary } from './compute.ts';
import { splitSentences } from './extract.ts';
import { analyzeQuestion, letterOf, normalizeAnswer, type QuestionInfo } from './question.ts';
import { chunkList, hasNoInfoMarker, NO_INFO, type V1Record } from './record.ts';

export interface Integrated {
  answer: string;
  rationale: string;
  evidence: string;
  confidence: number;
  /** Chunks behind the chosen answer. */
  support: number[];
  /** Chunks of every record that went in. */
  all: number[];
  irrelevant: boolean;
}

export const NO_RELEVANT_ANSWER = 'The document holds no information relevant to the question.';

const round = (x: number) => Math.round(x * 2) / 2;
const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1).trimEnd()}…`);
const union = (rs: readonly V1Record[]) => [...new Set(rs.flatMap((r) => r.chunks))].sort((a, b) => a - b);

function mergeEvidence(rs: readonly V1Record[], max: number): string {
  const parts = [...new Set(rs.map((r) => r.evidence.trim()).filter(Boolean))];
  return clip(parts.join(' | '), max);
}

function vote(rs: V1Record[], q: QuestionInfo, maxEvidence: number): Omit<Integrated, 'all' | 'irrelevant'> {
  const keyOf = (r: V1Record) => (q.kind === 'choice' ? (letterOf(r.answer) ?? normalizeAnswer(r.answer)) : normalizeAnswer(r.answer));
  const groups = new Map<string, { weight: number; members: V1Record[] }>();
  let total = 0;
  for (const r of rs) {
    const k = keyOf(r);
    const w = Math.max(r.confidence, 0.25) ** 2;
    total += w;
    const g = groups.get(k) ?? { weight: 0, members: [] };
    g.weight += w;
    g.members.push(r);
    groups.set(k, g);
  }
  const ranked = [...groups.entries()].sort((a, b) => b[1].weight - a[1].weight);
  const [winKey, win] = ranked[0];
  const top = win.members.reduce((a, b) => (b.confidence > a.confidence ? b : a));
  const share = win.weight / total;
  const others = ranked
    .slice(1, 4)
    .map(([, g]) => `"${clip(g.members[0].answer, 60)}" (confidence ${Math.max(...g.members.map((m) => m.confidence))}, chunk ${chunkList(union(g.members))})`);
  const rationale =
    `${win.members.length} of ${rs.length} record${rs.length > 1 ? 's' : ''} (chunk ${chunkList(union(win.members))}) ` +
    `${win.members.length > 1 ? 'give' : 'gives'} this answer, ` +
    `${Math.round(share * 100)}% of the confidence-weighted vote` +
    (others.length ? `; other answers: ${others.join('; ')}.` : '.') +
    (top.rationale ? ` Strongest record: ${clip(top.rationale, 300)}` : '');
  return {
    answer: q.kind === 'choice' && winKey.length === 1 ? winKey : top.answer,
    rationale,
    evidence: mergeEvidence([top, ...win.members, ...rs], maxEvidence),
    confidence: round(top.confidence * (0.5 + 0.5 * share)),
    support: union(win.members),
  };
}

function numeric(rs: V1Record[], q: QuestionInfo, maxEvidence: number): Omit<Integrated, 'all' | 'irrelevant'> | undefined {
  const op = q.mathOp ?? 'max';
  const vals = rs.map((r) => ({ r, v: firstNumber(r.answer) })).filter((x): x is { r: V1Record; v: number } => x.v !== undefined);
  if (vals.length === 0) return undefined;
  let value: number;
  let support = vals.map((x) => x.r);
  let evidence: string;
  if (op === 'mean') {
    let n = 0;
    let s = 0;
    for (const { r, v } of vals) {
      const cnt = Number(/numbers=(\d+)/.exec(r.evidence)?.[1] ?? 1);
      n += cnt;
      s += Number(/sum=(-?[\d.]+)/.exec(r.evidence)?.[1] ?? v * cnt);
    }
    value = s / n;
    evidence = `numbers=${n}; sum=${formatNumber(s)}; mean=${formatNumber(value)}`;
  } else {
    const partial = op === 'count' ? 'sum' : op;
    value = aggregateNumbers(partial, vals.map((x) => x.v));
    if (op === 'max' || op === 'min') support = vals.filter((x) => x.v === value).map((x) => x.r);
    const n = vals.reduce((a, { r }) => a + Number(/numbers=(\d+)/.exec(r.evidence)?.[1] ?? 0), 0);
    evidence = `${n ? `numbers=${n}; ` : ''}${op}=${formatNumber(value)} from ${vals.length} partial result${vals.length > 1 ? 's' : ''}`;
  }
  const confidence = op === 'median' ? 1 : Math.min(...support.map((r) => r.confidence));
  return {
    answer: formatNumber(value),
    rationale: `Combined ${vals.length} partial result${vals.length > 1 ? 's' : ''} (chunk ${chunkList(union(vals.map((x) => x.r)))}) with the question's operation (${op}).` +
      (op === 'median' ? ' A median of partial medians is only an estimate.' : ''),
    evidence: clip(evidence, maxEvidence),
    confidence,
    support: union(support),
  };
}

function summaries(rs: V1Record[], q: QuestionInfo, maxWords: number): Omit<Integrated, 'all' | 'irrelevant'> {
  const sents = rs.flatMap((r) => splitSentences(r.answer)).filter((s) => s.terms.length > 0);
  const { summary, picked } = pickSummary(sents, q.focus, maxWords);
  return {
    answer: summary,
    rationale: `The ${picked} most central of ${sents.length} sentences from ${rs.length} partial summar${rs.length > 1 ? 'ies' : 'y'}, in document order.`,
    evidence: '',
    confidence: round(rs.reduce((a, r) => a + r.confidence, 0) / rs.length),
    support: union(rs),
  };
}

/** Integrate records for one collapse group or for the final reduce. */
export function integrate(
  records: readonly V1Record[],
  question: string,
  profile: V1Profile,
  stage: 'collapse' | 'reduce',
): Integrated {
  const all = union(records);
  const markerAsked = hasNoInfoMarker(question);
  let rs = records.filter((r) => markerAsked || !r.irrelevant);
  if (rs.length === 0) {
    const answer = stage === 'reduce' ? NO_RELEVANT_ANSWER : NO_INFO;
    const rationale = records.length
      ? `None of the ${records.length} records held information relevant to the question.`
      : 'No part of the document was found relevant to the question.';
    return { answer, rationale, evidence: '', confidence: 0, support: [], all, irrelevant: true };
  }
  const q = analyzeQuestion(question, profile);
  let note = '';
  if ((profile === 'retrieval' || q.kind === 'kv') && rs.some((r) => r.confidence >= 5)) {
    const sure = rs.filter((r) => r.confidence >= 5);
    if (sure.length < rs.length) note = ` Kept only the ${sure.length} record(s) scored 5 and set ${rs.length - sure.length} aside.`;
    rs = sure;
  }
  const maxEvidence = stage === 'reduce' ? 2000 : 1200;
  const out =
    q.kind === 'summary'
      ? summaries(rs, q, stage === 'reduce' ? 400 : 160)
      : ((q.kind === 'math' ? numeric(rs, q, maxEvidence) : undefined) ?? vote(rs, q, maxEvidence));
  return { ...out, rationale: out.rationale + note, all, irrelevant: false };
}

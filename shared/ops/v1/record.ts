/**
 * The structured information protocol of V1: every map and collapse step yields a record
 * with the same fields, so records can be merged again. Here: the schema, a tolerant parser
 * for models' free-text replies, the relevance rule, and the labelled rendering that is both
 * measured (collapse planning) and sent (prompts), so the two never disagree (bug 5).
 */
import { z } from 'zod';
import { countTokens } from '../../algo/tokens.ts';

export const NO_INFO = '[NO INFORMATION]';

export const RecordSchema = z.object({
  /** Indices of the source chunks this record was drawn from. */
  chunks: z.array(z.number().int().nonnegative()),
  evidence: z.string(),
  rationale: z.string(),
  answer: z.string(),
  /** 0 (no support) … 5 (stated literally in the text). */
  confidence: z.number().min(0).max(5),
  /** The chunk(s) hold nothing that bears on the question. */
  irrelevant: z.boolean(),
});
export type V1Record = z.infer<typeof RecordSchema>;

/** Confidence given to a reply that states no score. */
export const DEFAULT_CONFIDENCE = 2.5;

const MARKER_RE = /\[\s*no[\s_-]*information\s*\]/i;

export function hasNoInfoMarker(text: string): boolean {
  return MARKER_RE.test(text);
}

type Field = 'evidence' | 'rationale' | 'answer' | 'confidence';

const HEADERS: Record<Field, string[]> = {
  evidence: [
    'extracted information', 'extracted evidence', 'extracted code', 'relevant information', 'key information',
    'evidence', 'extracted info', '提取的信息', '相关信息', '证据',
  ],
  rationale: ['rationale', 'reasoning', 'analysis', 'explanation', '分析', '推理', '理由'],
  answer: ['final answer', 'answer', 'summary', 'final summary', '答案', '回答', '总结'],
  confidence: ['confidence score', 'confidence level', 'confidence', '置信度分数', '置信度'],
};

const FIELD_OF = new Map<string, Field>();
for (const [f, names] of Object.entries(HEADERS) as Array<[Field, string[]]>) for (const n of names) FIELD_OF.set(n, f);
const NAMES = [...FIELD_OF.keys()].sort((a, b) => b.length - a.length).map((n) => n.replace(/ /g, '\\s+'));

/**
 * A header at the start of a line: optional list / heading / quote marker, optional bold or
 * italics, the name, an optional parenthesised note ("(0-5)"), then a colon (ASCII or
 * full-width) or a dash; a decorated header (heading or bold) may also stand alone on its line.
 */
const HEADER_RE = new RegExp(
  String.raw`^[ \t]*(#{1,6}[ \t]*|>[ \t]*|[-*+•][ \t]+|\d+[.)][ \t]*)?(\*\*|__|\*|_)?[ \t]*(` +
    NAMES.join('|') +
    String.raw`)[ \t]*(?:[(（][^)）\n]{0,24}[)）])?[ \t]*(\*\*|__|\*|_)?[ \t]*([:：]|[-–—](?=[ \t]))?[ \t]*(?:\*\*|__)?[ \t]*`,
  'iu',
);

interface Section {
  field: Field;
  headerStart: number;
  contentStart: number;
}

function findSections(text: string): Section[] {
  const out: Section[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const m = HEADER_RE.exec(line);
    if (m) {
      const colon = m[5] !== undefined;
      const decorated = (m[1] ?? '').startsWith('#') || (m[2] !== undefined && m[2].length > 0);
      const restEmpty = line.slice(m[0].length).trim().replace(/[*_]/g, '') === '';
      if (colon || (decorated && restEmpty)) {
        const field = FIELD_OF.get(m[3].toLowerCase().replace(/\s+/g, ' '));
        if (field) out.push({ field, headerStart: offset, contentStart: offset + m[0].length });
      }
    }
    offset += line.length + 1;
  }
  return out;
}

/** Strip decoration around a field's content: white space, stray bold markers, one pair of quotes. */
function clean(s: string): string {
  let t = s.trim().replace(/^(?:\*\*|__)\s*/, '').replace(/\s*(?:\*\*|__)$/, '').trim();
  const q = /^(["“'`])([^]*)(["”'`])$/.exec(t);
  if (q && !q[2].includes('\n') && !/["”“]/.test(q[2])) t = q[2].trim();
  return t;
}

/** A confidence on the 0–5 scale from text such as "4", "3.5/5", "8 out of 10", "90%"; clamped to 0–5. */
export function parseConfidence(text: string): number | undefined {
  const m = /(-?\d+(?:[.,]\d+)?)\s*(%|\/\s*(\d+(?:\.\d+)?)|out\s+of\s+(\d+(?:\.\d+)?))?/i.exec(text);
  if (!m) return undefined;
  let v = Number(m[1].replace(',', '.'));
  if (m[2] === '%') v = v / 20;
  else if (m[3] ?? m[4]) v = (v / Number(m[3] ?? m[4])) * 5;
  if (!Number.isFinite(v)) return undefined;
  return clampConfidence(v);
}

export function clampConfidence(v: number): number {
  return Math.min(5, Math.max(0, v));
}

export interface ParsedReply {
  evidence: string;
  rationale: string;
  answer: string;
  confidence: number | undefined;
  /** True when no known header was found and the whole reply was taken as the answer. */
  headerless: boolean;
}

/** Split a free-text reply into protocol fields (last occurrence of each header wins). */
export function parseReplyFields(text: string): ParsedReply {
  const sections = findSections(text);
  const got: Partial<Record<Field, string>> = {};
  sections.forEach((s, i) => {
    const end = i + 1 < sections.length ? sections[i + 1].headerStart : text.length;
    got[s.field] = text.slice(s.contentStart, end);
  });
  if (sections.length === 0) {
    return { evidence: '', rationale: '', answer: clean(text), confidence: undefined, headerless: true };
  }
  return {
    evidence: clean(got.evidence ?? ''),
    rationale: clean(got.rationale ?? ''),
    answer: clean(got.answer ?? ''),
    confidence: got.confidence === undefined ? undefined : parseConfidence(got.confidence),
    headerless: false,
  };
}

/**
 * The text parser reads labelled prose. A reply that is JSON (or a fenced block) but did not fit
 * the reply schema — cut off, a field missing or of the wrong type — must not be taken whole as
 * the answer: it is refused, so the engine asks for a repair.
 */
export function rejectBrokenJson(text: string): void {
  const t = text.replace(/<think>[\s\S]*?<\/think>/g, '').trim();
  if (/^(?:[{[]|```)/.test(t) && findSections(t).length === 0) {
    throw new Error('the reply is JSON that does not fit the requested fields (cut off, or a field missing or of the wrong type)');
  }
}

/**
 * Parse a model's reply into a record. Irrelevance is decided on the Answer field alone, so a
 * rationale that merely mentions the marker keeps the record (bug 4); when the question itself
 * contains the marker, the marker is taken as a possible real answer and nothing is dropped.
 */
export function parseRecordText(text: string, opts: { chunks: number[]; question: string }): V1Record {
  if (text.trim() === '') throw new Error('empty reply: no record to parse');
  rejectBrokenJson(text);
  const f = parseReplyFields(text);
  const markerInQuestion = hasNoInfoMarker(opts.question);
  const irrelevant =
    !markerInQuestion && (hasNoInfoMarker(f.answer) || (f.answer === '' && f.evidence === '' && f.rationale === ''));
  return {
    chunks: [...new Set(opts.chunks)].sort((a, b) => a - b),
    evidence: f.evidence,
    rationale: f.rationale,
    answer: f.answer === '' && irrelevant ? NO_INFO : f.answer,
    confidence: irrelevant ? 0 : (f.confidence ?? DEFAULT_CONFIDENCE),
    irrelevant,
  };
}

/** Confidence of a summary record: a partial summary is neither right nor wrong, so all weigh alike. */
export const SUMMARY_CONFIDENCE = 3;

/**
 * A whole record from a model's reply, which holds only the fields the model was asked for:
 * the chunks come from the input; a missing text is empty; a missing score is
 * DEFAULT_CONFIDENCE (SUMMARY_CONFIDENCE for summaries, which are never scored); an answer that
 * is empty or the marker makes the record irrelevant, with confidence 0.
 */
export function completeRecord(out: Partial<V1Record>, o: { chunks: readonly number[]; summary: boolean }): V1Record {
  const answer = (out.answer ?? '').trim();
  const irrelevant = out.irrelevant === true || answer === '' || hasNoInfoMarker(answer);
  const scored = typeof out.confidence === 'number' && Number.isFinite(out.confidence) ? clampConfidence(out.confidence) : DEFAULT_CONFIDENCE;
  return {
    chunks: [...new Set(o.chunks)].sort((a, b) => a - b),
    evidence: out.evidence ?? '',
    rationale: out.rationale ?? '',
    answer: answer === '' ? NO_INFO : answer,
    confidence: irrelevant ? 0 : o.summary ? SUMMARY_CONFIDENCE : scored,
    irrelevant,
  };
}

/** Whether a record should go on to collapse/reduce (bug 3: a question holding the marker disables the filter). */
export function isRelevant(record: V1Record, question: string): boolean {
  return !record.irrelevant || hasNoInfoMarker(question);
}

/** "3", "3-5, 9": a compact list of chunk indices. */
export function chunkList(chunks: readonly number[]): string {
  const s = [...new Set(chunks)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * One record as it appears in collapse and reduce prompts, with its "Record i" label; the
 * labels are the reply fields' names, so the records read like the replies they came from.
 */
export function renderRecord(r: V1Record, position: number): string {
  const from = r.chunks.length > 0 ? ` (from chunk${r.chunks.length > 1 ? 's' : ''} ${chunkList(r.chunks)})` : '';
  return (
    `Record ${position}${from}:\n` +
    `Evidence: ${r.evidence || '(none)'}\n` +
    `Rationale: ${r.rationale || '(none)'}\n` +
    `Answer: ${r.answer}\n` +
    `Confidence: ${Math.round(r.confidence * 10) / 10}\n`
  );
}

/** Records rendered in order, numbered from 1, separated by a blank line. */
export function renderRecords(records: readonly V1Record[]): string {
  return records.map((r, i) => renderRecord(r, i + 1)).join('\n');
}

/**
 * Token counts of records already seen, by record and position. Grouping runs again as results
 * arrive (pipelined collapse) and over every collapse round, and re-tokenising thousands of
 * records each time kept a coordinator busy for minutes on a large document (its NATS requests
 * timed out meanwhile). Records are immutable once parsed, so a count never goes stale.
 */
const costs = new WeakMap<V1Record, Map<number, number>>();

/** Tokens one record adds to a prompt at this position (label and separator included). */
export function recordCost(r: V1Record, position: number): number {
  let byPos = costs.get(r);
  if (!byPos) costs.set(r, (byPos = new Map()));
  let n = byPos.get(position);
  if (n === undefined) byPos.set(position, (n = countTokens(renderRecord(r, position) + '\n')));
  return n;
}

function cut(s: string, n: number): string {
  return n >= s.length ? s : `${s.slice(0, Math.max(0, n)).trimEnd()}…`;
}

/**
 * A copy of the record shortened so that, rendered at `position`, it costs at most
 * `maxTokens`: the evidence is cut first, then the rationale, then the answer.
 */
export function truncateRecord(r: V1Record, position: number, maxTokens: number): V1Record {
  if (recordCost(r, position) <= maxTokens) return r;
  let cur = { ...r };
  for (const field of ['evidence', 'rationale', 'answer'] as const) {
    const full = r[field];
    const empty = { ...cur, [field]: '' };
    if (recordCost(empty, position) > maxTokens) {
      cur = empty;
      continue;
    }
    let lo = 0;
    let hi = full.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (recordCost({ ...cur, [field]: cut(full, mid) }, position) <= maxTokens) lo = mid;
      else hi = mid - 1;
    }
    return { ...cur, [field]: lo === 0 ? '' : cut(full, lo) };
  }
  return cur;
}

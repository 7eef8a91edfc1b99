/**
 * General offline retrieval: find the value of a key, whatever notation the text uses for it —
 * JSON (`"k": v`), YAML and config files (`k: v`, `k = v`, `k => v`), prose ("the k is v",
 * "v is the k", "the X of Y is Z", "Y's X is Z"), tables (a two-column row, or the X column of
 * the row Y), Chinese ("k是v", "k：v") — and numbers that a text tells its reader to keep
 * ("the code to remember is 4821", "remember 12345", "access number: 7781"). Everything is
 * computed from the text; nothing here knows a benchmark's wording. Pure: no I/O.
 */

export interface KeyPhrase {
  /** The key as the question names it. */
  key: string;
  /** A quoted key is matched exactly; a phrase key also matches snake_case, kebab-case and camelCase spellings. */
  literal: boolean;
}

export interface KeyHit {
  value: string;
  /** The line or sentence that states it. */
  evidence: string;
  /** Which notation matched, for the rationale. */
  notation: string;
  index: number;
}

import { stem } from '../../algo/text.ts';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const HAN = /\p{Script=Han}/u;

/** The asking sentence's key: a quoted key, else the noun phrase of "what is the …", "who is the …", "…是什么". */
export function keyPhraseOf(question: string, asking: string): KeyPhrase | undefined {
  const ib = /\bkey\s*[:：]?\s*["“]([^"”\n]{1,200})["”]/i.exec(question);
  if (ib) return { key: ib[1], literal: true };
  const quoted = /["“`]([^"”`\n]{1,120})["”`]|(?<![\p{L}\p{N}])'([^'\n]{1,120})'(?![\p{L}\p{N}])/u.exec(asking);
  if (quoted && /\b(value|key|field|setting|entry|variable|parameter|option|mapped|map|maps|set to|assigned)\b/i.test(asking)) {
    return { key: (quoted[1] ?? quoted[2]).trim(), literal: true };
  }
  const s = asking.trim().replace(/[?？.。!！\s]+$/u, '');
  if (HAN.test(s)) {
    const zh = /^(?:请问|请告诉我|告诉我)?[，,\s]*(.{1,24}?)(?:究竟|到底)?(?:是什么|是多少|为多少|是哪[一个位天年里]?|是谁|叫什么(?:名字)?|是几)$/u.exec(s);
    return zh && zh[1].trim() ? { key: zh[1].trim(), literal: false } : undefined;
  }
  let m =
    /^(?:(?:please|so|now|and|then)[\s,]+)?(?:(?:can|could) you\s+)?(?:tell me|give me|say|state|find|name|report|recall|what(?:'s|’s| is| was| are| were)|which is|who(?:'s|’s| is| was))\s+(.+)$/i.exec(s);
  if (!m) return undefined;
  let k = m[1]
    .replace(/^(?:again\s+)?(?:the|a|an|my|our|your|this|that)\s+/i, '')
    .replace(/^(?:value|number|entry)\s+(?:of|for|associated with|assigned to|stored under|under|paired with|mapped to)\s+(?:the\s+)?(?:key\s+)?/i, '')
    .replace(/\s+(?:that|which)\s+(?:i|you|we)\s+(?:should|must|need to|have to|am to|are to)\s+(?:remember|memori[sz]e|keep)\b.*$/i, '')
    .replace(/\s+(?:(?:mentioned|given|stated|hidden|written|listed|shown)\s+)?(?:in|inside|within|by|from)\s+(?:the|this)\s+(?:text|document|passage|context|file|data|excerpt|record|table)\b.*$/i, '')
    .replace(/\s+(?:mentioned|given|stated|above|below|here)$/i, '')
    .trim();
  m = /^(.*?)\s*[,;:]/.exec(k);
  if (m && m[1]) k = m[1];
  const n = k.split(/\s+/).length;
  return k && n <= 8 ? { key: k, literal: false } : undefined;
}

/** A regex source for the key: exact when literal; otherwise its words joined by any of space, "_", "-", "." or nothing. */
function keySource(key: string, literal: boolean): string {
  if (literal) return esc(key);
  if (HAN.test(key)) return [...key.replace(/\s+/g, '')].map(esc).join('\\s*');
  const parts = key
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .split(/[\s_\-.]+/)
    .filter(Boolean)
    .map(esc);
  return parts.join('[\\s_.\\-]*');
}

/** Other spellings of a phrase key: "capital of Veltria" is also "Veltria's capital" and "Veltria capital". */
function variants(k: KeyPhrase): KeyPhrase[] {
  const out = [k];
  const of = !k.literal && /^(.+?)\s+of\s+(?:the\s+)?(.+)$/i.exec(k.key);
  if (of) out.push({ key: `${of[2]}'s ${of[1]}`, literal: false }, { key: `${of[2]} ${of[1]}`, literal: false });
  return out;
}

const B = '(?<![\\p{L}\\p{N}_])';
const E = '(?![\\p{L}\\p{N}_])';
/** A value after a separator: quoted, or the rest of the item (to a comma, semicolon, bracket, line end or sentence end). */
const VALUE = String.raw`(?:"([^"\n]*)"|'([^'\n]*)'|“([^”\n]*)”|([^\s,;}\]\n](?:[^,;}\]\n#]|,(?=\d{3}(?!\d)))*?))(?=[ \t]*(?:,(?!\d{3}(?!\d))|[;}\]\n#]|\.(?:\s|$)|$))`;
/** A value in prose: quoted, or the words up to the end of the clause. */
const PROSE_VALUE = String.raw`(?:"([^"\n]*)"|“([^”\n]*)”|((?:[^\n.,;:!?()]|[.,](?=\d))+))`;

function firstGroup(m: RegExpExecArray, from: number): string | undefined {
  for (let i = from; i < m.length; i++) if (m[i] !== undefined) return m[i];
  return undefined;
}

/** The line (or, in long lines, the sentence) around a position. */
function around(text: string, at: number, len: number): string {
  const ls = text.lastIndexOf('\n', at) + 1;
  const le = text.indexOf('\n', at + len);
  const line = text.slice(ls, le < 0 ? text.length : le);
  if (line.length <= 300) return line.trim();
  const rel = at - ls;
  const s = Math.max(line.lastIndexOf('. ', rel) + 1, line.lastIndexOf(', ', rel) + 1, 0);
  const e = line.slice(rel + len).search(/[.,;}](?:\s|$)/);
  return line.slice(s, e < 0 ? line.length : rel + len + e + 1).trim();
}

function clean(v: string): string {
  return v.trim().replace(/^[`'"“]+|[`'"”]+$/g, '').trim();
}

/** The cells of a table line ('|' or tab separated); undefined for other lines. */
function cells(line: string): string[] | undefined {
  if (line.includes('|')) {
    const c = line.split('|').map((x) => x.trim());
    if (c[0] === '') c.shift();
    if (c.length && c[c.length - 1] === '') c.pop();
    return c.length >= 2 ? c : undefined;
  }
  if (line.includes('\t')) {
    const c = line.split('\t').map((x) => x.trim());
    return c.length >= 2 ? c : undefined;
  }
  return undefined;
}

/** Table lookups: a row whose first cell is the key (value: the next cell), or the column X of the row Y. */
function tableHits(text: string, k: KeyPhrase): KeyHit[] {
  const whole = new RegExp(`^[\\s*_\`"']*${keySource(k.key, k.literal)}[\\s*_\`"':：]*$`, 'iu');
  const of = !k.literal ? /^(.+?)\s+of\s+(?:the\s+)?(.+)$/i.exec(k.key) : null;
  const col = of ? new RegExp(`^[\\s*_]*${keySource(of[1], false)}[\\s*_]*$`, 'iu') : undefined;
  const row = of ? new RegExp(`^[\\s*_]*${keySource(of[2], false)}[\\s*_]*$`, 'iu') : undefined;
  const hits: KeyHit[] = [];
  const lines = text.split('\n');
  let header: string[] | undefined;
  let offset = 0;
  for (const line of lines) {
    const c = cells(line);
    if (!c) header = undefined;
    else if (c.every((x) => /^:?-{2,}:?$/.test(x))) {
      // the rule under a Markdown header row: still the same table
    } else {
      if (c.length === 2 && whole.test(c[0]) && c[1] !== '') hits.push({ value: clean(c[1]), evidence: line.trim(), notation: 'a table row', index: offset });
      if (header && col && row && c.some((x) => row.test(x))) {
        const j = header.findIndex((h) => col.test(h));
        if (j >= 0 && c[j]) hits.push({ value: clean(c[j]), evidence: `${header.join(' | ')} … ${line.trim()}`, notation: 'a table column', index: offset });
      }
      if (!header) header = c;
    }
    offset += line.length + 1;
  }
  return hits;
}

/** Every place the text gives the key a value, in text order. */
export function findKeyValues(text: string, key: KeyPhrase): KeyHit[] {
  const hits: KeyHit[] = [];
  for (const k of variants(key)) {
    const K = keySource(k.key, k.literal);
    const zh = HAN.test(k.key);
    const kb = zh ? '' : B;
    const ke = zh ? '' : E;
    const forms: Array<[string, RegExp, number]> = [
      ['a key-value pair', new RegExp(`${kb}(["'\`]?)${K}\\1[ \\t]*(?::|：|=>|->|=|≔)[ \\t]*${VALUE}`, 'giu'), 2],
      ['a sentence', new RegExp(`${kb}${K}${ke}[ \\t]+(?:is|was|are|were|equals|reads|is set to|was set to|is equal to|stands at)[ \\t]+(?:now[ \\t]+|still[ \\t]+)?${PROSE_VALUE}`, 'giu'), 1],
      ['a sentence', new RegExp(`${B}("[^"\\n]{1,80}"|[\\p{L}\\p{N}][\\p{L}\\p{N}_\\-/:]*\\p{N}[\\p{L}\\p{N}_\\-/:]*)[ \\t]+(?:is|was)[ \\t]+(?:the|our|your|my)[ \\t]+${K}${ke}`, 'giu'), 1],
    ];
    if (zh) forms.push(['a sentence', new RegExp(`${K}\\s*(?:是|为|叫|名叫|称为|等于|＝)\\s*["“「]?([^，。；！？,;!?\\n"”」]{1,40})`, 'gu'), 1]);
    for (const [notation, re, group] of forms) {
      for (const m of text.matchAll(re)) {
        const raw = firstGroup(m as RegExpExecArray, group);
        if (raw === undefined) continue;
        const value = clean(raw.replace(/\.$/, ''));
        if (value === '' || value.split(/\s+/).length > 12) continue;
        hits.push({ value, evidence: notation === 'a key-value pair' && k.literal ? m[0].trim() : around(text, m.index ?? 0, m[0].length), notation, index: m.index ?? 0 });
      }
    }
    hits.push(...tableHits(text, k));
  }
  const seen = new Set<string>();
  return hits
    .sort((a, b) => a.index - b.index)
    .filter((h) => {
      const id = `${h.index}\u0000${h.value}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
}

/** Words that mark a number as one to keep: the text tells its reader to remember it, or names it a code. */
const CUES = /^(?:remember|remembered|memori[sz]e|memori[sz]ed|memo|note|noted|keep|kept|mind|forget|recall|code|codes|key|keys|pin|password|passcode|passphrase|passkey|passkeys|combination|secret|number|numbers|digit|digits|id|access|token|magic|special|lucky|记住|记下|密码|口令|号码|编号|代码|暗号)$/iu;

export interface NumberHit {
  value: string;
  evidence: string;
  /** Key words of the question found in the sentence, and cue words found there. */
  keyWords: number;
  cueWords: number;
}

/**
 * A number the text sets apart for its reader: in a sentence with cue words ("remember",
 * "code", "access number"…) or the question's own key words. The best sentence has the most
 * key words, then the most cues; ties go to the first.
 */
export function findCuedNumber(sentences: readonly string[], keyWords: readonly string[]): NumberHit | undefined {
  let best: NumberHit | undefined;
  const kw = new Set(keyWords.map((w) => stem(w)));
  for (const s of sentences) {
    const nums = [...s.matchAll(/(?<![\p{L}\p{N}.,])\d{3,}(?![\p{L}\p{N}]|[.,]\d)/gu)];
    if (nums.length !== 1) continue;
    const toks = s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    const segs = (HAN.test(s) ? [...new Intl.Segmenter('zh', { granularity: 'word' }).segment(s)].map((x) => x.segment) : toks).map(stem);
    const keyWordsHit = [...kw].filter((w) => segs.includes(w) || (HAN.test(w) && s.includes(w))).length;
    const cueWords = segs.filter((t) => CUES.test(t)).length;
    if (keyWordsHit + cueWords === 0) continue;
    const hit = { value: nums[0][0], evidence: s.trim(), keyWords: keyWordsHit, cueWords };
    if (!best || hit.keyWords > best.keyWords || (hit.keyWords === best.keyWords && hit.cueWords > best.cueWords)) best = hit;
  }
  return best;
}

/** Whether a question asks for a number-like item (a code, a key, a PIN, digits, an id…). */
export function asksForCode(keyOrQuestion: string): boolean {
  return /\b(?:number|code|key|pin|password|passcode|passphrase|passkey|digits?|combination|id|secret|token)\b|(?:密码|口令|号码|编号|代码|数字)/iu.test(keyOrQuestion);
}

/**
 * How the simulator reads a chat request the way a model would: the fenced source blocks (made
 * by `fence()` in shared/ops/op.ts: a label line, then a ```text block), the text outside them
 * (instructions), the JSON Schema the engine put into the system message for servers without
 * structured output, and which op the request comes from (the schema's "title", else the
 * response_format name). Relies on the fence layout and the schema, not on prompt wording.
 * Pure: no I/O.
 */

export interface Fence {
  /** The label line, without its trailing "(data, not instructions):". */
  label: string;
  body: string;
}

export interface PromptView {
  /** Every message's text, in order. */
  all: string;
  /** Text outside fenced blocks (the instructions), without lines of JSON (a schema written into the prompt). */
  instructions: string;
  fences: Fence[];
}

type Message = { role?: unknown; content?: unknown };

export function messageText(m: Message | undefined): string {
  const c = m?.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('\n');
  return '';
}

/** Fenced blocks of a text: an opening line of 3+ backticks (optionally "text"), closed by the same run alone on a line. */
export function fencedBlocks(text: string): { fences: Fence[]; outside: string } {
  const fences: Fence[] = [];
  const lines = text.split('\n');
  const outside: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([A-Za-z]*)\s*$/.exec(lines[i]);
    if (!open) {
      outside.push(lines[i]);
      continue;
    }
    let j = i + 1;
    while (j < lines.length && lines[j] !== open[1]) j++;
    if (j >= lines.length) {
      outside.push(lines[i]); // never closed: not a block
      continue;
    }
    const labelLine = outside.length > 0 && outside[outside.length - 1].trim() !== '' ? outside.pop()! : '';
    fences.push({ label: cleanLabel(labelLine), body: lines.slice(i + 1, j).join('\n') });
    i = j;
  }
  return { fences, outside: outside.join('\n') };
}

function cleanLabel(line: string): string {
  return line
    .trim()
    .replace(/:\s*$/, '')
    .replace(/\s*\((?:data|source|material)\b[^()]*\)\s*$/i, '')
    .trim();
}

/** The request as a model reads it; earlier assistant replies (a repair round) are not source material. */
export function readPrompt(messages: readonly Message[]): PromptView {
  const texts = messages.filter((m) => m?.role !== 'assistant').map(messageText);
  const fences: Fence[] = [];
  const outside: string[] = [];
  for (const t of texts) {
    const b = fencedBlocks(t);
    fences.push(...b.fences);
    outside.push(b.outside);
  }
  return { all: texts.join('\n\n'), instructions: withoutJsonLines(outside.join('\n\n')), fences };
}

/** Drop lines that are one JSON object (the schema the engine adds): they describe the reply, not the task. */
function withoutJsonLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => {
      const t = l.trim();
      if (!t.startsWith('{') || !t.endsWith('}')) return true;
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    })
    .join('\n');
}

const SCHEMA_MARK = 'It must satisfy this JSON Schema:\n';

/** The JSON Schema written into a message after the engine's note (last occurrence), if it parses. */
function schemaAfterMark(text: string): Record<string, any> | undefined {
  let at = text.lastIndexOf(SCHEMA_MARK);
  while (at >= 0) {
    const rest = text.slice(at + SCHEMA_MARK.length);
    const line = rest.split('\n')[0];
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    } catch {
      // not one line of JSON here: try an earlier occurrence
    }
    at = at > 0 ? text.lastIndexOf(SCHEMA_MARK, at - 1) : -1;
  }
  return undefined;
}

/**
 * The schema of a request made for a server without structured output: the first system
 * message carries it; a later message (a repair note) may restate it, and the latest wins.
 */
export function schemaInPrompt(messages: readonly Message[]): Record<string, any> | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'system' && i > 0) continue; // only the first system message counts as the system prompt
    const s = schemaAfterMark(messageText(messages[i]));
    if (s) return s;
  }
  return undefined;
}

/** The op behind a request: the schema's title, else the response_format name mapped back to a known op name. */
export function opNameOf(schema: unknown, formatName: unknown, known: readonly string[]): string | undefined {
  const title = schema && typeof schema === 'object' ? (schema as any).title : undefined;
  if (typeof title === 'string' && known.includes(title)) return title;
  if (typeof formatName === 'string') {
    const hit = known.find((k) => k === formatName || k.replace(/[^A-Za-z0-9_-]/g, '_') === formatName);
    if (hit) return hit;
  }
  return typeof title === 'string' ? title : undefined;
}

/** The fence whose label matches, the last one first (later blocks are usually the subject). */
export function findFence(view: PromptView, re: RegExp): Fence | undefined {
  for (let i = view.fences.length - 1; i >= 0; i--) if (re.test(view.fences[i].label)) return view.fences[i];
  return undefined;
}

/** Fences whose label matches, in order. */
export function fencesLike(view: PromptView, re: RegExp): Fence[] {
  return view.fences.filter((f) => re.test(f.label));
}

/** The longest fence not matching `skip` (the source text when labels say little). */
export function longestFence(view: PromptView, skip?: RegExp): Fence | undefined {
  let best: Fence | undefined;
  for (const f of view.fences) if (!(skip && skip.test(f.label)) && (!best || f.body.length > best.body.length)) best = f;
  return best;
}

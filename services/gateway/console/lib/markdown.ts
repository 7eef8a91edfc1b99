/**
 * A small, safe Markdown → HTML renderer for the surveys the cluster writes: ATX headings,
 * paragraphs, lists, block quotes, rules, fenced code, pipe tables, emphasis, code spans, links
 * (http, https and in-page only) and autolinks. Every piece of source text is HTML-escaped; no
 * raw HTML passes through. Numbered citations "[3]" / "[1, 4]" become links to the entries of
 * the "References" section, titled with the cited work's title (shown on hover). Pure: no DOM.
 */

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]);
}

/** Undo the backslash escapes Markdown writers put before punctuation. */
function unescapeMd(s: string): string {
  return s.replace(/\\([\\`*_[\]<>#()!|{}.+-])/g, '$1');
}

export interface Reference {
  number: number;
  /** The work's title (the emphasised part of the entry), or the entry's text without its number. */
  title: string;
}

const REF_HEADING = /^#{1,6}\s+(?:\d+(?:\.\d+)*\s+)?(References|Bibliography)\s*$/i;

/** The numbered entries of the document's References section ("[3] Authors (2024). *Title*. <url>"). */
export function parseReferences(md: string): Map<number, Reference> {
  const out = new Map<number, Reference>();
  const lines = md.split(/\r?\n/);
  const start = lines.findIndex((l) => REF_HEADING.test(l.trim()));
  if (start < 0) return out;
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,6}\s/.test(line)) break;
    const m = /^\s*(?:[-*]\s+)?\[(\d+)\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const rest = m[2];
    const em = /(?:^|[^\\*])\*((?:\\.|[^*\\])+)\*/.exec(rest);
    const title = unescapeMd(em ? em[1] : rest.replace(/<[^>]*>/g, '')).trim();
    out.set(Number(m[1]), { number: Number(m[1]), title });
  }
  return out;
}

interface Ctx {
  refs: Map<number, Reference>;
}

/** A link target we allow: http(s), mailto, or an in-page anchor. Anything else is dropped. */
function safeUrl(url: string): string | null {
  const u = url.trim();
  if (/^(https?:\/\/|mailto:)/i.test(u) || /^#[\w-]*$/.test(u)) return u;
  return null;
}

function citationLinks(inner: string, ctx: Ctx): string | null {
  const nums: number[] = [];
  for (const part of inner.split(/\s*[,;]\s*/)) {
    const range = /^(\d+)\s*[–-]\s*(\d+)$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a || b - a > 50) return null;
      for (let i = a; i <= b; i++) nums.push(i);
    } else if (/^\d+$/.test(part)) nums.push(Number(part));
    else return null;
  }
  if (!nums.length) return null;
  const links = nums.map((n) => {
    const ref = ctx.refs.get(n);
    const title = ref ? ` title="${escapeHtml(ref.title)}"` : '';
    return `<a class="cite" href="#ref-${n}" data-ref="${n}"${title}>${n}</a>`;
  });
  return `<span class="citation">[${links.join(', ')}]</span>`;
}

/** Inline Markdown of one block's text → HTML. */
export function renderInline(text: string, ctx: Ctx = { refs: new Map() }): string {
  let out = '';
  let i = 0;
  let plain = '';
  const flush = () => {
    out += escapeHtml(plain);
    plain = '';
  };
  while (i < text.length) {
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if (rest[0] === '\\' && /^\\[\\`*_[\]<>#()!|{}.+-]/.test(rest)) {
      plain += rest[1];
      i += 2;
    } else if ((m = /^(`+)([\s\S]*?[^`])\1(?!`)/.exec(rest))) {
      flush();
      out += `<code>${escapeHtml(m[2].trim())}</code>`;
      i += m[0].length;
    } else if ((m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/.exec(rest))) {
      flush();
      const u = escapeHtml(m[1]);
      out += `<a href="${u}" rel="noopener noreferrer" target="_blank">${u}</a>`;
      i += m[0].length;
    } else if ((m = /^\[([^\]]+)\]\(([^()\s]+)\)/.exec(rest))) {
      flush();
      const url = safeUrl(m[2]);
      const label = renderInline(m[1], ctx);
      out += url ? `<a href="${escapeHtml(url)}"${url.startsWith('#') ? '' : ' rel="noopener noreferrer" target="_blank"'}>${label}</a>` : label;
      i += m[0].length;
    } else if ((m = /^\[(\d+(?:\s*[–-]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[–-]\s*\d+)?)*)\]/.exec(rest)) && citationLinks(m[1], ctx)) {
      flush();
      out += citationLinks(m[1], ctx);
      i += m[0].length;
    } else if ((m = /^(\*\*|__)(?=\S)([\s\S]*?\S)\1/.exec(rest))) {
      flush();
      out += `<strong>${renderInline(m[2], ctx)}</strong>`;
      i += m[0].length;
    } else if ((m = /^(\*|_)(?=\S)([\s\S]*?\S)\1(?![\w*])/.exec(rest)) && !(m[1] === '_' && /\w$/.test(plain))) {
      flush();
      out += `<em>${renderInline(m[2], ctx)}</em>`;
      i += m[0].length;
    } else {
      plain += rest[0];
      i += 1;
    }
  }
  flush();
  return out;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '|') {
      cur += '|';
      i++;
    } else if (s[i] === '|') {
      cells.push(cur.trim());
      cur = '';
    } else cur += s[i];
  }
  cells.push(cur.trim());
  return cells;
}

const isTableDivider = (l: string) => /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(l);
const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;

/** Render a whole document. */
export function renderMarkdown(md: string): string {
  const ctx: Ctx = { refs: parseReferences(md) };
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const html: string[] = [];
  let inRefs = false;
  let i = 0;
  const para: string[] = [];
  const endPara = () => {
    if (para.length) html.push(`<p>${renderInline(para.join('\n'), ctx)}</p>`);
    para.length = 0;
  };
  while (i < lines.length) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if (!line.trim()) {
      endPara();
      i++;
    } else if ((m = /^\s*(```+|~~~+)\s*([\w+-]*)\s*$/.exec(line))) {
      endPara();
      const fence = m[1];
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i++;
      const lang = m[2] ? ` class="language-${escapeHtml(m[2])}"` : '';
      html.push(`<pre><code${lang}>${escapeHtml(body.join('\n'))}</code></pre>`);
    } else if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      endPara();
      const level = m[1].length;
      inRefs = REF_HEADING.test(line.trim());
      html.push(`<h${level} id="h-${slug(unescapeMd(m[2]))}">${renderInline(m[2], ctx)}</h${level}>`);
      i++;
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      endPara();
      html.push('<hr>');
      i++;
    } else if (line.includes('|') && i + 1 < lines.length && isTableDivider(lines[i + 1])) {
      endPara();
      const head = splitRow(line);
      i += 2;
      const rows: string[][] = [];
      while (i < lines.length && lines[i].includes('|') && lines[i].trim()) rows.push(splitRow(lines[i++]));
      const th = head.map((c) => `<th>${renderInline(c, ctx)}</th>`).join('');
      const tb = rows.map((r) => `<tr>${head.map((_, k) => `<td>${renderInline(r[k] ?? '', ctx)}</td>`).join('')}</tr>`).join('');
      html.push(`<table><thead><tr>${th}</tr></thead><tbody>${tb}</tbody></table>`);
    } else if (/^\s*>/.test(line)) {
      endPara();
      const body: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ''));
      html.push(`<blockquote>${renderMarkdown(body.join('\n'))}</blockquote>`);
    } else if (inRefs && (m = /^\s*\[(\d+)\]\s+(.*)$/.exec(line))) {
      endPara();
      const entries: string[] = [];
      for (; i < lines.length; i++) {
        if (!lines[i].trim()) continue;
        const e = /^\s*\[(\d+)\]\s+(.*)$/.exec(lines[i]);
        if (!e) break;
        entries.push(`<li id="ref-${e[1]}" value="${e[1]}"><span class="ref-num">[${e[1]}]</span> ${renderInline(e[2], ctx)}</li>`);
      }
      html.push(`<ol class="references">${entries.join('')}</ol>`);
    } else if (LIST_ITEM.test(line)) {
      endPara();
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      while (i < lines.length && (m = LIST_ITEM.exec(lines[i])) && /^\s*\d/.test(lines[i]) === ordered) {
        const item = [m[3]];
        i++;
        while (i < lines.length && lines[i].trim() && !LIST_ITEM.test(lines[i]) && /^\s+/.test(lines[i])) item.push(lines[i++].trim());
        items.push(`<li>${renderInline(item.join('\n'), ctx)}</li>`);
      }
      html.push(ordered ? `<ol>${items.join('')}</ol>` : `<ul>${items.join('')}</ul>`);
    } else {
      para.push(line.trim());
      i++;
    }
  }
  endPara();
  return html.join('\n');
}

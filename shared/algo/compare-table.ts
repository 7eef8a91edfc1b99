/**
 * A comparison table for a section: one row per paper (who, year, approach, what it reports),
 * as Markdown. "What it reports" is the shortest clause of the paper's own sentences that holds
 * a measured figure ("8× compression", "82 ms per token"). Pure: no I/O.
 */

export interface TableRow {
  /** Cell text naming the paper, with its citation ("Chen et al. [@P003]"). */
  paper: string;
  year: number | null;
  approach: string;
  /** A clause stating a measured result, or null when the paper states none. */
  reports: string | null;
}

/** A number with a unit, a percentage, a factor or a count that reads as a measured result. */
const FIGURE = /(?:\d+(?:\.\d+)?\s?(?:%|×|x\b|times\b|-?fold\b|bits?\b|-bit\b|ms\b|s\b|GB\b|MB\b|K\b|M\b|B\b|k\b|tokens?\b|points?\b|pp\b|GPUs?\b|layers?\b|heads?\b)|\b(?:up to|over|about|by|to|of)\s\d+(?:\.\d+)?\b)/;

/**
 * The shortest clause (split at commas, semicolons, colons and dashes) of the sentences that
 * states a figure, trimmed to at most `maxWords` words around it; null when none does.
 */
export function reportedFigure(sentences: readonly string[], maxWords = 14): string | null {
  let best: { text: string; rank: number } | null = null;
  for (const s of sentences) {
    const plain = s.replace(/\[\s*@[^\]]*\]/g, '').replace(/\s+/g, ' ').trim().replace(/[.!?]+$/, '');
    for (const clause of plain.split(/[,;:]\s+|\s[–—-]{1,2}\s|\(|\)/)) {
      const c = clause.trim();
      const m = FIGURE.exec(c);
      if (!m || !/\p{L}{3,}/u.test(c)) continue;
      let words = c.split(/\s+/);
      let cut = false;
      if (words.length > maxWords) {
        // Keep a window that starts a few words before the figure.
        const at = c.slice(0, m.index).split(/\s+/).length - 1;
        let from = Math.max(0, Math.min(at - 3, words.length - maxWords));
        // Never start inside a name ("… et al. find"): begin after the last word that ends a phrase.
        for (let i = at - 1; i >= from; i--)
          if (/[.]$/.test(words[i])) {
            from = i + 1;
            break;
          }
        words = words.slice(from, from + maxWords);
        cut = true;
      }
      const text = `${words.join(' ').replace(/^(?:and|or|but|while|which|that|with)\s+/i, '')}${cut ? ' …' : ''}`;
      // Percentages, factors and speed-ups are results; other numbers are often settings.
      const rank = (/%|×|\btimes\b|-?fold\b|speed-?up/i.test(c) ? 0 : 1) * 1000 + text.length;
      if (!best || rank < best.rank) best = { text, rank };
    }
  }
  return best?.text ?? null;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

/** A Markdown table of the rows; empty when fewer than `minRows` rows or fewer than two state a result. */
export function comparisonTable(rows: readonly TableRow[], minRows = 3): string {
  if (rows.length < minRows || rows.filter((r) => r.reports).length < 2) return '';
  const lines = ['| Paper | Year | Approach | What it reports |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${cell(r.paper)} | ${r.year ?? '—'} | ${cell(r.approach || '—')} | ${cell(r.reports ?? '—')} |`);
  return lines.join('\n');
}

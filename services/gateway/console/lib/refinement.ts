/**
 * Entropy scores of the outline refinement, per block and layer, and their inline SVG chart.
 * The scores come either from the API's `refinement` field or from the job's `refine` events
 * ("block 1 layer 2: best 3.10 (4 candidates, …)" with `data: {block, layer, scores, best}`).
 * Pure: builds strings, no DOM.
 */
import { escapeHtml } from './markdown.ts';

export interface LayerScores {
  /** "layer 1", "self-refine 2", … */
  label: string;
  scores: number[];
  best: number;
}
export interface BlockScores {
  block: number;
  layers: LayerScores[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => num(x) !== undefined) : []);
const layerLabel = (layer: unknown) => (typeof layer === 'number' ? `layer ${layer}` : String(layer ?? ''));

/** Collect scores from job events (any order of arrival; a repeated layer replaces the earlier one). */
export function scoresFromEvents(events: readonly { type: string; stage?: string; data?: Record<string, unknown> }[]): BlockScores[] {
  const blocks = new Map<number, Map<string, LayerScores>>();
  for (const e of events) {
    if (e.stage !== 'refine' || !e.data) continue;
    const block = num(e.data.block);
    const best = num(e.data.best);
    if (block === undefined || best === undefined || e.data.layer === undefined) continue;
    const label = layerLabel(e.data.layer);
    if (!blocks.has(block)) blocks.set(block, new Map());
    blocks.get(block)!.set(label, { label, scores: nums(e.data.scores), best });
  }
  return [...blocks.entries()].sort((a, b) => a[0] - b[0]).map(([block, layers]) => ({ block, layers: [...layers.values()] }));
}

/** The API's `refinement` field, read tolerantly: `[{block, layers: [{layer|label, scores, best?}]}]`. */
export function scoresFromApi(v: unknown): BlockScores[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((b, i) => {
    if (!b || typeof b !== 'object') return [];
    const rec = b as Record<string, unknown>;
    const layers = (Array.isArray(rec.layers) ? rec.layers : []).flatMap((l): LayerScores[] => {
      if (!l || typeof l !== 'object') return [];
      const L = l as Record<string, unknown>;
      const scores = nums(L.scores);
      const best = num(L.best) ?? (scores.length ? Math.max(...scores) : undefined);
      return best === undefined ? [] : [{ label: typeof L.label === 'string' ? L.label : layerLabel(L.layer), scores, best }];
    });
    return layers.length ? [{ block: num(rec.block) ?? i, layers }] : [];
  });
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));

/** One block's chart: every candidate's score as a dot per layer, the best of each layer joined by a line. */
export function blockChartSvg(b: BlockScores, width = 420, height = 180): string {
  const pad = { l: 44, r: 12, t: 22, b: 34 };
  const all = b.layers.flatMap((l) => [...l.scores, l.best]);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const span = hi - lo;
  lo -= span * 0.08;
  hi += span * 0.08;
  const n = b.layers.length;
  const x = (i: number) => pad.l + (n === 1 ? (width - pad.l - pad.r) / 2 : (i * (width - pad.l - pad.r)) / (n - 1));
  const y = (v: number) => pad.t + ((hi - v) / (hi - lo)) * (height - pad.t - pad.b);
  const parts: string[] = [];
  parts.push(`<text x="${pad.l}" y="14" class="chart-title">block ${b.block + 1}: entropy score per layer</text>`);
  for (const v of [hi, (hi + lo) / 2, lo]) {
    parts.push(`<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${pad.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(v)}</text>`);
  }
  b.layers.forEach((l, i) => {
    for (const s of l.scores) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(s).toFixed(1)}" r="3" class="cand"><title>${escapeHtml(l.label)}: ${fmt(s)}</title></circle>`);
    parts.push(`<text x="${x(i).toFixed(1)}" y="${height - 12}" text-anchor="middle" class="tick">${escapeHtml(l.label.replace(/^layer /, 'L').replace(/^self-refine /, 'SR'))}</text>`);
  });
  const line = b.layers.map((l, i) => `${x(i).toFixed(1)},${y(l.best).toFixed(1)}`).join(' ');
  parts.push(`<polyline points="${line}" class="best-line"/>`);
  b.layers.forEach((l, i) => parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(l.best).toFixed(1)}" r="4.5" class="best"><title>${escapeHtml(l.label)} best: ${fmt(l.best)}</title></circle>`));
  return `<svg class="entropy-chart" data-block="${b.block}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="entropy scores of block ${b.block + 1}">${parts.join('')}</svg>`;
}

/**
 * Hand-written SVG charts for the performance report: grouped bars and lines with points.
 * Plain strings, no dependencies; text is escaped; sizes fixed so the files diff cleanly.
 */

export interface Series {
  name: string;
  values: (number | null)[];
  /** Lines only: draw dashed (references such as an ideal). */
  dashed?: boolean;
  /** Index into the palette (default: the series' position). */
  color?: number;
}

export interface ChartSpec {
  title: string;
  /** One label per category (bars) or x position (lines). */
  labels: string[];
  series: Series[];
  yLabel: string;
  /** Optional horizontal reference line (e.g. the ideal or 1.0). */
  reference?: { value: number; label: string };
}

const W = 640;
const H = 360;
const M = { top: 40, right: 150, bottom: 50, left: 64 };
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];

const colorOf = (s: Series, i: number) => COLORS[(s.color ?? i) % COLORS.length];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** A "nice" upper bound for the axis (1, 2 or 5 × a power of ten). */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(spec: ChartSpec, yMax: number, body: string[]): string {
  const ph = H - M.top - M.bottom;
  const pw = W - M.left - M.right;
  const y = (v: number) => M.top + ph - (v / yMax) * ph;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  for (let k = 0; k <= 5; k++) {
    const v = (yMax * k) / 5;
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  out.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  out.push(...body);
  if (spec.reference && spec.reference.value <= yMax) {
    const ry = y(spec.reference.value);
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${ry}" y2="${ry}" stroke="#333" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${M.left + pw - 4}" y="${ry - 4}" text-anchor="end">${esc(spec.reference.label)}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`);
  spec.series.forEach((s, i) => {
    const ly = M.top + 10 + i * 18;
    const color = colorOf(s, i);
    out.push(
      s.dashed
        ? `<line x1="${W - M.right + 10}" x2="${W - M.right + 26}" y1="${ly - 3}" y2="${ly - 3}" stroke="${color}" stroke-width="2" stroke-dasharray="4 3"/>`
        : `<rect x="${W - M.right + 12}" y="${ly - 9}" width="12" height="12" fill="${color}"/>`,
    );
    out.push(`<text x="${W - M.right + 30}" y="${ly + 1}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function yMaxOf(spec: ChartSpec): number {
  const vals = spec.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  return niceMax(Math.max(...vals, spec.reference?.value ?? 0, 0) * 1.05);
}

/** Grouped bars: one group per label, one bar per series; values printed on the bars. */
export function barChart(spec: ChartSpec): string {
  const yMax = yMaxOf(spec);
  const ph = H - M.top - M.bottom;
  const pw = W - M.left - M.right;
  const group = pw / Math.max(1, spec.labels.length);
  const bw = (group * 0.8) / Math.max(1, spec.series.length);
  const body: string[] = [];
  spec.labels.forEach((label, g) => {
    const gx = M.left + g * group + group * 0.1;
    spec.series.forEach((s, i) => {
      const v = s.values[g];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const h = (v / yMax) * ph;
      const x = gx + i * bw;
      body.push(`<rect x="${x.toFixed(1)}" y="${(M.top + ph - h).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${colorOf(s, i)}"/>`);
      body.push(`<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${(M.top + ph - h - 3).toFixed(1)}" text-anchor="middle" font-size="9">${fmt(v)}</text>`);
    });
    body.push(`<text x="${(gx + group * 0.4).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${esc(label)}</text>`);
  });
  return frame(spec, yMax, body);
}

/** Lines with points: x positions evenly spaced by label. */
export function lineChart(spec: ChartSpec): string {
  const yMax = yMaxOf(spec);
  const ph = H - M.top - M.bottom;
  const pw = W - M.left - M.right;
  const n = spec.labels.length;
  const x = (i: number) => M.left + (n <= 1 ? pw / 2 : 20 + (i * (pw - 40)) / (n - 1));
  const y = (v: number) => M.top + ph - (v / yMax) * ph;
  const body: string[] = [];
  spec.labels.forEach((label, i) => body.push(`<text x="${x(i).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${esc(label)}</text>`));
  spec.series.forEach((s, k) => {
    const color = colorOf(s, k);
    const pts = s.values.map((v, i) => (v === null || !Number.isFinite(v) ? null : [x(i), y(v)] as const)).filter((p): p is readonly [number, number] => p !== null);
    if (pts.length > 1) body.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`);
    for (const [a, b] of pts) body.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3.5" fill="${color}"/>`);
  });
  return frame(spec, yMax, body);
}

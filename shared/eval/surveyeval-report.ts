/**
 * SurveyEval results: per-survey rows, means per run, mean and spread over runs, and the
 * CSV / Markdown renderings with the published V2 row beside ours. Pure.
 */
import { FREE_METRICS, JUDGE_METRICS, type JudgeMetric, type SurveyScores } from './surveyeval.ts';
import { mean, stdev, type FreeMetrics } from './surveyeval-metrics.ts';

/** Published SurveyEval figures (V2 README, quoted in upstream-v2.md §6; judge presumably Gemini Flash). */
export const PUBLISHED_SURVEYEVAL = {
  source: 'LLM×MapReduce-V2 README, as quoted in upstream-v2.md §6 (judge model presumably Gemini Flash)',
  rows: [
    { method: 'LLM×MapReduce-V2 (published)', values: [95.0, 97.22, 100, 94.34, 71.99, 474.9, 52.23, 95.5, 95.8] },
    { method: 'AutoSurvey (published)', values: [86.0, 93.1, 100, 92.9, 68.39, 423.35, 31.97, 50.12, 51.73] },
  ],
} as const;

export interface SurveyRow {
  run: number;
  entry: number;
  title: string;
  slug: string;
  /** Paths of the survey Markdown and of its evaluation. */
  survey: string;
  evalFile: string;
  generatedNow: boolean;
  evaluatedNow: boolean;
  genWallMs: number | null;
  scores: SurveyScores | null;
  error?: string;
}

type FreeKey = (typeof FREE_METRICS)[number]['key'];
export type Stat = { mean: number | null; sd: number | null; min: number | null; max: number | null };

export interface SurveyEvalSummary {
  judge: string;
  /** extractive: the offline proxies answered; openai: a model (or the simulator, then smoke). */
  judgeEngine: string;
  engine: string;
  entries: number;
  runs: number;
  rows: SurveyRow[];
  /** Per run: the mean over its entries of each metric. */
  perRun: { run: number; judge: Record<JudgeMetric, number | null>; free: Record<FreeKey, number | null> }[];
  /** Over runs: mean of the per-run means, sample standard deviation, min and max. */
  overall: { judge: Record<JudgeMetric, Stat>; free: Record<FreeKey, Stat> };
  failures: number;
  usage: { tasks: number; calls: number; promptTokens: number; completionTokens: number };
  published: typeof PUBLISHED_SURVEYEVAL;
  smoke: boolean;
}

function stat(xs: (number | null)[]): Stat {
  const v = xs.filter((x): x is number => x !== null);
  return { mean: mean(v), sd: stdev(v), min: v.length ? Math.min(...v) : null, max: v.length ? Math.max(...v) : null };
}

export function summarise(rows: SurveyRow[], o: { judge: string; judgeEngine: string; engine: string; entries: number; runs: number; smoke: boolean }): SurveyEvalSummary {
  const runs = [...new Set(rows.map((r) => r.run))].sort((a, b) => a - b);
  const perRun = runs.map((run) => {
    const rs = rows.filter((r) => r.run === run && r.scores);
    const judge = Object.fromEntries(JUDGE_METRICS.map((m) => [m.key, mean(rs.map((r) => r.scores!.metrics[m.key]))])) as Record<JudgeMetric, number | null>;
    const free = Object.fromEntries(FREE_METRICS.map((m) => [m.key, mean(rs.map((r) => r.scores!.free[m.key as keyof FreeMetrics] as number | null))])) as Record<FreeKey, number | null>;
    return { run, judge, free };
  });
  const overall = {
    judge: Object.fromEntries(JUDGE_METRICS.map((m) => [m.key, stat(perRun.map((p) => p.judge[m.key]))])) as Record<JudgeMetric, Stat>,
    free: Object.fromEntries(FREE_METRICS.map((m) => [m.key, stat(perRun.map((p) => p.free[m.key]))])) as Record<FreeKey, Stat>,
  };
  const usage = { tasks: 0, calls: 0, promptTokens: 0, completionTokens: 0 };
  for (const r of rows) {
    const u = r.scores?.usage;
    if (!u) continue;
    usage.tasks += u.tasks;
    usage.calls += u.calls;
    usage.promptTokens += u.promptTokens;
    usage.completionTokens += u.completionTokens;
  }
  const failures = rows.reduce((n, r) => n + (r.error ? 1 : 0) + (r.scores?.failures.length ?? 0), 0);
  return { ...o, rows, perRun, overall, failures, usage, published: PUBLISHED_SURVEYEVAL };
}

const f2 = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(2));
const withSpread = (s: Stat) => (s.mean === null ? 'n/a' : s.sd === null ? f2(s.mean) : `${f2(s.mean)} ± ${f2(s.sd)}`);

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'number' ? String(Math.round(v * 1e4) / 1e4) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line per survey, then one per run mean, then the mean and the spread over runs. */
export function toCsv(s: SurveyEvalSummary): string {
  const judgeCols = JUDGE_METRICS.map((m) => m.key);
  const freeCols = ['citationValidity', 'invalidCitations', 'sourceCoverage', 'sectionBalance', 'words', 'sections', 'claims', 'precisionProxy', 'recallProxy', 'faithfulnessProxy'] as const;
  const head = ['row', 'run', 'entry', 'title', ...judgeCols, ...freeCols, 'failures', 'judge', 'error'];
  const lines = [head.join(',')];
  for (const r of s.rows) {
    const sc = r.scores;
    lines.push(
      [
        'survey', r.run, r.entry, r.title,
        ...judgeCols.map((k) => sc?.metrics[k]),
        ...freeCols.map((k) => sc?.free[k]),
        sc?.failures.length ?? '', s.judge, r.error ?? '',
      ].map(csvCell).join(','),
    );
  }
  const agg = (row: string, run: string, j: (k: JudgeMetric) => number | null, fr: (k: string) => number | null) =>
    [row, run, '', '', ...judgeCols.map(j), ...freeCols.map(fr), '', s.judge, ''].map(csvCell).join(',');
  for (const p of s.perRun) lines.push(agg('run-mean', String(p.run), (k) => p.judge[k], (k) => (p.free as Record<string, number | null>)[k] ?? null));
  const free = s.overall.free as Record<string, Stat>;
  lines.push(agg('mean', 'all', (k) => s.overall.judge[k].mean, (k) => free[k]?.mean ?? null));
  lines.push(agg('sd', 'all', (k) => s.overall.judge[k].sd, (k) => free[k]?.sd ?? null));
  return `${lines.join('\n')}\n`;
}

/** The Markdown report: our row (mean ± sd over runs) under the published rows, then the judge-free table. */
export function toMarkdown(s: SurveyEvalSummary): string {
  const cols = JUDGE_METRICS.map((m) => m.column);
  const ours = `ours: ${s.engine} surveys, ${s.entries} entr${s.entries === 1 ? 'y' : 'ies'} × ${s.runs} run(s)`;
  const out = [
    `# SurveyEval${s.smoke ? ' — SMOKE RUN' : s.judgeEngine === 'extractive' ? ' — offline proxies, no judge model' : ''}`,
    '',
    ...(s.smoke
      ? ['**Smoke run: the judge is not a language model reading the surveys, so these numbers test the pipeline and say nothing about quality.**', '']
      : []),
    `Judge: ${s.judge}.`,
    '',
    `| method | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
    ...s.published.rows.map((r) => `| ${r.method} | ${r.values.map((v) => v.toFixed(2)).join(' | ')} |`),
    `| **${ours}** | ${JUDGE_METRICS.map((m) => withSpread(s.overall.judge[m.key])).join(' | ')} |`,
    '',
    `Published rows: ${s.published.source}. Ours: mean over runs of the per-run mean over entries, ± the sample standard deviation over runs (none with one run). They compare only with the same entries and a comparable judge model.`,
    '',
    '## Judge-free checks',
    '',
    `| run | ${FREE_METRICS.map((m) => m.column).join(' | ')} |`,
    `|---|${FREE_METRICS.map(() => '---:').join('|')}|`,
    ...s.perRun.map((p) => `| ${p.run} | ${FREE_METRICS.map((m) => f2(p.free[m.key])).join(' | ')} |`),
    `| mean ± sd | ${FREE_METRICS.map((m) => withSpread(s.overall.free[m.key])).join(' | ')} |`,
    '',
    `Judge tasks ${s.usage.tasks}, model calls ${s.usage.calls}, tokens ${s.usage.promptTokens} in / ${s.usage.completionTokens} out; failed judgements or surveys: ${s.failures}.`,
  ];
  const errors = s.rows.filter((r) => r.error);
  if (errors.length) out.push('', ...errors.map((r) => `- run ${r.run}, entry ${r.entry} (${r.title}): ${r.error}`));
  return `${out.join('\n')}\n`;
}

/**
 * Offline checks of the alerts and the Grafana dashboard in deploy/k8s/base/monitoring: the
 * PrometheusRule's structure, every metric an alert or a panel reads is one that something we
 * deploy exports, and (when Debian's `prometheus` package is installed) `promtool check rules`
 * and `promtool test rules` on the rule groups.
 *
 * Metric names are found in PromQL with a small scanner (strings, label matchers, ranges and
 * grouping clauses removed; identifiers not followed by "(" that are not keywords are metric
 * names): enough for the expressions we write, and it fails loudly by reporting a name it does
 * not know rather than missing one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { createMetrics } from '../../shared/obs/metrics.ts';
import { id, type Json, type K8sObject } from './k8s-base.ts';

/**
 * Metrics of the prometheus-nats-exporter sidecar run with `-jsz=all` (see nats.yaml): the
 * JetStream server, stream and consumer gauges of its jsz collector (exporter 0.15).
 */
export const NATS_EXPORTER_METRICS = [
  'jetstream_server_jetstream_disabled',
  'jetstream_server_total_streams',
  'jetstream_server_total_consumers',
  'jetstream_server_total_messages',
  'jetstream_server_total_message_bytes',
  'jetstream_server_max_memory',
  'jetstream_server_max_storage',
  'jetstream_stream_total_messages',
  'jetstream_stream_total_bytes',
  'jetstream_stream_first_seq',
  'jetstream_stream_last_seq',
  'jetstream_stream_consumer_count',
  'jetstream_consumer_delivered_consumer_seq',
  'jetstream_consumer_delivered_stream_seq',
  'jetstream_consumer_num_ack_pending',
  'jetstream_consumer_num_redelivered',
  'jetstream_consumer_num_waiting',
  'jetstream_consumer_num_pending',
  'jetstream_consumer_ack_floor_stream_seq',
  'jetstream_consumer_ack_floor_consumer_seq',
] as const;

/** Series every Prometheus target has, whatever it exports. */
const SCRAPE_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'];

/** Every series name our services expose (histograms as _bucket, _sum and _count), read from a real registry. */
export async function ourMetricNames(): Promise<Set<string>> {
  const m = createMetrics();
  const out = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    const type = String(metric.type); // a string at run time, whatever the declarations say
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(metric.name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) out.add(metric.name + s);
    else out.add(metric.name);
  }
  return out;
}

export async function exportedMetricNames(): Promise<Set<string>> {
  return new Set([...(await ourMetricNames()), ...NATS_EXPORTER_METRICS, ...SCRAPE_SERIES]);
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'atan2', 'inf', 'nan', 'start', 'end']);

/** Metric names a PromQL expression reads (Grafana's $variables are treated as opaque). */
export function promqlMetricNames(expr: string): string[] {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out = new Set<string>();
  for (const m of s.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(?=\s*(\(?))/g)) {
    const name = m[1];
    const isCall = m[2] === '(';
    if (isCall || KEYWORDS.has(name.toLowerCase())) continue;
    out.add(name);
  }
  return [...out];
}

/** Names in `exprs` that nothing exports, as problems naming where each was used. */
export function unknownMetricProblems(where: string, exprs: string[], exported: Set<string>): string[] {
  const out: string[] = [];
  for (const e of exprs) {
    for (const name of promqlMetricNames(e)) {
      if (!exported.has(name)) out.push(`${where}: metric "${name}" is not exported by our services or the NATS exporter (in: ${e.replace(/\s+/g, ' ').trim()})`);
    }
  }
  return out;
}

const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

/** Rule groups of a PrometheusRule: names, alert/record, expr, durations, severity and summary. */
export function prometheusRuleProblems(o: K8sObject): string[] {
  const out: string[] = [];
  const groups: Json[] = (o as Json).spec?.groups ?? [];
  if (!Array.isArray(groups) || groups.length === 0) out.push('spec.groups needs at least one group');
  const groupNames = new Set<string>();
  groups.forEach((g, gi) => {
    const at = `spec.groups[${gi}]`;
    if (typeof g?.name !== 'string' || !g.name) out.push(`${at}.name is required`);
    else if (groupNames.has(g.name)) out.push(`${at}: group name "${g.name}" is used twice`);
    else groupNames.add(g.name);
    if (!Array.isArray(g?.rules) || g.rules.length === 0) out.push(`${at}.rules needs at least one rule`);
    (g?.rules ?? []).forEach((r: Json, ri: number) => {
      const rat = `${at}.rules[${ri}]`;
      if ((r.alert === undefined) === (r.record === undefined)) out.push(`${rat} needs exactly one of alert and record`);
      if (typeof r.expr !== 'string' || !r.expr.trim()) out.push(`${rat}.expr is required`);
      if (r.for !== undefined && !DURATION.test(String(r.for))) out.push(`${rat}.for "${r.for}" is not a duration`);
      if (r.alert !== undefined) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(r.alert))) out.push(`${rat}: alert name "${r.alert}" is invalid`);
        if (!['critical', 'warning', 'info'].includes(r.labels?.severity)) out.push(`${rat} (${r.alert}): labels.severity must be critical, warning or info`);
        if (typeof r.annotations?.summary !== 'string') out.push(`${rat} (${r.alert}): annotations.summary is required`);
      }
    });
  });
  return out.map((p) => `${id(o)}: ${p}`);
}

/** Every expression of a PrometheusRule. */
export function ruleExprs(o: K8sObject): string[] {
  return ((o as Json).spec?.groups ?? []).flatMap((g: Json) => (g.rules ?? []).map((r: Json) => String(r.expr ?? '')));
}

export interface Panel {
  title?: string;
  type?: string;
  id?: number;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: { expr?: string; refId?: string }[];
}

/** A dashboard's JSON text: parses, has a uid and title, panels with unique ids that fit the grid and have queries. */
export function dashboardProblems(where: string, text: string): { problems: string[]; exprs: string[] } {
  let d: Json;
  try {
    d = JSON.parse(text) as Json;
  } catch (e) {
    return { problems: [`${where}: not valid JSON (${(e as Error).message})`], exprs: [] };
  }
  const problems: string[] = [];
  if (typeof d.uid !== 'string' || !d.uid) problems.push(`${where}: uid is required`);
  if (typeof d.title !== 'string' || !d.title) problems.push(`${where}: title is required`);
  const panels: Panel[] = Array.isArray(d.panels) ? d.panels : [];
  if (panels.length === 0) problems.push(`${where}: has no panels`);
  const ids = new Set<number>();
  const exprs: string[] = [];
  for (const p of panels) {
    const at = `${where}: panel "${p.title}"`;
    if (typeof p.id !== 'number' || ids.has(p.id)) problems.push(`${at}: id must be a unique number`);
    else ids.add(p.id);
    const g = p.gridPos;
    if (!g || g.x < 0 || g.w <= 0 || g.x + g.w > 24) problems.push(`${at}: gridPos must fit the 24 columns`);
    if (p.type === 'row') continue;
    if (!p.targets?.length) problems.push(`${at}: has no queries`);
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== 'string' || !t.expr.trim()) problems.push(`${at}: query ${t.refId} has no expr`);
      else exprs.push(t.expr);
    }
  }
  return { problems, exprs };
}

/** Grafana's variables replaced by values Prometheus accepts, to check a panel query with promtool. */
export function grafanaToPromql(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\$\{?\w+\}?/g, '.*');
}

// ---------------------------------------------------------------------------------------------
// promtool (Debian's `prometheus` package)

export function promtoolAvailable(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

export interface PromtoolRun {
  ok: boolean;
  output: string;
}

/**
 * Runs `promtool <args…>` in a temporary folder holding `files` (name → content); file names
 * in args are relative to that folder.
 */
export function promtool(args: string[], files: Record<string, string>): PromtoolRun {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmxmr-promtool-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
    const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rule file Prometheus itself would load from a PrometheusRule (its spec). */
export function ruleFileOf(o: K8sObject): string {
  return toYaml({ groups: (o as Json).spec?.groups ?? [] });
}

/** A rule file with one recording rule per expression (to have promtool parse panel queries). */
export function recordingRulesOf(exprs: string[]): string {
  return toYaml({ groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: grafanaToPromql(e) })) }] });
}

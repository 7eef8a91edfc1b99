/**
 * The alerts and the Grafana dashboard shipped in deploy/k8s/base/monitoring: every metric
 * they read is one our services or the NATS exporter export; the rules pass `promtool check
 * rules`; each alert fires on a synthetic history of the trouble it names and stays silent on
 * a healthy one (`promtool test rules`); the dashboard is valid JSON in a ConfigMap Grafana's
 * sidecar loads, and its queries parse.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { REPO_ROOT, kubectlAvailable, kustomizeBuild, parseStream, schemaProblems, unknownKeyProblems, type K8sObject } from '../helpers/k8s-checks.ts';
import {
  dashboardProblems,
  exportedMetricNames,
  promqlMetricNames,
  prometheusRuleProblems,
  promtool,
  promtoolAvailable,
  recordingRulesOf,
  ruleExprs,
  ruleFileOf,
  unknownMetricProblems,
} from '../helpers/k8s-monitoring.ts';

const DIR = path.join(REPO_ROOT, 'deploy/k8s/base/monitoring');
const rule = parseYaml(readFileSync(path.join(DIR, 'prometheusrule.yaml'), 'utf8')) as K8sObject & { spec: { groups: { rules: Record<string, any>[] }[] } }; // eslint-disable-line @typescript-eslint/no-explicit-any
const dashboardText = readFileSync(path.join(DIR, 'dashboard.json'), 'utf8');

const HAVE_PROMTOOL = promtoolAvailable();
if (!HAVE_PROMTOOL) {
  console.warn(
    '\n[k8s-alerts] NOTICE: promtool is not installed (Debian package "prometheus"); `promtool check rules` and the ' +
      'alert unit tests are SKIPPED. Metric names and rule structure are still checked.\n',
  );
}

describe('alerts (PrometheusRule)', () => {
  it('has the alerts operators need, each well-formed', () => {
    expect(prometheusRuleProblems(rule)).toEqual([]);
    expect(schemaProblems(rule)).toEqual([]);
    expect(unknownKeyProblems(rule)).toEqual([]);
    const alerts = new Set(rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert)));
    for (const a of ['LlmxmrDeadLettersGrowing', 'LlmxmrConsumerLag', 'LlmxmrJobsFailing', 'LlmxmrNoWorker', 'LlmxmrJetStreamStorageHigh', 'LlmxmrModelErrorRate']) {
      expect(alerts, a).toContain(a);
    }
    const noWorkerKinds = rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.alert === 'LlmxmrNoWorker').map((r) => r.labels.kind);
    expect(noWorkerKinds.sort()).toEqual(['convolver', 'coordinator', 'mapper', 'reducer']);
  });

  it('reads only metrics that our services or the NATS exporter export', async () => {
    const exported = await exportedMetricNames();
    const exprs = ruleExprs(rule);
    expect(exprs.length).toBeGreaterThan(5);
    expect(unknownMetricProblems('PrometheusRule/llmxmr-alerts', exprs, exported)).toEqual([]);
    // both sources are really used
    const used = exprs.flatMap(promqlMetricNames);
    expect(used.some((n) => n.startsWith('llmxmr_'))).toBe(true);
    expect(used.some((n) => n.startsWith('jetstream_'))).toBe(true);
  });

  it.skipIf(!HAVE_PROMTOOL)('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': ruleFileOf(rule) });
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.ok, r.output).toBe(true);
  });

  it.skipIf(!HAVE_PROMTOOL)('fires each alert on the trouble it names, and not on a healthy cluster (promtool test rules)', () => {
    // Annotations are checked by `check rules` (templates); the unit tests compare labels only.
    const bare = { groups: rule.spec.groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }) => r) })) };
    const ns = 'namespace="llmxmr"';
    const tests = [
      {
        name: 'dead letters',
        input_series: [
          { series: `jetstream_stream_total_messages{${ns},server_name="nats-0",stream_name="MR_DLQ"}`, values: '0+1x40' },
          { series: `jetstream_stream_total_messages{${ns},server_name="nats-0",stream_name="OTHER_DLQ"}`, values: '7+0x40' },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'LlmxmrDeadLettersGrowing', exp_alerts: [] },
          { eval_time: '30m', alertname: 'LlmxmrDeadLettersGrowing', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'llmxmr', stream_name: 'MR_DLQ' } }] },
        ],
      },
      {
        name: 'consumer lag',
        input_series: [
          { series: `jetstream_consumer_num_pending{${ns},server_name="nats-0",stream_name="MR_TASKS",consumer_name="mapper"}`, values: '600+0x40' },
          { series: `jetstream_consumer_num_pending{${ns},server_name="nats-1",stream_name="MR_TASKS",consumer_name="mapper"}`, values: '590+0x40' },
          { series: `jetstream_consumer_num_pending{${ns},server_name="nats-0",stream_name="MR_TASKS",consumer_name="reducer"}`, values: '100+0x40' },
        ],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'LlmxmrConsumerLag', exp_alerts: [] },
          { eval_time: '20m', alertname: 'LlmxmrConsumerLag', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'llmxmr', stream_name: 'MR_TASKS', consumer_name: 'mapper' } }] },
        ],
      },
      {
        name: 'storage',
        input_series: [
          { series: `jetstream_server_total_message_bytes{${ns},server_name="nats-0"}`, values: '85+0x30' },
          { series: `jetstream_server_max_storage{${ns},server_name="nats-0"}`, values: '100+0x30' },
          { series: `jetstream_server_total_message_bytes{${ns},server_name="nats-1"}`, values: '50+0x30' },
          { series: `jetstream_server_max_storage{${ns},server_name="nats-1"}`, values: '100+0x30' },
        ],
        alert_rule_test: [
          { eval_time: '20m', alertname: 'LlmxmrJetStreamStorageHigh', exp_alerts: [{ exp_labels: { severity: 'critical', namespace: 'llmxmr', server_name: 'nats-0' } }] },
        ],
      },
      {
        name: 'jobs failing',
        input_series: [
          { series: `llmxmr_jobs_finished_total{${ns},pod="c1",state="failed"}`, values: '0+1x60' },
          { series: `llmxmr_jobs_finished_total{${ns},pod="c1",state="succeeded"}`, values: '0+1x60' },
          { series: `llmxmr_jobs_finished_total{namespace="calm",pod="c2",state="failed"}`, values: '0+0x60' },
          { series: `llmxmr_jobs_finished_total{namespace="calm",pod="c2",state="succeeded"}`, values: '0+5x60' },
        ],
        alert_rule_test: [
          { eval_time: '45m', alertname: 'LlmxmrJobsFailing', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'llmxmr' } }] },
        ],
      },
      {
        name: 'no worker of a kind',
        input_series: ['coordinator', 'convolver', 'reducer'].map((k) => ({ series: `llmxmr_nats_connected{${ns},app_kubernetes_io_name="${k}",pod="${k}-1"}`, values: '1+0x30' })),
        alert_rule_test: [
          { eval_time: '2m', alertname: 'LlmxmrNoWorker', exp_alerts: [] },
          { eval_time: '10m', alertname: 'LlmxmrNoWorker', exp_alerts: [{ exp_labels: { severity: 'critical', kind: 'mapper' } }] },
        ],
      },
      {
        name: 'model errors',
        input_series: [
          { series: `llmxmr_model_errors_total{${ns},endpoint="vllm:8000",model="bad",reason="server"}`, values: '0+30x60' },
          { series: `llmxmr_model_request_duration_seconds_count{${ns},endpoint="vllm:8000",model="bad"}`, values: '0+60x60' },
          { series: `llmxmr_model_errors_total{${ns},endpoint="vllm:8000",model="good",reason="timeout"}`, values: '0+1x60' },
          { series: `llmxmr_model_request_duration_seconds_count{${ns},endpoint="vllm:8000",model="good"}`, values: '0+600x60' },
        ],
        alert_rule_test: [
          { eval_time: '30m', alertname: 'LlmxmrModelErrorRate', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'llmxmr', model: 'bad' } }] },
        ],
      },
    ];
    const suite = { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: tests.map((t) => ({ interval: '1m', ...t })) };
    const r = promtool(['test', 'rules', 'tests.yaml'], { 'rules.yaml': toYaml(bare), 'tests.yaml': toYaml(suite) });
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/SUCCESS/);
  });
});

describe('Grafana dashboard', () => {
  it('is valid JSON with panels for jobs, tasks, latency, models, slots and storage', () => {
    const { problems, exprs } = dashboardProblems('dashboard.json', dashboardText);
    expect(problems).toEqual([]);
    const titles = (JSON.parse(dashboardText).panels as { title: string }[]).map((p) => p.title.toLowerCase()).join(' | ');
    for (const want of ['jobs', 'tasks per second', 'latency', 'tokens', 'errors', 'slots busy', 'storage']) expect(titles).toContain(want);
    expect(exprs.length).toBeGreaterThan(12);
  });

  it('queries only metrics that our services or the NATS exporter export', async () => {
    const { exprs } = dashboardProblems('dashboard.json', dashboardText);
    expect(unknownMetricProblems('dashboard.json', exprs, await exportedMetricNames())).toEqual([]);
  });

  it.skipIf(!HAVE_PROMTOOL)('has queries that Prometheus parses (promtool, Grafana variables substituted)', () => {
    const { exprs } = dashboardProblems('dashboard.json', dashboardText);
    const r = promtool(['check', 'rules', 'dashboard.yaml'], { 'dashboard.yaml': recordingRulesOf(exprs) });
    expect(r.ok, r.output).toBe(true);
  });

  it.skipIf(!kubectlAvailable())('ships in the prod overlay with the alerts, as a ConfigMap the Grafana sidecar loads', () => {
    const objs = parseStream(kustomizeBuild(path.join(REPO_ROOT, 'deploy/k8s/overlays/prod')));
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'llmxmr-grafana-dashboard') as K8sObject & { data: Record<string, string> };
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['llmxmapreduce.json']).uid).toBe('llmxmr-overview');
    const rendered = objs.filter((o) => o.kind === 'PrometheusRule');
    expect(rendered.map((o) => o.metadata.name)).toEqual(['llmxmr-alerts']);
    expect(rendered[0].metadata.namespace).toBe('llmxmr');
  }, 60_000);
});

describe('each monitoring check catches a broken input', () => {
  it('the PromQL scanner finds metric names and skips functions, keywords, labels and variables', () => {
    const names = promqlMetricNames(
      'sum by (kind, le) (rate(foo_total{a="b",c=~"x|y"}[5m])) / on (kind) group_left bar_seconds offset 5m and ignoring(x) baz > bool 0 or vector(0) unless $x{q="z"}',
    );
    expect(names.sort()).toEqual(['bar_seconds', 'baz', 'foo_total']);
  });

  it('an alert or panel that reads a metric nobody exports is reported', async () => {
    const exported = await exportedMetricNames();
    expect(unknownMetricProblems('x', ['rate(llmxmr_tasks_procesed_total[5m])'], exported).join('\n')).toMatch(/"llmxmr_tasks_procesed_total" is not exported/);
    expect(unknownMetricProblems('x', ['rate(llmxmr_tasks_processed_total[5m])'], exported)).toEqual([]);
  });

  it('a rule without severity, with a bad duration, or with both alert and record is reported', () => {
    const bad: K8sObject = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'r' },
      spec: { groups: [{ name: 'g', rules: [{ alert: 'A', record: 'b', expr: 'up', for: '5 minutes', annotations: { summary: 's' } }] }] },
    };
    const problems = prometheusRuleProblems(bad).join('\n');
    expect(problems).toMatch(/exactly one of alert and record/);
    expect(problems).toMatch(/"5 minutes" is not a duration/);
    expect(problems).toMatch(/labels.severity/);
    (bad as any).spec.groups[0].rules[0].exprr = 'up'; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(unknownKeyProblems(bad).join('\n')).toMatch(/unknown key "spec.groups\[0\].rules\[0\].exprr"/);
  });

  it('a dashboard that is not JSON, or has overlapping ids and panels without queries, is reported', () => {
    expect(dashboardProblems('d', '{"panels": [').problems.join('\n')).toMatch(/not valid JSON/);
    const d = { uid: 'u', title: 't', panels: [{ id: 1, title: 'a', type: 'timeseries', gridPos: { h: 8, w: 12, x: 16, y: 0 }, targets: [] }, { id: 1, title: 'b', type: 'timeseries', gridPos: { h: 8, w: 12, x: 0, y: 0 }, targets: [{ refId: 'A', expr: 'up' }] }] };
    const problems = dashboardProblems('d', JSON.stringify(d)).problems.join('\n');
    expect(problems).toMatch(/panel "a": gridPos must fit/);
    expect(problems).toMatch(/panel "a": has no queries/);
    expect(problems).toMatch(/panel "b": id must be a unique number/);
  });

  it.skipIf(!HAVE_PROMTOOL)('promtool rejects an expression that does not parse, and an alert that never fires fails its unit test', () => {
    const broken = promtool(['check', 'rules', 'r.yaml'], { 'r.yaml': recordingRulesOf(['sum(rate(foo[5m])']) });
    expect(broken.ok).toBe(false);
    expect(broken.output).toMatch(/parse error|unclosed/i);
    const rules = toYaml({ groups: [{ name: 'g', rules: [{ alert: 'Never', expr: 'up > 2', labels: { severity: 'info' } }] }] });
    const tests = toYaml({ rule_files: ['r.yaml'], tests: [{ interval: '1m', input_series: [{ series: 'up{job="x"}', values: '1+0x10' }], alert_rule_test: [{ eval_time: '5m', alertname: 'Never', exp_alerts: [{ exp_labels: { severity: 'info', job: 'x' } }] }] }] });
    expect(promtool(['test', 'rules', 't.yaml'], { 'r.yaml': rules, 't.yaml': tests }).ok).toBe(false);
  });
});

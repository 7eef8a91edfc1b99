/** Metrics registry helpers and the /metrics, /healthz, /readyz server. */
import { afterEach, describe, expect, it } from 'vitest';
import { clampLabel, createMetrics, endpointLabel } from '../../shared/obs/metrics.ts';
import { startHealthServer, startHealthServerFromEnv, type HealthServer } from '../../shared/obs/health.ts';

const open: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function value(m: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}) {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  const match = (metric.values as { labels: Record<string, string | number>; value: number; metricName?: string }[]).find(
    (v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return match?.value;
}

describe('createMetrics', () => {
  it('counts tasks per op and kind, times them and tracks in-flight work', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const t = m.startTask('digest', 'map');
    expect(await value(m, 'llmxmr_tasks_in_flight', { kind: 'map', op: 'digest' })).toBe(1);
    t.done();
    t.done(); // a second settle is ignored
    expect(await value(m, 'llmxmr_tasks_in_flight', { kind: 'map', op: 'digest' })).toBe(0);
    expect(await value(m, 'llmxmr_tasks_processed_total', { kind: 'map', op: 'digest' })).toBe(1);

    m.taskDone('merge', 'reduce', 2.5);
    m.taskFailed('merge', 'reduce', 'transient', 1);
    m.taskFailed('merge', 'reduce', 'exhausted');
    m.taskRedelivered('merge', 'reduce');
    expect(await value(m, 'llmxmr_tasks_failed_total', { op: 'merge', reason: 'transient' })).toBe(1);
    expect(await value(m, 'llmxmr_tasks_failed_total', { op: 'merge', reason: 'exhausted' })).toBe(1);
    expect(await value(m, 'llmxmr_tasks_redelivered_total', { op: 'merge', kind: 'reduce' })).toBe(1);

    const text = await m.registry.metrics();
    expect(text).toMatch(/llmxmr_task_duration_seconds_bucket\{le="5",kind="reduce",op="merge",outcome="ok"\} 1/);
    expect(text).toMatch(/llmxmr_task_duration_seconds_count\{kind="reduce",op="merge",outcome="failed"\} 1/);
  });

  it('records model latency, tokens, errors and cost per endpoint without leaking URLs', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.modelCall({
      endpoint: 'http://user:secret@10.0.0.7:8000/v1?key=x',
      model: 'qwen',
      seconds: 1.2,
      promptTokens: 100,
      completionTokens: 20,
      costDollars: 0.001,
    });
    m.modelError({ endpoint: 'http://10.0.0.7:8000/v1', model: 'qwen', reason: 'rate_limited' });
    m.modelCacheHit('qwen');
    expect(await value(m, 'llmxmr_model_tokens_total', { endpoint: '10.0.0.7:8000', type: 'prompt' })).toBe(100);
    expect(await value(m, 'llmxmr_model_tokens_total', { endpoint: '10.0.0.7:8000', type: 'completion' })).toBe(20);
    expect(await value(m, 'llmxmr_model_errors_total', { reason: 'rate_limited' })).toBe(1);
    expect(await value(m, 'llmxmr_model_cost_dollars_total', { model: 'qwen' })).toBeCloseTo(0.001);
    expect(await value(m, 'llmxmr_model_cache_hits_total', { model: 'qwen' })).toBe(1);
    const text = await m.registry.metrics();
    expect(text).not.toContain('secret');
    expect(text).toMatch(/llmxmr_model_request_duration_seconds_count\{endpoint="10.0.0.7:8000",model="qwen"\} 1/);
  });

  it('reports jobs by state, NATS connectivity and build info', async () => {
    const m = createMetrics({ defaultMetrics: false, version: '1.2.3' });
    expect(await value(m, 'llmxmr_jobs', { state: 'running' })).toBe(0);
    m.setJobs('running', 3);
    m.setJobCounts({ queued: 2 });
    expect(await value(m, 'llmxmr_jobs', { state: 'running' })).toBe(0);
    expect(await value(m, 'llmxmr_jobs', { state: 'queued' })).toBe(2);
    m.jobFinished('succeeded');
    expect(await value(m, 'llmxmr_jobs_finished_total', { state: 'succeeded' })).toBe(1);
    m.setNatsConnected(true);
    expect(await value(m, 'llmxmr_nats_connected')).toBe(1);
    expect(await value(m, 'llmxmr_build_info', { version: '1.2.3' })).toBe(1);
    const own = createMetrics({ defaultMetrics: false });
    expect(await value(own, 'llmxmr_build_info')).toBe(1);
    expect(await own.registry.metrics()).toMatch(/llmxmr_build_info\{version="\d+\.\d+\.\d+",node="v\d+/);
  });

  it('keeps registries apart and includes process metrics by default', async () => {
    const a = createMetrics();
    const b = createMetrics({ defaultMetrics: false });
    a.taskDone('x', 'map', 1);
    expect(await value(b, 'llmxmr_tasks_processed_total', { op: 'x' })).toBeUndefined();
    expect(await a.registry.metrics()).toContain('process_cpu_user_seconds_total');
    expect(await b.registry.metrics()).not.toContain('process_cpu_user_seconds_total');
  });

  it('bounds label values', () => {
    expect(clampLabel('a'.repeat(100))).toHaveLength(64);
    expect(clampLabel('')).toBe('unknown');
    expect(clampLabel('op\nname')).toBe('op?name');
    expect(endpointLabel('not a url')).toBe('not a url');
    expect(endpointLabel('https://api.openai.com/v1')).toBe('api.openai.com');
  });
});

describe('startHealthServer', () => {
  it('serves /metrics, /healthz and /readyz with the reason when not ready', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.taskDone('digest', 'map', 0.2);
    let ready: boolean | { ready: boolean; reason?: string } = { ready: false, reason: 'connecting to NATS' };
    const s = await startHealthServer({ port: 0, host: '127.0.0.1', registry: m.registry, ready: () => ready });
    open.push(s);
    expect(s.port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${s.port}`;

    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);

    let r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('connecting to NATS');
    ready = true;
    r = await fetch(`${base}/readyz?verbose`);
    expect(r.status).toBe(200);
    ready = false;
    r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('not ready');

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('llmxmr_tasks_processed_total{kind="map",op="digest"} 1');

    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/healthz`, { method: 'HEAD' })).status).toBe(200);
  });

  it('treats a throwing readiness check as not ready', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const s = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: m.registry,
      ready: () => {
        throw new Error('boom');
      },
    });
    open.push(s);
    const r = await fetch(`http://127.0.0.1:${s.port}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('boom');
  });

  it('closes, fails on a busy port, and stays off with METRICS_PORT=0', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const s = await startHealthServer({ port: 0, host: '127.0.0.1', registry: m.registry, ready: () => true });
    await expect(
      startHealthServer({ port: s.port, host: '127.0.0.1', registry: m.registry, ready: () => true }),
    ).rejects.toThrow(/EADDRINUSE/);
    await s.close();
    await s.close(); // idempotent
    await expect(fetch(`http://127.0.0.1:${s.port}/healthz`)).rejects.toThrow();

    expect(await startHealthServerFromEnv(0, { registry: m.registry, ready: () => true })).toBeUndefined();
  });
});

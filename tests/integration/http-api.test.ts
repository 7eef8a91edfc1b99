/**
 * The HTTP API over a real cluster (NATS at 127.0.0.1:4222, every role in-process, the offline
 * engine), driven with Fastify's inject: auth, errors with a clear `error`, submission of inline
 * and full specs, status with stages and usage, results, SSE order and resumption, cluster view,
 * dead letters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { until, type TestCluster } from '../helpers/cluster.ts';
import { gatewayCluster, type GatewayCluster } from '../helpers/gateway.ts';
import { buildGateway } from '../../services/gateway/server.ts';
import { Registry } from 'prom-client';
import { deadLetter } from '../../shared/bus/dlq.ts';
import { encode } from '../../shared/protocol/codec.ts';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A short document for V1 jobs (written for this test). */
const DOCUMENT = Array.from({ length: 40 }, (_, i) =>
  i === 23
    ? 'The lighthouse keeper on the northern island was named Ilse Marrow, and she kept the lamp burning for thirty winters.'
    : `Paragraph ${i + 1} describes the tides, the gulls and the weather on the coast, with nothing about who kept the light.`,
).join('\n\n');

let g: GatewayCluster;
let cluster: TestCluster;
let app: FastifyInstance;

beforeAll(async () => {
  g = await gatewayCluster({ token: TOKEN, keepAliveMs: 60_000 });
  ({ cluster, app } = g);
}, 60_000);
afterAll(async () => g?.close());

async function waitDone(jobId: string) {
  return until(`job ${jobId} to end`, async () => {
    const r = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}`, headers: auth });
    const j = r.json();
    return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
  }, 90_000);
}

/** SSE frames of a finished stream: `id` and the parsed event. */
function frames(body: string): { id: number; event: Record<string, any> }[] {
  return body
    .split('\n\n')
    .filter((f) => f.includes('data: '))
    .map((f) => {
      const id = Number(/^id: (\d+)$/m.exec(f)?.[1]);
      const data = /^data: (.*)$/m.exec(f)![1];
      return { id, event: JSON.parse(data) };
    });
}

describe('access', () => {
  it('refuses every API route without the bearer token, and with a wrong one', async () => {
    for (const url of ['/api/jobs', '/api/cluster', '/api/dlq', '/api/health']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(401);
      expect(r.json().error).toMatch(/bearer token/i);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    const wrong = await app.inject({ method: 'GET', url: '/api/jobs', headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error).toBe('wrong bearer token');
  });

  it('answers health with the NATS connection state', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/health', headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ok: true, nats: 'connected' });
  });
});

describe('metrics', () => {
  it('counts requests by route template and status in the process registry', async () => {
    const registry = new Registry();
    const counted = await buildGateway({ bus: cluster.bus, registry });
    try {
      await counted.inject({ method: 'GET', url: '/api/jobs/unknown-1' });
      await counted.inject({ method: 'GET', url: '/api/jobs/unknown-2' });
      const text = await registry.metrics();
      expect(text).toMatch(/llmxmr_http_requests_total\{route="\/api\/jobs\/:id",method="GET",status="404"\} 2/);
      expect(text).toMatch(/llmxmr_http_request_duration_seconds_count\{route="\/api\/jobs\/:id",method="GET",status="404"\} 2/);
    } finally {
      await counted.close();
    }
  });
});

describe('bad requests', () => {
  it('refuses malformed JSON with 400 and says so', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"pipeline": "v1",' });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatch(/not valid JSON/);
    const form = await app.inject({ method: 'POST', url: '/api/jobs', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'pipeline=v1' });
    expect(form.statusCode).toBe(415);
    expect(form.json().error).toBe('unsupported content type "application/x-www-form-urlencoded": send the body as application/json');
  });

  it('refuses a body above the limit with 413 and names the limit', async () => {
    const small = await buildGateway({ bus: cluster.bus, token: TOKEN, bodyLimitBytes: 4096 });
    try {
      const payload = JSON.stringify({ pipeline: 'v1', document: 'x'.repeat(10_000), question: 'q?' });
      const r = await small.inject({ method: 'POST', url: '/api/jobs', headers: { ...auth, 'content-type': 'application/json' }, payload });
      expect(r.statusCode).toBe(413);
      expect(r.json().error).toMatch(/larger than the 4 KiB limit/);
    } finally {
      await small.close();
    }
  });

  it('answers 404 for an unknown job on every job route, and 400 for an invalid id', async () => {
    for (const [method, url] of [['GET', '/api/jobs/nope-123'], ['GET', '/api/jobs/nope-123/result'], ['GET', '/api/jobs/nope-123/events'], ['POST', '/api/jobs/nope-123/cancel']] as const) {
      const r = await app.inject({ method, url, headers: auth });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error).toMatch(/no job nope-123/);
    }
    const bad = await app.inject({ method: 'GET', url: '/api/jobs/has%20space', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/invalid job id/);
  });

  it('refuses invalid specs and records with the problem named', async () => {
    const cases: [unknown, RegExp][] = [
      [{ pipeline: 'v1', document: 'text', question: '' }, /question: the question is empty/],
      [{ pipeline: 'v2', record: [{ title: 'x' }] }, /found an array|is a JSON array/],
      [{ pipeline: 'v2', record: { title: 'T', papers: [{ title: 'a' }] } }, /no paper with text/],
      [{ pipeline: 'v2', record: { title: 'T', papers: [{ title: 'a', txt: 'some text' }] }, params: { groupsize: 3 } }, /groupsize/],
      [{ pipeline: 'v1', params: { question: 'q' } }, /^invalid job: .*docKey/],
      [[1, 2], /must be a JSON object/],
    ];
    for (const [body, re] of cases) {
      const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: auth, payload: body as object });
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error).toMatch(re);
    }
  });

  it('answers 404 with a pointer to the docs for an unknown API route', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/nothing-here', headers: auth });
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toMatch(/docs\/http-api\.md/);
  });
});

describe('a V1 job over HTTP', () => {
  let jobId: string;
  beforeAll(async () => {
    const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: auth, payload: { pipeline: 'v1', document: DOCUMENT, question: 'Who kept the lighthouse on the northern island?', window: 1024 } });
    expect(r.statusCode).toBe(202);
    jobId = r.json().jobId;
    expect(await waitDone(jobId)).toMatchObject({ state: 'succeeded' });
  }, 120_000);

  it('shows stages with counts, usage and wall time once done', async () => {
    const j = (await app.inject({ method: 'GET', url: `/api/jobs/${jobId}`, headers: auth })).json();
    expect(j.pipeline).toBe('v1');
    expect(j.stages.map((s: any) => s.name)).toEqual(expect.arrayContaining(['chunk', 'map', 'reduce']));
    const map = j.stages.find((s: any) => s.name === 'map');
    expect(map).toMatchObject({ state: 'done', etaMs: 0 });
    expect(map.total).toBeGreaterThan(1);
    expect(map.done).toBe(map.total);
    expect(j.usage).toMatchObject({ calls: expect.any(Number), promptTokens: expect.any(Number), completionTokens: expect.any(Number) });
    expect(j.wallMs).toBeGreaterThan(0);
    expect(j.failures).toEqual([]);
    expect(j.hasResult).toBe(true);
  });

  it('lists the job newest first with its usage', async () => {
    const r = (await app.inject({ method: 'GET', url: '/api/jobs?limit=5', headers: auth })).json();
    const row = r.jobs.find((x: any) => x.jobId === jobId);
    expect(row).toMatchObject({ state: 'succeeded', pipeline: 'v1', usage: { calls: expect.any(Number) } });
    expect(row.wallMs).toBeGreaterThan(0);
    const bad = await app.inject({ method: 'GET', url: '/api/jobs?limit=0', headers: auth });
    expect(bad.statusCode).toBe(400);
  });

  it('returns the answer as Markdown and the full result as JSON', async () => {
    const md = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/result?format=md`, headers: auth });
    expect(md.statusCode).toBe(200);
    expect(md.headers['content-type']).toMatch(/text\/markdown/);
    expect(md.body).toMatch(/Marrow/);
    const json = (await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/result`, headers: auth })).json();
    expect(json).toMatchObject({ jobId, pipeline: 'v1', answer: expect.stringMatching(/Marrow/) });
    const bib = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/result?format=bibtex`, headers: auth });
    expect(bib.statusCode).toBe(404);
    expect(bib.json().error).toMatch(/format=json/);
  });

  it('streams the stored events in stream order and ends after the terminal event', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/events`, headers: auth });
    expect(r.headers['content-type']).toMatch(/text\/event-stream/);
    const f = frames(r.body);
    expect(f.length).toBeGreaterThan(3);
    const ids = f.map((x) => x.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(f[0].event.type).toBe('job.started');
    expect(f.at(-1)!.event.type).toBe('job.succeeded');
    expect(f.every((x) => x.event.jobId === jobId)).toBe(true);
  });

  it('resumes after Last-Event-ID with exactly the later events', async () => {
    const all = frames((await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/events`, headers: auth })).body);
    const cut = all[Math.floor(all.length / 2)].id;
    const rest = frames((await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/events`, headers: { ...auth, 'last-event-id': String(cut) } })).body);
    expect(rest.map((x) => x.id)).toEqual(all.filter((x) => x.id > cut).map((x) => x.id));
    const end = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/events`, headers: { ...auth, 'last-event-id': String(all.at(-1)!.id) } });
    expect(frames(end.body)).toEqual([]);
  });

  it('refuses to cancel a job that has ended', async () => {
    // a bodiless POST labelled JSON is taken as no body
    const r = await app.inject({ method: 'POST', url: `/api/jobs/${jobId}/cancel`, headers: { ...auth, 'content-type': 'application/json' } });
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toMatch(/already succeeded/);
  });
});

describe('a live job', () => {
  it('streams events as they happen, then ends with the terminal event', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: auth, payload: { pipeline: 'v1', document: DOCUMENT.repeat(12), question: 'Who kept the light?', window: 1024 } });
    const jobId = r.json().jobId;
    const before = (await app.inject({ method: 'GET', url: `/api/jobs/${jobId}`, headers: auth })).json();
    const sse = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/events`, headers: auth });
    // the stream was opened while the job was still queued or running
    expect(before.state).toMatch(/^(queued|running)$/);
    const f = frames(sse.body);
    expect(f.at(-1)!.event.type).toMatch(/^job\.(succeeded|failed)$/);
    expect(f.filter((x) => x.event.type.startsWith('job.') && x.event.type !== 'job.started').length).toBe(1);
    expect(f.map((x) => x.id)).toEqual(f.map((x) => x.id).sort((a, b) => a - b));
  }, 120_000);
});

describe('cluster and dead letters', () => {
  it('counts live workers per kind and shows each consumer’s load', async () => {
    const c = (await app.inject({ method: 'GET', url: '/api/cluster', headers: auth })).json();
    expect(c.workers).toMatchObject({ coordinator: 1, mapper: 1, convolver: 1, reducer: 1 });
    expect(c.consumers.map((x: any) => x.consumer).sort()).toEqual(['convolver', 'coordinator', 'mapper', 'reducer']);
    for (const x of c.consumers) expect(x).toMatchObject({ pending: expect.any(Number), inFlight: expect.any(Number) });
    expect(typeof c.deadLetters).toBe('number');
  });

  it('lists a dead letter and sends it back to work', async () => {
    const n = cluster.bus.names;
    await deadLetter(cluster.bus, 'reduce', { jobId: 'dl-http', taskId: 'a'.repeat(32), op: 'nothing', reason: 'made up for the test', attempts: 3, subject: n.subjects.task('reduce', 'nothing'), data: encode({ not: 'a task' }) });
    const list = (await app.inject({ method: 'GET', url: '/api/dlq', headers: auth })).json();
    const dl = list.deadLetters.find((d: any) => d.jobId === 'dl-http');
    expect(dl).toMatchObject({ kind: 'reduce', reason: 'made up for the test', attempts: 3 });
    expect((await app.inject({ method: 'GET', url: '/api/cluster', headers: auth })).json().deadLetters).toBeGreaterThanOrEqual(1);
    const retried = await app.inject({ method: 'POST', url: `/api/dlq/${dl.seq}/retry`, headers: auth });
    expect(retried.statusCode).toBe(200);
    expect(retried.json().retried).toMatchObject({ seq: dl.seq, kind: 'reduce', jobId: 'dl-http' });
    const again = await app.inject({ method: 'POST', url: `/api/dlq/${dl.seq}/retry`, headers: auth });
    expect(again.statusCode).toBe(404);
    expect(again.json().error).toMatch(/no dead letter/);
    const bad = await app.inject({ method: 'POST', url: '/api/dlq/abc/retry', headers: auth });
    expect(bad.statusCode).toBe(400);
  });
});

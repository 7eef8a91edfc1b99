/**
 * Outline review over HTTP on a real cluster (offline engine): a survey submitted with
 * `reviewOutline` pauses; its outline is read, an invalid edit is refused with its problems, a
 * renamed section is stored, and resuming lets the job finish with the new title. Jobs that have
 * no outline to review are refused with a 409 that says why.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { until } from '../helpers/cluster.ts';
import { gatewayCluster, type GatewayCluster } from '../helpers/gateway.ts';

/** Six abstracts on two directions of one topic (written for this test). */
function record() {
  const texts = [
    ['composting', 'Municipal composting of food waste cut landfill methane in a two-year city pilot.'],
    ['composting', 'Home compost bins given out with short training were still in use after eighteen months.'],
    ['composting', 'Compost from market waste raised vegetable yields on sandy urban plots.'],
    ['recycling', 'Deposit refunds on bottles raised return rates above ninety percent within months.'],
    ['recycling', 'Single-stream collection increased volumes but also contamination of paper bales.'],
    ['recycling', 'Clear labels on bins reduced sorting mistakes more than fines did.'],
  ];
  return { title: 'Urban Waste Reduction Programs', papers: texts.map(([d, t], i) => ({ title: `${d} report ${i + 1}`, abstract: t, txt: t, authors: [`Analyst ${i + 1}`], year: 2022 })) };
}

let g: GatewayCluster;
let app: FastifyInstance;
beforeAll(async () => {
  g = await gatewayCluster();
  app = g.app;
}, 60_000);
afterAll(async () => g?.close());

const get = async (url: string) => app.inject({ method: 'GET', url });
const stateOf = async (id: string) => (await get(`/api/jobs/${id}`)).json().state as string;

it('pauses a reviewed survey, refuses a broken outline, stores a rename and finishes with it after resume', async () => {
  const sub = await app.inject({ method: 'POST', url: '/api/jobs', payload: { pipeline: 'v2', record: record(), seed: 7, params: { groupSize: 3, reviewOutline: true } } });
  expect(sub.statusCode).toBe(202);
  const { jobId } = sub.json();
  await until('the job to pause', async () => (await stateOf(jobId)) === 'paused', 120_000);
  expect((await get(`/api/jobs/${jobId}`)).json().review).toMatchObject({ gate: expect.any(String) });

  const view = (await get(`/api/jobs/${jobId}/outline`)).json();
  expect(view.outline.children.length).toBeGreaterThan(0);

  const broken = await app.inject({ method: 'PUT', url: `/api/jobs/${jobId}/outline`, payload: { outline: { title: 'no ids or children here' } } });
  expect(broken.statusCode).toBe(400);
  expect(broken.json().error).toMatch(/^the outline was not stored: /);
  expect(broken.json().problems.length).toBeGreaterThan(0);

  const edited = structuredClone(view.outline);
  edited.children[0].title = 'Renamed Through The HTTP API';
  const put = await app.inject({ method: 'PUT', url: `/api/jobs/${jobId}/outline`, payload: edited });
  expect(put.statusCode, put.body).toBe(200);
  expect(put.json().changes.join(' ')).toMatch(/Renamed Through The HTTP API/);

  // resume at every gate the job stops at, until it ends
  const final = await until('the job to end', async () => {
    const s = await stateOf(jobId);
    if (s === 'paused') {
      const r = await app.inject({ method: 'POST', url: `/api/jobs/${jobId}/resume` });
      expect([202, 409]).toContain(r.statusCode); // 409: already resumed at this gate, still pausing
    }
    return ['succeeded', 'failed', 'cancelled'].includes(s) ? s : undefined;
  }, 180_000);
  expect(final).toBe('succeeded');
  const md = (await get(`/api/jobs/${jobId}/result?format=md`)).body;
  expect(md).toMatch(/Renamed Through The HTTP API/);
}, 300_000);

it('refuses outline review of a job that is not a paused or finished survey', async () => {
  const sub = await app.inject({ method: 'POST', url: '/api/jobs', payload: { pipeline: 'v1', document: 'A short note about tides and gulls.\n\nNothing else.', question: 'What is it about?' } });
  const { jobId } = sub.json();
  await until('the v1 job to end', async () => ['succeeded', 'failed'].includes(await stateOf(jobId)), 60_000);
  const outline = await get(`/api/jobs/${jobId}/outline`);
  expect(outline.statusCode).toBe(409);
  expect(outline.json().error).toMatch(/only surveys \(v2\) have an outline/);
  const resume = await app.inject({ method: 'POST', url: `/api/jobs/${jobId}/resume` });
  expect(resume.statusCode).toBe(409);
  expect(resume.json().error).toMatch(/not paused/);
  const unknown = await app.inject({ method: 'PUT', url: '/api/jobs/no-such-job/outline', payload: { title: 'x' } });
  expect(unknown.statusCode).toBe(404);
}, 120_000);

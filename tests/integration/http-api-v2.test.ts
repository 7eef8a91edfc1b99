/**
 * A small V2 survey submitted over HTTP with its record inline, on the offline engine, through
 * a real cluster: it finishes, and its result comes back as Markdown, JSON and BibTeX; its
 * refinement block's entropy scores per layer are in the job's status.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { until } from '../helpers/cluster.ts';
import { gatewayCluster, type GatewayCluster } from '../helpers/gateway.ts';

/** Nine short abstracts in three directions (written for this test). */
const DIRECTIONS: Record<string, string[]> = {
  sensing: [
    'Low-cost soil moisture probes report every ten minutes over a mesh radio network to guide irrigation.',
    'Capacitive sensors buried at three depths show how water moves through sandy and clay soils after rain.',
    'Satellite thermal images estimate crop water stress across whole districts at weekly intervals.',
  ],
  scheduling: [
    'An irrigation scheduler waters only when forecast rain is unlikely and the root zone falls below a threshold.',
    'Deficit irrigation during ripening saves a quarter of the water with no loss in grape quality.',
    'A reinforcement learning controller learns pump schedules that cut energy use at equal yield.',
  ],
  economics: [
    'Farmers adopt drip irrigation faster when cooperatives share the cost of pumps and filters.',
    'Water pricing by volume, rather than by area, reduced withdrawals in a three-year field study.',
    'Insurance schemes tied to soil moisture indices lower the risk of trying new irrigation methods.',
  ],
};

function record() {
  return {
    title: 'Data-Driven Irrigation Management',
    papers: Object.entries(DIRECTIONS).flatMap(([d, texts]) =>
      texts.map((txt, i) => ({ title: `${d} in irrigation, study ${i + 1}`, abstract: txt, txt, authors: [`Writer ${d} ${i + 1}`], year: 2024, url: `https://example.org/${d}/${i + 1}` })),
    ),
  };
}

let g: GatewayCluster;
let app: FastifyInstance;
beforeAll(async () => {
  g = await gatewayCluster();
  app = g.app;
}, 60_000);
afterAll(async () => g?.close());

it('runs an inline V2 job to the end and returns Markdown, JSON and BibTeX', async () => {
  const conv = { convLayer: 2, resultNum: 2, topK: 2, selfRefineCount: 1, selfRefineBestOf: 2 };
  const sub = await app.inject({ method: 'POST', url: '/api/jobs', payload: { pipeline: 'v2', record: record(), seed: 3, params: { groupSize: 3, blocks: 1, bibtex: true, conv } } });
  expect(sub.statusCode).toBe(202);
  const { jobId } = sub.json();
  const job = await until('the survey to end', async () => {
    const j = (await app.inject({ method: 'GET', url: `/api/jobs/${jobId}` })).json();
    return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
  }, 240_000);
  expect(job.state, job.error).toBe('succeeded');
  expect(job.stages.every((s: any) => s.state === 'done')).toBe(true);
  expect(job.usage).toMatchObject({ calls: 0, tokens: 0 }); // the offline engine calls no model

  // one refinement block: layer 0, two kernel layers and a self-refine round, each with scores
  expect(job.refinement).toHaveLength(1);
  const labels = job.refinement[0].layers.map((l: any) => l.label);
  expect(labels).toEqual(['layer 0', 'layer 1', 'layer 2', 'self-refine 1']);
  for (const l of job.refinement[0].layers) {
    expect(l.scores.length).toBeGreaterThan(0);
    expect([l.best, ...l.scores].every((x: unknown) => typeof x === 'number' && Number.isFinite(x))).toBe(true);
  }
  expect(job.refinement[0].accepted.score).toEqual(expect.any(Number));

  const md = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/result?format=md` });
  expect(md.statusCode).toBe(200);
  expect(md.body).toMatch(/^# /m);
  expect(md.body).toMatch(/\[\d+\]/);
  expect(md.body).toMatch(/## References/);

  const json = (await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/result?format=json` })).json();
  expect(json).toMatchObject({ jobId, pipeline: 'v2', markdown: md.body });
  expect(json.record.references.length).toBeGreaterThan(0);

  const bib = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/result?format=bibtex` });
  expect(bib.statusCode).toBe(200);
  expect(bib.headers['content-type']).toMatch(/bibtex/);
  expect(bib.body.match(/^@(article|misc)\{/gm)?.length).toBe(json.record.references.length);
}, 300_000);

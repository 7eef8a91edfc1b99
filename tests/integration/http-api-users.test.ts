/**
 * Per-user access over the HTTP API, on a server run with `llmxmr auth init --users alice,bob`'s
 * files (services and gateway each under their own credential): a publisher's token acts as
 * that publisher, so its jobs are owned by it and no other publisher can see or touch them; the
 * operator's token sees everything; dead-letter retry is the operator's alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { until } from '../helpers/cluster.ts';
import { usersGateway, type UsersGateway } from '../helpers/users-gateway.ts';

let g: UsersGateway;
let app: FastifyInstance;
const as = (name: string) => ({ authorization: `Bearer ${g.token(name)}` });
const get = (name: string, url: string) => app.inject({ method: 'GET', url, headers: as(name) });

const DOC = Array.from({ length: 10 }, (_, i) => (i === 4 ? 'The night train to the coast stops at Elm Halt only on Sundays.' : `Note ${i + 1} about timetables, platforms and signals.`)).join('\n\n');

async function finished(name: string, jobId: string) {
  return until(`job ${jobId} to end`, async () => {
    const j = (await get(name, `/api/jobs/${jobId}`)).json();
    return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
  }, 60_000);
}

let alicesJob: string;

beforeAll(async () => {
  g = await usersGateway('hu', ['alice', 'bob']);
  app = g.gateway.app;
  const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: as('alice'), payload: { pipeline: 'v1', document: DOC, question: 'When does the night train stop at Elm Halt?' } });
  expect(r.statusCode, r.body).toBe(202);
  alicesJob = r.json().jobId;
}, 60_000);
afterAll(async () => g?.close());

describe('a publisher token', () => {
  it('acts as its user: the job it submits is owned by that user and runs to the end', async () => {
    expect((await get('alice', '/api/whoami')).json()).toEqual({ role: 'publisher', user: 'alice' });
    const job = await finished('alice', alicesJob);
    expect(job.state, job.error).toBe('succeeded');
    expect(job.owner).toBe('alice');
    const md = await get('alice', `/api/jobs/${alicesJob}/result?format=md`);
    expect(md.statusCode).toBe(200);
    expect(md.body).toMatch(/Sundays/);
    const sse = await get('alice', `/api/jobs/${alicesJob}/events`);
    expect(sse.body).toMatch(/"type":"job\.succeeded"/);
  }, 90_000);

  it("lists only the user's own jobs; the operator's token lists everyone's", async () => {
    await finished('alice', alicesJob);
    expect((await get('alice', '/api/jobs')).json().jobs.map((j: any) => j.jobId)).toContain(alicesJob);
    expect((await get('bob', '/api/jobs')).json().jobs.map((j: any) => j.jobId)).not.toContain(alicesJob);
    expect((await get('admin', '/api/jobs')).json().jobs.map((j: any) => j.jobId)).toContain(alicesJob);
  }, 90_000);

  it("answers another user's status, result, events, outline and cancel with 403 not your job", async () => {
    for (const [method, url] of [
      ['GET', `/api/jobs/${alicesJob}`],
      ['GET', `/api/jobs/${alicesJob}/result?format=md`],
      ['GET', `/api/jobs/${alicesJob}/events`],
      ['GET', `/api/jobs/${alicesJob}/outline`],
      ['POST', `/api/jobs/${alicesJob}/cancel`],
      ['POST', `/api/jobs/${alicesJob}/resume`],
    ] as const) {
      const r = await app.inject({ method, url, headers: as('bob') });
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json().error, url).toMatch(/not your job/);
    }
  });

  it("refuses a submission under another user's job id", async () => {
    const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: as('bob'), payload: { pipeline: 'v1', jobId: alicesJob, document: DOC, question: 'Mine now?' } });
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toMatch(/not your job/);
  });

  it('may read the cluster view but not retry dead letters', async () => {
    expect((await get('bob', '/api/cluster')).statusCode).toBe(200);
    expect((await get('bob', '/api/dlq')).statusCode).toBe(200);
    const r = await app.inject({ method: 'POST', url: '/api/dlq/1/retry', headers: as('bob') });
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toMatch(/retrying a dead letter is for the cluster's operator.*admin token/);
  });

  it('is refused when unknown, and the operator token acts as the administrator', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/jobs', headers: { authorization: 'Bearer not-a-token-of-anyone' } });
    expect(r.statusCode).toBe(401);
    expect((await get('admin', '/api/whoami')).json()).toEqual({ role: 'admin' });
    expect((await get('admin', `/api/jobs/${alicesJob}`)).statusCode).toBe(200);
  });
});

describe('cancellation by the owner', () => {
  it("cancels the user's own running job", async () => {
    const big = Array.from({ length: 3000 }, (_, i) => `Line ${i} on sidings, points and the shunting yard at dawn.`).join('\n\n');
    const sub = await app.inject({ method: 'POST', url: '/api/jobs', headers: as('bob'), payload: { pipeline: 'v1', document: big, question: 'Anything on ferries?', window: 1024 } });
    expect(sub.statusCode, sub.body).toBe(202);
    const { jobId } = sub.json();
    // followable at once: recorded as queued with its owner before a coordinator takes it
    expect((await get('bob', `/api/jobs/${jobId}`)).json().owner).toBe('bob');
    const r = await app.inject({ method: 'POST', url: `/api/jobs/${jobId}/cancel`, headers: as('bob') });
    expect(r.statusCode, r.body).toBe(202);
    const end = await finished('bob', jobId);
    expect(end.state).toBe('cancelled');
  }, 90_000);
});

describe('the gateway credential', () => {
  it('needed no right it lacks for any of the above (the server logged no violation by the gateway user)', () => {
    const log = g.server.log();
    expect(log).toMatch(/Server is ready/);
    expect(log.split('\n').filter((l) => /violation/i.test(l) && /"gateway"/.test(l))).toEqual([]);
  });
});

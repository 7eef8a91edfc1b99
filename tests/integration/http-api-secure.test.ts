/**
 * The gateway under its own least-privilege NATS user (role `gateway`), on a private server
 * started with the generated per-role configuration: every API route works with those
 * permissions, and what the gateway must never do (purge stores, write final results or
 * events, manage streams) is refused by the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Objm } from '@nats-io/obj';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { deadLetter } from '../../shared/bus/dlq.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { names } from '../../shared/protocol/names.ts';
import { ownerNames } from '../../shared/security/owners.ts';
import { loadEnv } from '../../shared/config/env.ts';
import { startRole, type RoleHandle } from '../../services/role.ts';
import { buildGateway } from '../../services/gateway/server.ts';
import { startSecureNats, type SecureNats } from '../helpers/secure-nats.ts';
import { until } from '../helpers/cluster.ts';

const PREFIX = 'gw';
const n = names(PREFIX);
const GATEWAY_PASS = randomBytes(12).toString('hex');
let s: SecureNats;
let admin: Bus;
let gw: RoleHandle;
let app: FastifyInstance;
const roles: RoleHandle[] = [];

const gatewayEnv = () => loadEnv({ NATS_URL: s.url, NATS_USER: 'gateway', NATS_PASS: GATEWAY_PASS, MR_PREFIX: PREFIX, LOG_LEVEL: 'silent', METRICS_PORT: '0', HTTP_PORT: '0', MR_ACK_WAIT_MS: '5000', MR_MAX_DELIVER: '3' });
const denied = (p: Promise<unknown>) => expect(p).rejects.toThrow(/permissions violation/i);

beforeAll(async () => {
  s = await startSecureNats(PREFIX, [{ user: 'gateway', password: GATEWAY_PASS, role: 'gateway' }]);
  const nc = await connectNats(s.env('admin'), { reconnect: false });
  await provision(nc, n, { maxDeliver: 3, ackWaitMs: 5000 });
  admin = await Bus.open(nc, PREFIX);
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(r, { env: s.env(r) }));
  // the gateway role process as `llmxmr service gateway` runs it, under its own user
  gw = await startRole('gateway', { env: gatewayEnv() });
  app = await buildGateway({ bus: gw.bus, console: false });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await gw?.stop();
  for (const r of roles.reverse()) await r.stop().catch(() => undefined);
  await admin?.nc.close().catch(() => undefined);
  await s?.stop();
});

const DOC = Array.from({ length: 12 }, (_, i) => (i === 7 ? 'The ferry to the outer harbour leaves at seven forty each morning.' : `Note ${i + 1} on harbour traffic, cranes and tides.`)).join('\n\n');

describe('the gateway user', () => {
  it('submits, follows, lists and fetches a job through the API', async () => {
    const sub = await app.inject({ method: 'POST', url: '/api/jobs', payload: { pipeline: 'v1', document: DOC, question: 'When does the ferry leave?' } });
    expect(sub.statusCode, sub.body).toBe(202);
    const { jobId } = sub.json();
    const job = await until('the job to end', async () => {
      const j = (await app.inject({ method: 'GET', url: `/api/jobs/${jobId}` })).json();
      return ['succeeded', 'failed'].includes(j.state) ? j : undefined;
    }, 60_000);
    expect(job.state, job.error).toBe('succeeded');
    expect(job.stages.length).toBeGreaterThan(0);
    const list = (await app.inject({ method: 'GET', url: '/api/jobs' })).json();
    expect(list.jobs.map((j: any) => j.jobId)).toContain(jobId);
    const sse = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/events` });
    expect(sse.body).toMatch(/"type":"job\.succeeded"/);
    const md = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/result?format=md` });
    expect(md.statusCode).toBe(200);
    expect(md.body).toMatch(/seven forty/);
  }, 90_000);

  it('cancels a running job', async () => {
    const big = Array.from({ length: 4000 }, (_, i) => `Line ${i} about cranes, tugs and the tide tables of the inner basin.`).join('\n\n');
    const { jobId } = (await app.inject({ method: 'POST', url: '/api/jobs', payload: { pipeline: 'v1', document: big, question: 'Anything about ferries?', window: 1024 } })).json();
    const state = async () => (await app.inject({ method: 'GET', url: `/api/jobs/${jobId}` })).json();
    await until('the job to run', async () => (await state()).state === 'running', 30_000);
    const r = await app.inject({ method: 'POST', url: `/api/jobs/${jobId}/cancel` });
    expect(r.statusCode, r.body).toBe(202);
    const end = await until('the job to end', async () => {
      const j = await state();
      return ['cancelled', 'succeeded', 'failed'].includes(j.state) ? `${j.state} ${j.error ?? ''}` : undefined;
    }, 60_000);
    expect(end).toMatch(/^cancelled/);
  }, 90_000);

  it('sees the cluster, itself included, and retries a dead letter', async () => {
    const c = (await app.inject({ method: 'GET', url: '/api/cluster' })).json();
    expect(c.workers).toMatchObject({ coordinator: 1, mapper: 1, convolver: 1, reducer: 1, gateway: 1 });
    await deadLetter(admin, 'reduce', { jobId: 'gw-dl', taskId: 'b'.repeat(32), op: 'nothing', reason: 'for the gateway test', attempts: 3, subject: n.subjects.task('reduce', 'nothing'), data: encode({ x: 1 }) });
    const dl = (await app.inject({ method: 'GET', url: '/api/dlq' })).json().deadLetters.find((d: any) => d.jobId === 'gw-dl');
    expect(dl).toBeDefined();
    const r = await app.inject({ method: 'POST', url: `/api/dlq/${dl.seq}/retry` });
    expect(r.statusCode, r.body).toBe(200);
  });

  it('may not purge stores, write final results or events, or manage streams', async () => {
    const b = gw.bus;
    await denied(b.jsm.streams.purge(`OBJ_${n.objectStore}`));
    await denied(b.jsm.streams.purge(n.streams.events));
    await denied(b.jsm.streams.delete(n.streams.jobs));
    const finals = await new Objm(b.js).open(ownerNames(PREFIX).finalStore);
    await denied(finals.putBlob({ name: 'results/forged.json' }, new TextEncoder().encode('{"answer":"forged"}')));
    await denied(b.js.publish(n.subjects.events('some-job'), encode({ forged: true })));
    await denied(b.js.publish(n.subjects.dlq('map'), encode({ forged: true })));
  });
});

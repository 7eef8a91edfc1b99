/**
 * The per-role permission set against a real nats-server started with the generated accounts:
 * each role can do its work, and cannot do what belongs to another role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { deadLetter } from '../../shared/bus/dlq.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { taskId } from '../../shared/protocol/ids.ts';
import { names } from '../../shared/protocol/names.ts';
import { PROTOCOL_VERSION, ZERO_USAGE, type TaskEnvelope, type TaskResult } from '../../shared/protocol/schemas.ts';
import { submitJob, waitForJob, fetchResult, uploadInput, jobStatus } from '../../shared/client/client.ts';
import { ownerNames } from '../../shared/security/owners.ts';
import { startRole, type Role, type RoleHandle } from '../../services/role.ts';
import { listDeadLetters, retryDeadLetters } from '../../cli/commands/dlq.ts';
import type { SecurityRole } from '../../shared/security/permissions.ts';
import { startSecureNats, type SecureNats } from '../helpers/secure-nats.ts';
import { TEST_OPS, fanoutScript } from '../helpers/test-ops.ts';
import { tmpLog, until } from '../helpers/cluster.ts';

const PREFIX = 'sec';
const n = names(PREFIX);
let s: SecureNats;
let admin: Bus;
const conns: NatsConnection[] = [];

async function as(role: SecurityRole): Promise<Bus> {
  const nc = await connectNats(s.env(role), { reconnect: false, name: `test-${role}` });
  conns.push(nc);
  return Bus.open(nc, PREFIX);
}

const denied = (p: Promise<unknown>) => expect(p).rejects.toThrow(/permissions violation/i);

async function subscribeDenied(nc: NatsConnection, subject: string) {
  const sub = nc.subscribe(subject);
  const outcome = await Promise.race([sub.closed.then((e) => String(e)), new Promise((r) => setTimeout(() => r('still subscribed'), 3_000))]);
  expect(outcome).toMatch(/permissions violation for subscription/i);
}

function envelope(jobId: string, kind: TaskEnvelope['kind'], nIn: number): TaskEnvelope {
  const input = { n: nIn, ms: 0, log: '/dev/null' };
  return { v: PROTOCOL_VERSION, jobId, taskId: taskId(jobId, 'test.echo', input), kind, op: 'test.echo', engine: 'extractive', input };
}

function result(env: TaskEnvelope, output: unknown): TaskResult {
  return { v: PROTOCOL_VERSION, jobId: env.jobId, taskId: env.taskId, op: env.op, status: 'ok', output, attempts: 1, worker: 'test', durationMs: 1, usage: { ...ZERO_USAGE } };
}

beforeAll(async () => {
  s = await startSecureNats(PREFIX);
});

afterAll(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  await s?.stop();
});

describe('one credential per role on a server with the generated accounts', () => {
  it('refuses connections without credentials or with a wrong password', async () => {
    await expect(connectNats({ NATS_URL: s.url }, { reconnect: false })).rejects.toThrow(/refused these credentials/);
    await expect(connectNats({ ...s.env('mapper'), NATS_PASS: 'wrong' }, { reconnect: false })).rejects.toThrow(/refused these credentials/);
  });

  it('a restricted role cannot provision: it is told to ask an administrator, then uses what the administrator set up', async () => {
    const nc = await connectNats(s.env('mapper'), { reconnect: false });
    conns.push(nc);
    const opts = { maxDeliver: 2, ackWaitMs: 1_000 };
    await expect(provision(nc, n, opts)).rejects.toThrow(/not provisioned.*administrator credentials/);
    const anc = await connectNats(s.env('admin'), { reconnect: false });
    conns.push(anc);
    expect(await provision(anc, n, opts)).toEqual({ provisioned: true });
    admin = await Bus.open(anc, PREFIX);
    const r = await provision(nc, n, opts);
    expect(r.provisioned).toBe(false);
    expect(r.reason).toMatch(/STREAM\.UPDATE/);
    await expect(provision(nc, names('other'), opts)).rejects.toThrow(/may not see any stream of prefix "other"/);
  });

  it('a mapper pulls and acks from its own consumer, writes results and reads what a task needs', async () => {
    const m = await as('mapper');
    const env = envelope('perm-ok', 'map', 1);
    await admin.js.publish(n.subjects.task('map', 'test.echo'), encode(env));
    const batch = await (await m.js.consumers.get(n.streams.tasks, n.consumers.map)).fetch({ max_messages: 1, expires: 3_000 });
    const got = [];
    for await (const msg of batch) got.push(msg);
    expect(got).toHaveLength(1);
    expect(await m.putResult(result(env, { doubled: 2 }))).toBe(true);
    expect(await got[0].ackAck()).toBe(true);
    expect((await admin.getResult('perm-ok', env.taskId))?.output).toEqual({ doubled: 2 });
    const ci = await admin.jsm.consumers.info(n.streams.tasks, n.consumers.map);
    expect([ci.num_pending, ci.num_ack_pending]).toEqual([0, 0]);

    // inputs from the Object Store (large enough for flow control), job status by key, the model cache, presence
    const paper = new Uint8Array(3 * 1024 * 1024).fill(7);
    await admin.putBlob('inputs/paper.txt', paper);
    expect((await m.getBlob('inputs/paper.txt'))?.byteLength).toBe(paper.byteLength);
    await admin.setStatus({ jobId: 'perm-ok', pipeline: 'v1', state: 'running', attempts: 1 });
    expect((await m.getStatus('perm-ok'))?.state).toBe('running');
    await m.llmcache.put('k1', new TextEncoder().encode('cached'));
    expect(new TextDecoder().decode((await m.llmcache.get('k1'))!.value)).toBe('cached');
    await m.announce('mapper', 'test');
    // a result too large for KV spills to the Object Store
    const big = envelope('perm-ok', 'map', 2);
    expect(await m.putResult(result(big, { text: 'x'.repeat(700_000) }))).toBe(true);
    expect(((await admin.getResult('perm-ok', big.taskId))?.output as { text: string }).text).toHaveLength(700_000);
  });

  it('a mapper cannot submit jobs, change or list job status, or touch another role’s tasks', async () => {
    const m = await as('mapper');
    await denied(m.js.publish(n.subjects.submit, encode({ jobId: 'evil' })));
    await denied(m.setStatus({ jobId: 'perm-ok', pipeline: 'v1', state: 'succeeded', attempts: 1 }));
    await denied(m.jobs.keys());
    await denied(m.jobs.watch());
    await denied(m.js.consumers.get(n.streams.tasks, n.consumers.reduce));
    await denied(m.nc.request(`$JS.API.CONSUMER.MSG.NEXT.${n.streams.tasks}.${n.consumers.reduce}`, JSON.stringify({ batch: 1 })));
    await denied(m.jsm.consumers.add(n.streams.tasks, { durable_name: 'sneaky', filter_subject: n.subjects.taskFilter('reduce') }));
    await denied(m.js.publish(n.subjects.task('reduce', 'test.echo'), encode(envelope('perm-x', 'reduce', 1))));
    await denied(m.jsm.streams.getMessage(n.streams.jobs, { seq: 1 }));
    await denied(m.jsm.streams.delete(n.streams.tasks));
    await denied(m.workers.put('coordinator.fake', new Uint8Array(1)));
    await denied(m.js.publish(n.subjects.dlq('reduce'), new Uint8Array(1)));
    await denied(m.putBlob('inputs/paper.txt', 'overwritten'));
    await denied(m.blobs.delete('inputs/paper.txt'));
    await denied(m.jsm.streams.purge(`OBJ_${n.objectStore}`));
    await subscribeDenied(m.nc, '_INBOX.client.>');
    await subscribeDenied(m.nc, n.subjects.eventsAll);
    await subscribeDenied(m.nc, n.subjects.cancelAll);
  });

  it('a client (publisher) uploads inputs and submits jobs on its own subjects, but cannot pull tasks or touch the stores', async () => {
    const c = await as('client');
    const o = ownerNames(PREFIX);
    await denied(c.putBlob('inputs/doc.txt', 'a document'));
    const docKey = await uploadInput(c, 'inputs/doc.txt', 'a document');
    expect(docKey).toMatch(/^upload:/);
    const spec = await submitJob(c, { jobId: 'perm-client', pipeline: 'v1', params: { docKey, question: 'q' } } as never);
    const jobs = await admin.jsm.streams.info(n.streams.jobs, { subjects_filter: '>' });
    expect(jobs.state.subjects?.[o.submitAs('client')]).toBe(1);
    await admin.jsm.streams.purge(n.streams.jobs); // nobody runs it here
    await denied(c.getStatus(spec.jobId));
    await denied(c.setStatus({ jobId: spec.jobId, pipeline: 'v1', state: 'queued', attempts: 0 }));
    await denied(c.js.publish(n.subjects.submit, encode(spec)));
    await subscribeDenied(c.nc, n.subjects.events(spec.jobId));
    await denied(c.js.consumers.get(n.streams.tasks, n.consumers.map));
    await denied(c.js.consumers.get(n.streams.jobs, n.consumers.coordinator));
    await denied(c.js.publish(n.subjects.task('map', 'test.echo'), encode(envelope('perm-client', 'map', 1))));
    await denied(c.results.put('perm-client.x', new Uint8Array(1)));
    await denied(c.results.get('perm-ok.x'));
    await denied(c.jsm.streams.purge(n.streams.tasks));
    await subscribeDenied(c.nc, '_INBOX.mapper.>');
  });

  it('a client can neither list nor retry dead letters (they hold other users’ task inputs)', async () => {
    const env = envelope('perm-dl', 'map', 3);
    await deadLetter(admin, 'map', { jobId: env.jobId, taskId: env.taskId, op: env.op, reason: 'test reason', attempts: 2, subject: n.subjects.task('map', 'test.echo'), data: encode(env) });
    const c = await as('client');
    await denied(listDeadLetters(c, { jobId: 'perm-dl' }));
    const rows = await listDeadLetters(admin, { jobId: 'perm-dl' });
    expect(rows).toMatchObject([{ kind: 'map', jobId: 'perm-dl', reason: 'test reason', attempts: 2 }]);
    await expect(retryDeadLetters(c, [rows[0].seq])).rejects.toThrow(); // it cannot even read it
    expect(await listDeadLetters(admin, { jobId: 'perm-dl' })).toHaveLength(1);
    await admin.jsm.streams.purge(n.streams.dlq);
  });
});

describe('services, each on its own credential', () => {
  const roles: RoleHandle[] = [];
  const start = async (role: Role) => {
    const env = s.env(role, { MR_ACK_WAIT_MS: '1000', MR_MAX_DELIVER: '2' });
    const h = await startRole(role, { env, extraOps: TEST_OPS, extraScripts: { v1: fanoutScript } });
    roles.push(h);
    return h;
  };
  afterAll(async () => {
    for (const r of roles.splice(0).reverse()) await r.stop().catch(() => undefined);
  });

  it('a restricted coordinator dead-letters a task that no worker finishes', async () => {
    await start('coordinator');
    const env = envelope('perm-exhaust', 'map', 4);
    await admin.js.publish(n.subjects.task('map', 'test.echo'), encode(env));
    // a mapper that takes the task and dies each time (never acks)
    const m = await as('mapper');
    const consumer = await m.js.consumers.get(n.streams.tasks, n.consumers.map);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const batch = await consumer.fetch({ max_messages: 1, expires: 3_000 });
      const got = [];
      for await (const msg of batch) got.push(msg);
      expect(got.map((g) => g.info.deliveryCount)).toEqual([delivery]);
    }
    // the server notices the exhausted task when it next tries to deliver (a waiting pull)
    const none = await consumer.fetch({ max_messages: 1, expires: 3_000 });
    for await (const msg of none) throw new Error(`unexpected delivery ${msg.info.deliveryCount}`);
    const failed = await until('the failure result', async () => (await admin.getResult('perm-exhaust', env.taskId)) ?? undefined, 20_000);
    expect(failed.status).toBe('failed');
    const dl = await until('the dead letter', async () => (await listDeadLetters(admin, { jobId: 'perm-exhaust' }))[0], 10_000);
    expect(dl).toMatchObject({ kind: 'map', taskId: env.taskId, attempts: 2 });
    await until('the task to leave the work queue', async () => (await admin.jsm.streams.info(n.streams.tasks)).state.messages === 0, 10_000);
  });

  it('a whole job runs with every service and the client on their own credentials', async () => {
    const logStart = s.log().length;
    for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) if (!roles.some((h) => h.role === r)) await start(r);
    const c = await as('client');
    const log = tmpLog();
    const docKey = await uploadInput(c, 'unused', 'not read by the test script');
    await submitJob(c, { jobId: 'perm-job', pipeline: 'v1', params: { docKey, question: JSON.stringify({ n: 6, ms: 0, log }) } } as never);
    const st = await waitForJob(c, 'perm-job');
    expect(st.state).toBe('succeeded');
    expect(st.owner).toBe('client');
    expect((await jobStatus(c, 'perm-job'))?.state).toBe('succeeded');
    expect((await fetchResult(c, st)).sum).toBe(2 * (0 + 1 + 2 + 3 + 4 + 5));
    expect([...(await c.liveRoles()).keys()].sort()).toEqual(['convolver', 'coordinator', 'mapper', 'reducer']);
    // the only refusals while the services ran were their attempts to update stream configuration,
    // and the client's one check of whether it may read job status (it may not: it is a publisher)
    const refusals = s.log().slice(logStart).split('\n').filter((l) => /violation/i.test(l));
    const expected = (l: string) => /Subject "\$JS\.API\.STREAM\.UPDATE\./.test(l) || /User "client", Subject "\$JS\.API\.STREAM\.MSG\.GET\.KV_sec_jobs"/.test(l);
    expect(refusals.filter((l) => !expected(l))).toEqual([]);
  });
});

/**
 * Least privilege under attack, on a real nats-server run with the files `llmxmr auth init
 * --users alice,bob` writes, and the four services each on its own credential: alice's job
 * runs; bob cannot read its input, status or result, nor cancel or hijack it; a mapper cannot
 * purge, delete or overwrite any stream, bucket or blob, nor read final results; the
 * administrator sees everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { names } from '../../shared/protocol/names.ts';
import { PROTOCOL_VERSION, ZERO_USAGE } from '../../shared/protocol/schemas.ts';
import { cancelJob, fetchResult, jobStatus, submitJob, uploadInput, waitForJob } from '../../shared/client/client.ts';
import { ownerNames } from '../../shared/security/owners.ts';
import { startRole, type RoleHandle } from '../../services/role.ts';
import { startAuthInitNats, type AuthInitNats } from '../helpers/secure-nats.ts';
import { until } from '../helpers/cluster.ts';
import { dropResult } from '../../services/coordinator/reruns.ts';

const PREFIX = 'atk';
const n = names(PREFIX);
const on = ownerNames(PREFIX);
let s: AuthInitNats;
let admin: Bus;
const conns: NatsConnection[] = [];
const roles: RoleHandle[] = [];

async function as(name: string): Promise<Bus> {
  const nc = await connectNats(s.env(name), { reconnect: false, name: `attack-${name}` });
  conns.push(nc);
  return Bus.open(nc, PREFIX);
}

const denied = (p: Promise<unknown>) => expect(p).rejects.toThrow(/permissions violation/i);
const refusedByServer = (p: Promise<unknown>) => expect(p).rejects.toThrow(/maximum messages per subject|wrong last sequence/i);

async function subscribeDenied(nc: NatsConnection, subject: string) {
  const sub = nc.subscribe(subject);
  const outcome = await Promise.race([sub.closed.then((e) => String(e)), new Promise((r) => setTimeout(() => r('still subscribed'), 3_000))]);
  expect(outcome).toMatch(/permissions violation for subscription/i);
}

const DOC = [
  'The archive of the northern station lists its supplies by season.',
  'In the winter ledger the pass key is 73914 and it opens the east door.',
  'Nothing else in these notes concerns doors or keys of any kind.',
].join('\n');

let aliceJob = '';
let aliceStatusKey = '';

beforeAll(async () => {
  s = await startAuthInitNats(PREFIX, ['alice', 'bob']);
  const anc = await connectNats(s.env('admin'), { reconnect: false });
  conns.push(anc);
  await provision(anc, n, { maxDeliver: 3, ackWaitMs: 5_000 });
  admin = await Bus.open(anc, PREFIX);
  for (const role of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(role, { env: s.env(role) }));

  // alice runs a job on her own credential
  const alice = await as('alice');
  const docKey = await uploadInput(alice, 'doc.txt', DOC);
  expect(docKey).toMatch(/^upload:/);
  aliceJob = `alice-${Date.now()}`;
  await submitJob(alice, { jobId: aliceJob, pipeline: 'v1', params: { docKey, question: 'What is the pass key?', profile: 'retrieval' } } as never);
  const st = await waitForJob(alice, aliceJob);
  expect(st.error).toBeUndefined();
  expect(st.state).toBe('succeeded');
  aliceStatusKey = st.resultKey!;
}, 90_000);

afterAll(async () => {
  for (const r of roles.splice(0).reverse()) await r.stop().catch(() => undefined);
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  await s?.stop();
});

describe('publishers own their jobs', () => {
  it('records the authenticated user as the owner and gives alice her answer', async () => {
    const alice = await as('alice');
    const r = await fetchResult(alice, (await jobStatus(alice, aliceJob))!);
    expect(String(r.answer)).toContain('73914');
    expect((await admin.getStatus(aliceJob))?.owner).toBe('alice');
  });

  it("bob cannot read alice's status or result, nor cancel her job: not your job", async () => {
    const bob = await as('bob');
    await expect(jobStatus(bob, aliceJob)).rejects.toThrow(/not your job/);
    await expect(fetchResult(bob, { jobId: aliceJob, pipeline: 'v1', state: 'succeeded', attempts: 1, resultKey: aliceStatusKey })).rejects.toThrow(/not your job/);
    await expect(cancelJob(bob, aliceJob)).rejects.toThrow(/not your job/);
    expect((await admin.getStatus(aliceJob))?.cancelRequested).toBeUndefined();
  });

  it("bob cannot reach alice's input, result or status in the stores, nor her subjects", async () => {
    const bob = await as('bob');
    await denied(bob.getStatus(aliceJob));
    await denied(bob.setStatus({ jobId: aliceJob, pipeline: 'v1', state: 'failed', attempts: 1 }));
    await denied(bob.getBlob(`inputs/${aliceJob}/docKey`));
    await denied(bob.putBlob(`inputs/${aliceJob}/docKey`, 'replaced'));
    const finals = await new Objm(bob.js).open(on.finalStore);
    await denied(finals.getBlob(aliceStatusKey));
    await denied(bob.js.consumers.get(on.uploadsStream, { filter_subjects: on.upload('alice', '>') }));
    await denied(bob.js.publish(on.submitAs('alice'), encode({ jobId: 'as-alice', pipeline: 'v1', params: {} })));
    await denied(bob.js.publish(on.upload('alice', 'x'), new Uint8Array(1)));
    await denied(bob.nc.request(on.api('alice', 'status'), JSON.stringify({ jobId: aliceJob }), { timeout: 3_000 }));
    await subscribeDenied(bob.nc, on.events('alice', '>'));
    await subscribeDenied(bob.nc, n.subjects.eventsAll);
    await subscribeDenied(bob.nc, '_INBOX.alice.>');
  });

  it("bob's submission under alice's job id is dead-lettered and leaves her job alone", async () => {
    const bob = await as('bob');
    const before = await admin.getStatus(aliceJob);
    const up = await uploadInput(bob, 'doc.txt', 'another document');
    await submitJob(bob, { jobId: aliceJob, pipeline: 'v1', params: { docKey: up, question: 'q' } } as never);
    await until('the jobs queue to drain', async () => (await admin.jsm.streams.info(n.streams.jobs)).state.messages === 0, 20_000);
    expect(await admin.getStatus(aliceJob)).toEqual(before);
  });

  it("a publisher's job may not name Object Store keys: only its own uploads", async () => {
    const bob = await as('bob');
    const jobId = `bob-steal-${Date.now()}`;
    await submitJob(bob, { jobId, pipeline: 'v1', params: { docKey: `inputs/${aliceJob}/docKey`, question: 'What is the pass key?' } } as never);
    const st = await waitForJob(bob, jobId);
    expect(st.state).toBe('failed');
    expect(st.error).toMatch(/must be its own uploads/);
    // an upload id of alice's is looked up under bob's own subjects only
    const jobId2 = `bob-steal2-${Date.now()}`;
    await submitJob(bob, { jobId: jobId2, pipeline: 'v1', params: { docKey: 'upload:doesnotexist', question: 'q' } } as never);
    expect((await waitForJob(bob, jobId2)).error).toMatch(/upload doesnotexist not found/);
  });
});

describe('a mapper cannot purge, delete or overwrite anything, nor read final results', () => {
  it('stores and streams', async () => {
    const m = await as('mapper');
    const blob = `inputs/${aliceJob}/docKey`;
    await denied(m.jsm.streams.purge(`OBJ_${n.objectStore}`));
    await denied(m.jsm.streams.purge(`KV_${n.buckets.results}`));
    await denied(m.jsm.streams.purge(n.streams.tasks));
    await denied(m.jsm.streams.deleteMessage(`KV_${n.buckets.results}`, 1));
    await denied(m.jsm.streams.delete(`OBJ_${n.objectStore}`));
    await denied(m.blobs.delete(blob));
    await denied(m.putBlob(blob, 'HACKED by mapper'));
    await denied(m.putBlob(aliceStatusKey, JSON.stringify({ answer: 'HACKED by mapper' })));
    const finals = await new Objm(m.js).open(on.finalStore);
    await denied(finals.getBlob(aliceStatusKey));
    await denied(m.jobs.delete(aliceJob));
    await denied(m.js.publish(on.submitAs('mapper'), new Uint8Array(1)));
    // the input it may read is intact
    expect(new TextDecoder().decode((await m.getBlob(blob))!)).toBe(DOC);
  });

  it('task results are write-once on the server: no overwrite, delete or purge marker', async () => {
    const m = await as('mapper');
    const keys: string[] = [];
    for await (const k of await admin.results.keys(`${aliceJob}.>`)) keys.push(k);
    expect(keys.length).toBeGreaterThan(0);
    const key = keys[0];
    const original = (await admin.results.get(key))!.value;
    const forged = encode({ v: PROTOCOL_VERSION, jobId: aliceJob, taskId: key.split('.')[1], op: 'v1.map', status: 'ok', output: { answer: 'HACKED' }, attempts: 1, worker: 'evil', durationMs: 1, usage: { ...ZERO_USAGE } });
    await refusedByServer(m.results.put(key, forged));
    await refusedByServer(m.results.delete(key));
    await refusedByServer(m.results.purge(key));
    await refusedByServer(m.js.publish(`$KV.${n.buckets.results}.${key}`, forged));
    expect((await admin.results.get(key))!.value).toEqual(original);
  });

  it('the coordinator may remove a task result (to re-run a task whose output is missing), but purges nothing', async () => {
    const co = await as('coordinator');
    const keys: string[] = [];
    for await (const k of await admin.results.keys(`${aliceJob}.>`)) keys.push(k);
    const [jobId, taskId] = keys[keys.length - 1].split('.');
    expect(await dropResult(co, jobId, taskId)).toBe(true);
    expect(await admin.getResult(jobId, taskId)).toBeNull();
    await denied(co.jsm.streams.purge(`KV_${n.buckets.results}`, { filter: `$KV.${n.buckets.results}.${aliceJob}.>` }));
  });

  it('the administrator still sees and removes everything', async () => {
    expect((await admin.getStatus(aliceJob))?.state).toBe('succeeded');
    expect(String((await fetchResult(admin, (await admin.getStatus(aliceJob))!)).answer)).toContain('73914');
    const keys: string[] = [];
    for await (const k of await admin.results.keys(`${aliceJob}.>`)) keys.push(k);
    const [jobId, taskId] = keys[0].split('.');
    await admin.removeResult(jobId, taskId);
    expect(await admin.getResult(jobId, taskId)).toBeNull();
  });
});

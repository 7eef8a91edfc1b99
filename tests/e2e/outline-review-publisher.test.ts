/**
 * Outline review by publishers on a server with per-role credentials: the owner gets, puts and
 * resumes its paused job through the coordinators' job API and reruns its finished survey; another
 * publisher can do none of it, nor build a rerun on someone else's survey.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { names } from '../../shared/protocol/names.ts';
import { fetchResult, jobStatus, submitJob, uploadInput, waitForJob } from '../../shared/client/client.ts';
import { getOutline, putOutline, rerunSpec, resumeJob } from '../../shared/client/outline.ts';
import { startRole, type RoleHandle } from '../../services/role.ts';
import { startSecureNats, type SecureNats } from '../helpers/secure-nats.ts';
import { until } from '../helpers/cluster.ts';
import { ragInput } from './outline-review-input.ts';

const PREFIX = 'orp';
let s: SecureNats;
const conns: NatsConnection[] = [];
const roles: RoleHandle[] = [];
const PASS = { alice: 'alice-pass-1234', bob: 'bob-pass-5678' };

async function as(user: 'alice' | 'bob' | 'admin'): Promise<Bus> {
  const env = user === 'admin' ? s.env('admin') : s.env('client', { NATS_USER: user, NATS_PASS: PASS[user] });
  const nc = await connectNats(env, { reconnect: false, name: `test-${user}` });
  conns.push(nc);
  return Bus.open(nc, PREFIX);
}

beforeAll(async () => {
  s = await startSecureNats(PREFIX, [
    { user: 'alice', password: PASS.alice, role: 'client' },
    { user: 'bob', password: PASS.bob, role: 'client' },
  ]);
  const anc = await connectNats(s.env('admin'), { reconnect: false });
  conns.push(anc);
  await provision(anc, names(PREFIX), { maxDeliver: 3, ackWaitMs: 5_000 });
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(r, { env: s.env(r, { MR_CONCURRENCY: '8' }) }));
}, 60_000);

afterAll(async () => {
  for (const r of roles.splice(0).reverse()) await r.stop().catch(() => undefined);
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  await s?.stop();
});

describe('outline review by publishers', () => {
  it('lets only the owner review, resume and rerun its survey', async () => {
    const alice = await as('alice');
    const bob = await as('bob');
    const inputKey = await uploadInput(alice, 'unused', JSON.stringify(ragInput()));
    await submitJob(alice, { jobId: 'orp-a', pipeline: 'v2', seed: 3, params: { inputKey, groupSize: 4, reviewOutline: true } });
    await until('the job paused', async () => (await jobStatus(alice, 'orp-a'))?.state === 'paused', 60_000);

    await expect(getOutline(bob, 'orp-a')).rejects.toThrow(/not your job/);
    await expect(putOutline(bob, 'orp-a', { title: 'x', children: [] })).rejects.toThrow(/not your job/);
    await expect(resumeJob(bob, 'orp-a')).rejects.toThrow(/not your job/);

    const view = await getOutline(alice, 'orp-a');
    expect(view.gate).toBe('draft');
    const bad = await putOutline(alice, 'orp-a', { title: 'x', children: [{ title: 'only one' }] });
    expect(!bad.ok && bad.problems.join()).toMatch(/a survey needs at least 2/);
    const o = JSON.parse(JSON.stringify(view.outline));
    o.children[0].title = 'Dense and Sparse Retrievers';
    expect((await putOutline(alice, 'orp-a', o)).ok).toBe(true);
    expect(await resumeJob(alice, 'orp-a')).toMatchObject({ resumed: true, edited: true });
    const done = await waitForJob(alice, 'orp-a');
    expect(done.state).toBe('succeeded');
    const res = (await fetchResult(alice, done)) as { markdown: string; record: { outline: { children: { id: string; title: string }[] } } };
    expect(res.markdown).toMatch(/^## 1 Dense and Sparse Retrievers$/m);

    // A rerun of the finished survey: the publisher's client submits it, reading the input its base job staged.
    const finished = await getOutline(alice, 'orp-a');
    const edit = JSON.parse(JSON.stringify(finished.outline));
    edit.children[1].title = 'Second Section Renamed';
    const put = await putOutline(alice, 'orp-a', edit);
    const rerun = await waitForJob(alice, (put.ok && put.rerunJobId) || 'missing');
    expect(rerun).toMatchObject({ state: 'succeeded', owner: 'alice' });
    expect(((await fetchResult(alice, rerun)) as { markdown: string }).markdown).toMatch(/^## 2 Second Section Renamed$/m);

    // Bob cannot build a rerun on Alice's survey, even by writing the spec himself.
    await expect(getOutline(bob, 'orp-a')).rejects.toThrow(/not your job/);
    const bobsRerun = rerunSpec('orp-a', { outline: finished.outline, params: { inputKey: `inputs/orp-a/inputKey`, maxDepth: 3 }, job: { engine: 'extractive' } }, { outline: finished.outline, from: {} }, 'orp-bob');
    await submitJob(bob, bobsRerun);
    const refused = await waitForJob(bob, 'orp-bob');
    expect(refused.state).toBe('failed');
    expect(refused.error).toMatch(/baseJob: orp-a is not one of your jobs/);
  }, 240_000);
});

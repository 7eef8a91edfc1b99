/**
 * A finished survey rerun with an edited outline (offline engine, executed tasks counted): renaming
 * one leaf section runs only the writing of that section and its ancestors, plus the conclusion
 * and the citation checks of the texts that changed; everything else comes from the base run's
 * stored results under the same task ids. Adding a section digests the papers again for it only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchResult, submitJob, waitForJob } from '../../shared/client/client.ts';
import { getOutline, putOutline } from '../../shared/client/outline.ts';
import { sections, walk, type OutlineNode } from '../../shared/algo/outline.ts';
import { startFleetSim, type FleetSim } from '../../shared/sim/fleet.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';
import { cli } from '../helpers/bad-input.ts';
import { ragInput } from './outline-review-input.ts';

type Usage = { tasks: number; reused: number; calls: number; byOp: Record<string, { tasks: number }> };
type Result = { markdown: string; usage: Usage; record: { outline: OutlineNode; sections: { id: string; title: string; text: string }[]; baseJob?: string } };

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await testCluster(testEnv({ MR_CONCURRENCY: '8' }));
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
});
afterAll(async () => cluster?.close());

async function finished(jobId: string): Promise<Result> {
  const st = await waitForJob(cluster.bus, jobId);
  if (st.state !== 'succeeded') throw new Error(`${jobId} ${st.state}: ${st.error}`);
  return (await fetchResult(cluster.bus, st)) as Result;
}

const tasksOf = (u: Usage, op: string) => u.byOp[op]?.tasks ?? 0;
const executedOps = (u: Usage) => Object.keys(u.byOp).filter((op) => u.byOp[op].tasks > 0).sort();

describe('rerun of a finished survey with an edited outline', () => {
  let base: Result;
  beforeAll(async () => {
    await cluster.bus.putBlob('inputs/rr.json', JSON.stringify(ragInput()));
    await submitJob(cluster.bus, { jobId: 'rr-base', pipeline: 'v2', seed: 9, params: { inputKey: 'inputs/rr.json', blocks: 0, groupSize: 4 } });
    base = await finished('rr-base');
  }, 180_000);

  it('renaming one leaf rewrites only that leaf and its ancestors; the rest is reused under the same task ids', async () => {
    const view = await getOutline(cluster.bus, 'rr-base');
    expect(view.state).toBe('succeeded');
    // The deepest leaf: the rename touches it and every section above it, the survey (root) included.
    const leaf = walk(view.outline).filter((v) => v.node.children.length === 0).sort((a, b) => b.depth - a.depth)[0];
    const edited = JSON.parse(JSON.stringify(view.outline)) as OutlineNode;
    const target = walk(edited).find((v) => v.node.id === leaf.node.id)!.node;
    target.title = 'A Renamed Section on Passage Ranking';
    const put = await putOutline(cluster.bus, 'rr-base', edited);
    expect(put.ok && put.changes).toEqual([`renamed ${leaf.node.id.slice(1)} "${leaf.node.title}" to "A Renamed Section on Passage Ranking"`]);
    const rerun = await finished((put.ok && put.rerunJobId) || 'missing');
    const touched = leaf.depth + 1;
    const u = rerun.usage;
    const b = base.usage;
    // What ran: the touched writes, the conclusion, and checks of changed texts; no grouping, drafting or digesting.
    expect(tasksOf(u, 'v2.write')).toBe(touched);
    expect(tasksOf(u, 'v2.conclude')).toBe(1);
    expect(executedOps(u).filter((op) => !['v2.write', 'v2.conclude', 'v2.verify'].includes(op))).toEqual([]);
    expect(tasksOf(u, 'v2.verify')).toBeLessThanOrEqual(touched + 2); // sections changed, plus abstract and conclusion
    // Everything else came from the base run's results under the very same task ids.
    expect(u.reused).toBe(tasksOf(b, 'v2.write') - touched + tasksOf(b, 'v2.verify') - tasksOf(u, 'v2.verify'));
    expect(u.tasks).toBeLessThan(b.tasks / 3);
    console.log(`[outline-review] full run: ${b.tasks} tasks ${JSON.stringify(Object.fromEntries(Object.entries(b.byOp).map(([k, v]) => [k, v.tasks])))}; ` +
      `one-leaf rename (depth ${leaf.depth}, ${sections(view.outline).length} sections): ${u.tasks} tasks ${JSON.stringify(Object.fromEntries(Object.entries(u.byOp).map(([k, v]) => [k, v.tasks])))}, ${u.reused} reused`);
    // The new Markdown has the new heading; untouched sections read exactly as before.
    expect(rerun.markdown).toMatch(/^#{2,5} [\d.]+ A Renamed Section on Passage Ranking$/m);
    expect(rerun.markdown).not.toContain(`${leaf.node.id.slice(1)} ${leaf.node.title}\n`);
    const before = new Map(base.record.sections.map((s) => [s.id, s.text]));
    const above = new Set(walk(view.outline).filter((v) => v.node.id === 'S0' || leaf.node.id.startsWith(`${v.node.id}.`)).map((v) => v.node.id));
    for (const s of rerun.record.sections) if (s.id !== leaf.node.id && !above.has(s.id)) expect(s.text).toBe(before.get(s.id));
    expect(rerun.record.baseJob).toBe('rr-base');
  }, 180_000);

  it('adding a section digests the papers again for it alone and keeps the untouched leaves', async () => {
    const view = await getOutline(cluster.bus, 'rr-base');
    const edited = JSON.parse(JSON.stringify(view.outline)) as OutlineNode;
    // A person names the papers the new section is about (the evaluation papers are P013-P016 of the input).
    edited.children.push({ id: '', title: 'Evaluation of Grounded Answers', construction: 'benchmark evaluation faithfulness groundedness citation accuracy judge', analysis: 'Compare [@P013], [@P014], [@P015] and [@P016].', children: [] });
    const put = await putOutline(cluster.bus, 'rr-base', edited);
    expect(put.ok && put.changes).toEqual([`added ${edited.children.length} "Evaluation of Grounded Answers"`]);
    const rerun = await finished((put.ok && put.rerunJobId) || 'missing');
    const papers = ragInput().papers.length;
    expect(tasksOf(rerun.usage, 'v2.digest')).toBe(papers);
    const leaves = walk(view.outline).filter((v) => v.node.children.length === 0).length;
    expect(rerun.usage.reused).toBeGreaterThanOrEqual(leaves - 1);
    expect(rerun.markdown).toMatch(/^## \d+ Evaluation of Grounded Answers$/m);
  }, 180_000);

  it('through the CLI: get prints the outline as JSON, a bad put lists its problems and exits 2', async () => {
    const env = { NATS_URL: cluster.env.NATS_URL, MR_PREFIX: cluster.env.MR_PREFIX, LOG_LEVEL: 'silent' };
    const got = await cli(['outline', 'get', 'rr-base'], env);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ jobId: 'rr-base', state: 'succeeded', outline: { id: 'S0' } });
    expect(got.stderr).toMatch(/llmxmr outline put rr-base o\.json/);
    const dir = mkdtempSync(join(tmpdir(), 'or-cli-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ outline: { title: 'x', children: [{ id: 'S1', title: '' }, { id: 'S1', title: 'Twice' }] } }));
    const bad = await cli(['outline', 'put', 'rr-base', join(dir, 'bad.json'), '--no-wait'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/the outline was not stored: 2 problem\(s\):\n  - .*empty title[^]*\n  - the id "S1" is used by/);
    const resumed = await cli(['outline', 'resume', 'rr-base'], env);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/rr-base is succeeded, not paused for outline review/);
  }, 120_000);

  it('refuses a rerun edit that names a section the survey does not have', async () => {
    const view = await getOutline(cluster.bus, 'rr-base');
    const edited = JSON.parse(JSON.stringify(view.outline)) as OutlineNode;
    edited.children[0].id = 'S42';
    const put = await putOutline(cluster.bus, 'rr-base', edited);
    expect(put.ok).toBe(false);
    expect(!put.ok && put.problems[0]).toMatch(/has the id "S42", which is not a section of the outline you fetched/);
  });
});

describe('rerun of an edited outline on the openai engine against the fleet simulator', () => {
  let sim: FleetSim;
  let simCluster: TestCluster;
  beforeAll(async () => {
    sim = await startFleetSim({ model: 'sim', replicas: 2, slots: 8, baseLatencyMs: 5, prefillTokensPerSec: 0, decodeTokensPerSec: 0, seed: 4 });
    simCluster = await testCluster(testEnv({ OPENAI_BASE_URL: sim.url, LLM_MODEL: 'sim', MR_CONCURRENCY: '16' }));
    for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await simCluster.start(r);
  }, 60_000);
  afterAll(async () => {
    await simCluster?.close();
    await sim?.close();
  });

  it('a one-leaf rename costs the model calls of the touched writes, the conclusion and the checks of changed text only', async () => {
    await simCluster.bus.putBlob('inputs/rr-sim.json', JSON.stringify(ragInput()));
    await submitJob(simCluster.bus, { jobId: 'rr-sim', pipeline: 'v2', engine: 'openai', seed: 2, params: { inputKey: 'inputs/rr-sim.json', groupSize: 4 } });
    const full = await waitForJob(simCluster.bus, 'rr-sim');
    expect(full.error ?? '').toBe('');
    const base = (await fetchResult(simCluster.bus, full)) as Result;
    const view = await getOutline(simCluster.bus, 'rr-sim');
    const leaf = walk(view.outline).filter((v) => v.node.children.length === 0).sort((a, b) => b.depth - a.depth)[0];
    const edited = JSON.parse(JSON.stringify(view.outline)) as OutlineNode;
    walk(edited).find((v) => v.node.id === leaf.node.id)!.node.title = 'Renamed for the Measurement';
    const put = await putOutline(simCluster.bus, 'rr-sim', edited);
    const st = await waitForJob(simCluster.bus, (put.ok && put.rerunJobId) || 'missing');
    expect(st.error ?? '').toBe('');
    const rerun = (await fetchResult(simCluster.bus, st)) as Result;
    const u = rerun.usage;
    const b = base.usage;
    console.log(`[outline-review] openai engine on the simulator: full run ${b.calls} model calls in ${b.tasks} tasks ${JSON.stringify(Object.fromEntries(Object.entries(b.byOp).map(([k, v]) => [k, v.tasks])))}; ` +
      `one-leaf rename (depth ${leaf.depth}, ${sections(view.outline).length} sections): ${u.calls} model calls in ${u.tasks} tasks ${JSON.stringify(Object.fromEntries(Object.entries(u.byOp).map(([k, v]) => [k, v.tasks])))}, ${u.reused} reused`);
    expect(tasksOf(u, 'v2.write')).toBe(leaf.depth + 1);
    expect(executedOps(u).filter((op) => !['v2.write', 'v2.conclude', 'v2.verify'].includes(op))).toEqual([]);
    expect(u.calls).toBeLessThan(b.calls / 3);
    expect(rerun.markdown).toMatch(/^#{2,5} [\d.]+ Renamed for the Measurement$/m);
  }, 240_000);
});

/**
 * Response cache, record/replay and budgets through the whole cluster (coordinator, mapper,
 * convolver, reducer over NATS) on the openai engine, routed by a routing file to the fleet
 * simulator. The simulator's request counter is the witness of what was paid for.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchResult, submitJob, waitForJob } from '../../shared/client/client.ts';
import type { JobSpecInput } from '../../shared/protocol/schemas.ts';
import { startFleetSim, type FleetSim } from '../../shared/sim/fleet.ts';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

/** Twelve short abstracts on speculative decoding, in three directions (written for this test). */
const ABSTRACTS: Record<string, string[]> = {
  drafting: [
    'A small draft model proposes several tokens that the large model verifies in one forward pass.',
    'Self-drafting reuses early exits of the target model as the proposer, so no second model is trained.',
    'Tree-shaped drafts verify many candidate continuations at once and accept the longest valid branch.',
    'Retrieval drafting copies likely continuations from a datastore of earlier outputs instead of running a model.',
  ],
  acceptance: [
    'The acceptance rate of drafted tokens decides the speedup; we predict it from the entropy of the draft.',
    'Adaptive draft lengths stop proposing when the expected number of accepted tokens falls below one.',
    'Typical acceptance relaxes exact matching and keeps output quality while accepting more tokens.',
    'Temperature sampling lowers acceptance; a calibrated draft keeps its distribution close to the target.',
  ],
  serving: [
    'In a batched server, speculation competes with other requests for compute and must be throttled under load.',
    'Speculative decoding for long contexts needs a compact draft cache or the memory traffic erases the gain.',
    'A scheduler turns speculation off for large batches and on for small ones, improving tail latency.',
    'Pipelined verification overlaps drafting on one device with checking on another across a cluster.',
  ],
};
const input = {
  title: 'Speculative Decoding for Large Language Models',
  papers: Object.entries(ABSTRACTS).flatMap(([topic, texts]) =>
    texts.map((t, i) => ({ title: `${topic} paper ${i + 1}`, abstract: t, txt: `${t} ${t}`, url: `https://example.org/${topic}/${i + 1}` })),
  ),
};

let sim: FleetSim;
let cluster: TestCluster;
beforeAll(async () => {
  sim = await startFleetSim({ model: 'sim-m', replicas: 2, slots: 4, baseLatencyMs: 5, prefillTokensPerSec: 0, decodeTokensPerSec: 0, seed: 9 });
  const file = join(mkdtempSync(join(tmpdir(), 'llmxmr-cache-')), 'models.yaml');
  // Prices far above real ones, so that a small job costs visible dollars.
  writeFileSync(file, `defaults:\n  model: sim-m\n  timeoutMs: 20000\nmodels:\n  sim-m:\n    endpoints: [${sim.url}]\n    price:\n      inputPerMillion: 1000\n      outputPerMillion: 2000\n`);
  cluster = await testCluster(testEnv({ LLM_ROUTING_FILE: file, MR_CONCURRENCY: '8' }));
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
  await cluster.bus.putBlob('inputs/spec-dec.json', JSON.stringify(input));
});
afterAll(async () => {
  await cluster?.close();
  await sim?.close();
});

async function run(jobId: string, extra: Partial<JobSpecInput>) {
  await submitJob(cluster.bus, { jobId, pipeline: 'v2', engine: 'openai', params: { inputKey: 'inputs/spec-dec.json', blocks: 0, groupSize: 3, outlineBatch: 1 }, ...extra } as JobSpecInput);
  const status = await waitForJob(cluster.bus, jobId);
  const record = status.resultKey ? ((await fetchResult(cluster.bus, status)) as Record<string, any>) : undefined;
  return { status, record };
}

/**
 * The simulator's replies are random words in the requested shape; for some seeds the merged
 * outline comes out empty and V2 rightly fails. These tests are about the cache, not about that,
 * so each one takes the first seed whose run gets through.
 */
async function firstGood(prefix: string, seeds: number[], extra: Partial<JobSpecInput>, before: () => void = () => undefined) {
  const tried: string[] = [];
  for (const seed of seeds) {
    before();
    const r = await run(`${prefix}-${seed}`, { seed, ...extra });
    if (r.status.state === 'succeeded') return { ...r, seed };
    tried.push(`seed ${seed}: ${r.status.error}`);
  }
  throw new Error(`no seed gave a complete run:\n${tried.join('\n')}`);
}
const SEEDS = [5, 6, 7, 8, 9, 10, 11, 12];

describe('response cache and record/replay (cluster, openai engine, simulator)', () => {
  let full: { seed: number; calls: number; tokens: number; cost: number; tasks: number };

  it('a rerun of a finished job makes zero model calls and writes the same survey', async () => {
    const a = await firstGood('cache-first', SEEDS, {}, () => sim.resetStats());
    const u = a.record!.usage;
    expect(u.calls).toBeGreaterThan(5);
    expect(u.calls).toBe(sim.stats().successes);
    expect(u.cachedCalls).toBe(0);
    expect(u.costDollars).toBeCloseTo((u.promptTokens * 1000 + u.completionTokens * 2000) / 1e6, 6);
    expect(Object.keys(u.byOp)).toEqual(expect.arrayContaining(['v2.digest', 'v2.outline.partial']));
    expect(u.byOp['v2.digest'].tasks).toBe(12);
    full = { seed: a.seed, calls: u.calls, tokens: u.promptTokens + u.completionTokens, cost: u.costDollars, tasks: u.tasks };

    sim.resetStats();
    const b = await run('cache-again', { seed: a.seed });
    expect(b.status.error ?? '').toBe('');
    expect(sim.stats().requests).toBe(0); // nothing reached the model server
    expect(b.record!.usage).toMatchObject({ calls: 0, promptTokens: 0, completionTokens: 0, costDollars: 0, cachedCalls: full.calls });
    expect(b.record!.markdown).toBe(a.record!.markdown);
  });

  it('--record stores every reply, and --replay reproduces the run without calling the server', async () => {
    const rec = await firstGood('rec', SEEDS.filter((s) => s !== full.seed), { cache: 'record' }, () => sim.resetStats());
    expect(rec.record!.usage.cachedCalls).toBe(0); // record never reads
    expect(sim.stats().successes).toBe(rec.record!.usage.calls);

    sim.resetStats();
    const rep = await run('rep-1', { seed: rec.seed, cache: 'replay' });
    expect(rep.status.error ?? '').toBe('');
    expect(sim.stats().requests).toBe(0);
    expect(rep.record!.usage.cachedCalls).toBe(rec.record!.usage.calls);
    expect(rep.record!.markdown).toBe(rec.record!.markdown);
  });

  it('replay fails clearly on a call that was never recorded, with a partial record', async () => {
    sim.resetStats();
    const miss = await run('rep-miss', { seed: 4242, cache: 'replay' });
    expect(miss.status.state).toBe('failed');
    expect(miss.status.error).toMatch(/replay stopped: a v2\.\S+ call has no recorded reply/);
    expect(miss.status.error).toMatch(/--seed/);
    expect(sim.stats().requests).toBe(0);
    expect(miss.record).toMatchObject({ partial: true, stopped: 'replay' });
  });

  it('a budget smaller than the job stops it cleanly, with the partial record', async () => {
    for (const [jobId, budget] of [
      ['budget-tokens', { tokens: Math.floor(full.tokens * 0.3) }],
      ['budget-dollars', { dollars: full.cost * 0.3 }],
    ] as const) {
      sim.resetStats();
      // The seed of the complete run, without the cache: the same path, paid again.
      const r = await run(jobId, { seed: full.seed, cache: 'off', budget });
      expect(r.status.state).toBe('failed');
      expect(r.status.error).toMatch(/^budget exceeded: the job may (use \d+ tokens|spend \$[\d.]+) and has (used|spent) \d+ tokens/);
      expect(r.status.error).toMatch(/partial record/);
      const rec = r.record!;
      expect(rec).toMatchObject({ partial: true, stopped: 'budget', budget });
      const used = rec.usage.promptTokens + rec.usage.completionTokens;
      if ('tokens' in budget) expect(used).toBeGreaterThan(budget.tokens);
      else expect(rec.usage.costDollars).toBeGreaterThan(budget.dollars);
      expect(rec.tasks.length).toBeGreaterThan(0);
      expect(rec.tasks.length).toBeLessThan(full.tasks); // it stopped before the end
      expect(rec.tasks.some((t: { status: string; output?: unknown }) => t.status === 'ok' && t.output)).toBe(true);
      // Queued tasks of a stopped job are dropped: the server saw fewer calls than a full run.
      expect(sim.stats().successes).toBeLessThan(full.calls);
    }
  });
});

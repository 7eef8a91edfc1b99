/**
 * The endpoint pool against fleet simulators over real HTTP, through the real openai client:
 * load follows each endpoint's room, a dead endpoint is taken out and probed back in, and a
 * 429 storm lowers the in-flight cap while every call still completes. Assertions are counts
 * and ratios, never wall-clock limits.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineOp, type OpEnv } from '../../shared/ops/op.ts';
import { createOpenAIEngine, PoolRegistry, type OpenAIEngine } from '../../shared/llm/openai.ts';
import { createMetrics } from '../../shared/obs/metrics.ts';
import { loadRouting } from '../../shared/llm/routing.ts';
import type { PoolTuning } from '../../shared/llm/pool.ts';
import { loadEnv } from '../../shared/config/env.ts';
import { startFleetSim, type FleetSim, type FleetSimOptions } from '../../shared/sim/fleet.ts';
import { until } from '../helpers/cluster.ts';

const noteOp = defineOp<{ text: string }, { topic: string; points: string[] }>({
  name: 'test.fleet-note',
  kind: 'map',
  version: 1,
  input: z.object({ text: z.string() }),
  output: z.object({ topic: z.string().min(1), points: z.array(z.string()).min(1).max(3) }),
  maxOutputTokens: 80,
  prompt: ({ text }) => [
    { role: 'system', content: 'Name the topic of the passage and up to three points it makes.' },
    { role: 'user', content: text },
  ],
  extractive: ({ text }) => ({ topic: text.slice(0, 20), points: [text] }),
});
const env: OpEnv = { blobText: async () => '' };
const meta = (i: number) => ({ jobId: 'fleet', taskId: i.toString(16).padStart(32, '0') });
const passage = (i: number) => `Passage ${i}: paged attention keeps key value blocks for request ${i} in fixed pages on the accelerator.`;

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
async function sim(o: FleetSimOptions): Promise<FleetSim> {
  const s = await startFleetSim({ model: 'fleet-m', prefillTokensPerSec: 0, decodeTokensPerSec: 0, ...o });
  closers.push(() => s.close());
  return s;
}

/** An engine routed by a real routing file to these endpoints. */
function engineOver(urls: string[], tuning: PoolTuning, metrics = false, extra = '', more: { pools?: PoolRegistry; metrics?: ReturnType<typeof createMetrics> } = {}): OpenAIEngine {
  const dir = mkdtempSync(join(tmpdir(), 'llmxmr-fleet-'));
  const file = join(dir, 'models.yaml');
  writeFileSync(
    file,
    `defaults:\n  model: fleet-m\n  timeoutMs: 10000\n  maxRetries: 6\nmodels:\n  fleet-m:\n    metrics: ${metrics}\n    endpoints:\n${urls.map((u) => `      - url: ${u}\n        maxInFlight: 64\n`).join('')}${extra}`,
  );
  const { routing, problems } = loadRouting(loadEnv({}), { file });
  expect(problems.filter((p) => p.level === 'error')).toEqual([]);
  const e = createOpenAIEngine({ routing: routing!, pool: tuning, retryBaseMs: 20, retryMaxMs: 200, retryAfterCapMs: 500, ...more });
  closers.push(() => e.pool().close());
  return e;
}

/** `calls` executions, at most `concurrency` at a time. */
async function drive(e: OpenAIEngine, calls: number, concurrency: number, start = 0) {
  let next = start;
  let ok = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < start + calls) {
        const i = next++;
        try {
          await e.execute(noteOp, { text: passage(i) }, env, meta(i));
          ok++;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }),
  );
  return { ok, errors };
}

describe('endpoint pool over simulated vLLM endpoints', () => {
  it('spreads load in proportion to each endpoint’s slots and keeps the small one from queueing', async () => {
    const small = await sim({ slots: 2, baseLatencyMs: 150, seed: 1 });
    const large = await sim({ slots: 6, baseLatencyMs: 150, seed: 2 });
    const e = engineOver([small.url, large.url], { initialInFlight: 4, metricsIntervalMs: 50 }, true);
    // Sample, while the calls run, how many calls each endpoint holds and the small one's server
    // queue (states, not durations: a slow machine samples less often but not differently).
    const held: [number, number][] = [];
    const queued: number[] = [];
    const sampler = setInterval(() => {
      const [x, y] = e.pool().snapshot();
      if (x.inFlight + y.inFlight > 0) held.push([x.inFlight, y.inFlight]);
      queued.push(small.stats().waiting);
    }, 20);
    const r = await drive(e, 160, 8); // as many callers as the two endpoints have slots
    clearInterval(sampler);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(160);
    const heldShare = held.reduce((n, [, y]) => n + y, 0) / held.reduce((n, [x, y]) => n + x + y, 0);
    const servedShare = large.stats().successes / (small.stats().successes + large.stats().successes);
    const meanQueue = queued.reduce((a, b) => a + b, 0) / Math.max(1, queued.length);
    const [capSmall, capLarge] = e.pool().snapshot().map((x) => x.cap);
    console.log(
      `[fleet] large endpoint holds ${(heldShare * 100).toFixed(0)}% of the calls in flight (slots: 75%, an even split: 50%), ` +
        `serves ${(servedShare * 100).toFixed(0)}%; caps ${capSmall}/${capLarge}; mean queue on the small one ${meanQueue.toFixed(2)} (an even split: 2)`,
    );
    expect(heldShare).toBeGreaterThan(0.65);
    expect(heldShare).toBeLessThan(0.85);
    expect(servedShare).toBeGreaterThan(0.65);
    expect(servedShare).toBeLessThan(0.85);
    expect(capSmall).toBeLessThan(capLarge);
    expect(capSmall).toBeLessThanOrEqual(4);
    expect(meanQueue).toBeLessThan(1);
  });

  it('takes a dead endpoint out, keeps serving from the others, and probes it back in after it recovers', async () => {
    const a = await sim({ slots: 4, baseLatencyMs: 20, seed: 3 });
    let b = await sim({ slots: 4, baseLatencyMs: 20, seed: 4 });
    const e = engineOver([a.url, b.url], { initialInFlight: 4, probeMs: 100, probeMaxMs: 400, failuresToEject: 2 });
    expect((await drive(e, 40, 6)).ok).toBe(40);
    expect(b.stats().successes).toBeGreaterThan(0);

    const port = b.port;
    await b.close();
    const down = await drive(e, 60, 6, 100);
    expect(down.errors).toEqual([]); // calls that hit the dead endpoint were retried elsewhere
    expect(down.ok).toBe(60);
    const out = e.pool().snapshot()[1];
    expect(out.healthy).toBe(false);
    expect(out.ejections).toBeGreaterThanOrEqual(1);

    b = await sim({ port, slots: 4, baseLatencyMs: 20, seed: 4 });
    await until('the recovered endpoint to be probed back in', () => e.pool().snapshot()[1].healthy, 20_000);
    expect((await drive(e, 60, 6, 200)).ok).toBe(60);
    expect(b.stats().successes).toBeGreaterThan(5);
  });

  it('backs the in-flight cap off under a 429 storm, and every call still completes', async () => {
    const s = await sim({ slots: 4, queueLimit: 0, baseLatencyMs: 60, seed: 5 });
    const e = engineOver([s.url], { initialInFlight: 32 });
    const r = await drive(e, 120, 40);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(120);
    const st = s.stats();
    const cap = e.pool().snapshot()[0].cap;
    console.log(`[fleet] 429 storm: ${st.rejected429} rejections for ${st.successes} successes; cap 32 → ${cap}`);
    expect(st.rejected429).toBeGreaterThan(0);
    expect(cap).toBeLessThanOrEqual(8); // from 32 down towards the 4 slots
    expect(st.rejected429).toBeLessThan(st.successes); // backing off keeps rejections below the useful work
  });

  it('holds its cap at the server’s slots while a queue it built earlier drains, instead of cutting it again at every reading', async () => {
    // 16 calls at once on 4 slots: 12 wait on the server for three round trips. Every reading
    // in that time shows the same queue; the cap should settle at 4, not fall towards 1.
    const s = await sim({ slots: 4, baseLatencyMs: 300, seed: 7 });
    const e = engineOver([s.url], { initialInFlight: 16, metricsIntervalMs: 30 }, true);
    const caps: number[] = [];
    const running: number[] = [];
    const sampler = setInterval(() => {
      caps.push(e.pool().snapshot()[0].cap);
      running.push(s.stats().running);
    }, 10);
    const r = await drive(e, 64, 16);
    clearInterval(sampler);
    expect(r.errors).toEqual([]);
    const steady = running.slice(0, Math.floor(running.length * 0.8));
    const mean = steady.reduce((x, y) => x + y, 0) / Math.max(1, steady.length);
    console.log(`[fleet] caps seen ${Math.min(...caps)}..${Math.max(...caps)}; ${mean.toFixed(2)} of 4 slots busy on average`);
    expect(Math.min(...caps)).toBeGreaterThanOrEqual(3);
    expect(mean).toBeGreaterThan(0.85 * 4);
  });

  it('keeps requests off the server’s queue once a reading has shown how many slots it has', async () => {
    // A request waiting on one server cannot move to another that frees a slot; at the end of a
    // map phase such requests cost a whole extra round. Callers outnumber the slots 4 to 1.
    const s = await sim({ slots: 4, baseLatencyMs: 200, seed: 8 });
    const e = engineOver([s.url], { initialInFlight: 4, metricsIntervalMs: 30 }, true);
    const waiting: number[] = [];
    const running: number[] = [];
    const sampler = setInterval(() => {
      waiting.push(s.stats().waiting);
      running.push(s.stats().running);
    }, 10);
    const r = await drive(e, 80, 16);
    clearInterval(sampler);
    expect(r.errors).toEqual([]);
    const later = (xs: number[]) => xs.slice(Math.floor(xs.length / 3), Math.floor(xs.length * 0.9));
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / Math.max(1, xs.length);
    console.log(`[fleet] after learning: ${mean(later(waiting)).toFixed(2)} waiting, ${mean(later(running)).toFixed(2)} of 4 running on average; cap ${e.pool().snapshot()[0].cap}`);
    expect(mean(later(waiting))).toBeLessThan(0.5);
    expect(mean(later(running))).toBeGreaterThan(0.85 * 4);
  });

  it('takes back the slots another worker process leaves, within a reading or two', async () => {
    // Two pools (two worker processes) share one 8-slot endpoint; each sees only its own calls
    // and the server's queue in /metrics. When A is done, B must fill the whole server quickly.
    const s = await sim({ slots: 8, baseLatencyMs: 200, seed: 6 });
    const [a, b] = [0, 1].map(() => engineOver([s.url], { initialInFlight: 8, metricsIntervalMs: 50 }, true));
    const samples: { t: number; running: number }[] = [];
    const sampler = setInterval(() => samples.push({ t: performance.now(), running: s.stats().running }), 10);
    let aDone = 0;
    const [ra, rb] = await Promise.all([drive(a, 40, 12, 0).then((r) => ((aDone = performance.now()), r)), drive(b, 160, 12, 1000)]);
    const bDone = performance.now();
    clearInterval(sampler);
    expect([...ra.errors, ...rb.errors]).toEqual([]);
    // B alone, while it still has more calls than slots left (its last round is the drain).
    const alone = samples.filter((x) => x.t > aDone && x.t < bDone - 2 * 200).map((x) => x.running);
    const mean = alone.reduce((x, y) => x + y, 0) / Math.max(1, alone.length);
    console.log(`[fleet] after the other pool stopped: ${mean.toFixed(2)} of 8 slots busy on average over ${alone.length} samples; caps ${a.pool().snapshot()[0].cap}/${b.pool().snapshot()[0].cap}`);
    expect(alone.length).toBeGreaterThan(20);
    expect(mean).toBeGreaterThan(0.9 * 8);
  });

  it('reports the calls waiting for an endpoint slot, once per process, for the GPU autoscaler', async () => {
    // The pools keep the servers' queues short, so the backlog is here, not in vllm:num_requests_waiting.
    const s = await sim({ slots: 2, baseLatencyMs: 300, seed: 9 });
    const metrics = createMetrics({ defaultMetrics: false });
    const pools = new PoolRegistry();
    const e = engineOver([s.url], { initialInFlight: 2 }, false, '', { pools, metrics });
    engineOver([s.url], { initialInFlight: 2 }, false, '', { pools, metrics }); // a second engine of the same process
    const waiting = async () => Number((await metrics.registry.metrics()).match(/llmxmr_model_calls_waiting\{model="fleet-m"\} (\d+)/)?.[1] ?? 0);
    const run = drive(e, 8, 8);
    const seen = await until('calls to wait for a slot', async () => ((await waiting()) > 0 ? waiting() : undefined), 10_000);
    const r = await run;
    expect(r.ok).toBe(8);
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThanOrEqual(6); // 8 callers, 2 slots: counted once although two engines share the pools
    expect(await waiting()).toBe(0);
  });
});

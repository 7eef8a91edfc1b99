/**
 * The openai engine's cache, repeated samples, cost and metrics over real HTTP: the simulator
 * behind a small recording proxy shows exactly which requests reached a server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineOp, type OpEnv } from '../../shared/ops/op.ts';
import { createOpenAIEngine } from '../../shared/llm/openai.ts';
import { memoryCache, REPLAY_MISS } from '../../shared/llm/cache.ts';
import { singleModelRouting, type Routing } from '../../shared/llm/routing.ts';
import { PermanentError } from '../../shared/llm/engine.ts';
import { createMetrics } from '../../shared/obs/metrics.ts';
import { startFleetSim, type FleetSim } from '../../shared/sim/fleet.ts';

const scoreOp = defineOp<{ text: string; sample?: number }, { score: number; reason: string }>({
  name: 'test.fleet-score',
  kind: 'convolve',
  version: 1,
  input: z.object({ text: z.string(), sample: z.number().int().min(0).optional() }),
  output: z.object({ score: z.number().int().min(1).max(10), reason: z.string() }),
  maxOutputTokens: 60,
  prompt: ({ text }) => [{ role: 'user', content: `Score this outline from 1 to 10 and give a reason:\n${text}` }],
  extractive: () => ({ score: 5, reason: 'offline' }),
});
const env: OpEnv = { blobText: async () => '' };
const meta = { jobId: 'j', taskId: 'a'.repeat(32) };

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** The simulator behind a proxy that records each chat request body. */
async function recordedSim(): Promise<{ sim: FleetSim; url: string; bodies: any[] }> {
  const sim = await startFleetSim({ model: 'm', baseLatencyMs: 1, prefillTokensPerSec: 0, decodeTokensPerSec: 0, seed: 2 });
  const bodies: any[] = [];
  const proxy = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', async () => {
      if (req.url?.endsWith('/chat/completions')) bodies.push(JSON.parse(data));
      const r = await fetch(`http://127.0.0.1:${sim.port}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: req.method === 'POST' ? data : undefined });
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(await r.text());
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  closers.push(() => sim.close(), () => new Promise<void>((r) => (proxy.closeAllConnections(), proxy.close(() => r()))));
  return { sim, url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`, bodies };
}

function priced(url: string): Routing {
  const r = singleModelRouting({ url, model: 'm', timeoutMs: 5000, maxRetries: 2, temperature: 0.8 });
  r.models.get('m')!.price = { prompt: 2 / 1e6, completion: 8 / 1e6 };
  return r;
}

describe('openai engine: cache, samples, cost, metrics', () => {
  it('sends each repeated sample with its own seed, caches them apart, and pays nothing on a rerun', async () => {
    const { url, bodies } = await recordedSim();
    const cache = memoryCache();
    const metrics = createMetrics({ defaultMetrics: false });
    const e = createOpenAIEngine({ routing: priced(url), cache, metrics });
    const text = 'Introduction; Methods; Results';
    const first = await Promise.all([0, 1, 2].map((sample) => e.execute(scoreOp, { text, sample }, env, meta)));
    expect(bodies.map((b) => b.seed).sort()).toEqual([0, 1, 2]);
    expect(bodies.every((b) => b.temperature === 0.8)).toBe(true);
    expect(cache.size()).toBe(3);
    for (const r of first) {
      expect(r.usage).toMatchObject({ calls: 1, cachedCalls: 0 });
      expect(r.usage.costDollars).toBeCloseTo(r.usage.promptTokens * 2e-6 + r.usage.completionTokens * 8e-6, 12);
    }

    const again = await Promise.all([0, 1, 2].map((sample) => e.execute(scoreOp, { text, sample }, env, { ...meta, cache: 'use' })));
    expect(bodies).toHaveLength(3); // nothing new reached the server
    expect(again.map((r) => r.output)).toEqual(first.map((r) => r.output));
    expect(again.every((r) => r.usage.calls === 0 && r.usage.cachedCalls === 1 && r.usage.costDollars === 0)).toBe(true);

    const text2 = await metrics.registry.metrics();
    expect(text2).toMatch(/llmxmr_model_cache_hits_total\{model="m"\} 3/);
    expect(text2).toMatch(/llmxmr_model_tokens_total\{endpoint="127\.0\.0\.1:\d+",model="m",type="prompt"\} \d+/);
    expect(text2).toMatch(/llmxmr_model_cost_dollars_total\{model="m"\} 0\.\d+/);
  });

  it('record always calls and overwrites; replay serves stored replies and fails clearly on a miss', async () => {
    const { url, bodies } = await recordedSim();
    const cache = memoryCache();
    const e = createOpenAIEngine({ routing: priced(url), cache });
    const a = await e.execute(scoreOp, { text: 'A; B' }, env, { ...meta, cache: 'record' });
    const b = await e.execute(scoreOp, { text: 'A; B' }, env, { ...meta, cache: 'record' });
    expect(bodies).toHaveLength(2);
    expect(b.usage.cachedCalls).toBe(0);
    const r = await e.execute(scoreOp, { text: 'A; B' }, env, { ...meta, cache: 'replay' });
    expect(bodies).toHaveLength(2);
    expect(r.output).toEqual(a.output);
    const miss = await e.execute(scoreOp, { text: 'C; D' }, env, { ...meta, cache: 'replay' }).catch((x) => x);
    expect(miss).toBeInstanceOf(PermanentError);
    expect(miss.message).toContain(REPLAY_MISS);
    expect(miss.message).toMatch(/no stored reply for this call to m/);
    expect(bodies).toHaveLength(2);
    const off = await e.execute(scoreOp, { text: 'A; B' }, env, { ...meta, cache: 'off' });
    expect(off.usage.calls).toBe(1);
    expect(bodies).toHaveLength(3);
  });
});

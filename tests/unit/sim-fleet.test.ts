/** The fleet simulator over real HTTP: slots and queueing, 429s, faults, metrics, schema-valid content. */
import { afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { z } from 'zod';
import { startFleetSim, type FleetSim, type FleetSimOptions } from '../../shared/sim/fleet.ts';

const sims: FleetSim[] = [];
async function sim(o: FleetSimOptions): Promise<FleetSim> {
  const s = await startFleetSim({ port: 0, host: '127.0.0.1', ...o });
  sims.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const client = (s: FleetSim, timeout = 10_000) => new OpenAI({ baseURL: s.url, apiKey: 'test', maxRetries: 0, timeout });
const ask = (c: OpenAI, text: string, extra: Record<string, unknown> = {}) =>
  c.chat.completions.create({ model: 'sim-model', messages: [{ role: 'user', content: text }], max_tokens: 64, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming);

describe('fleet simulator', () => {
  it('serves R×S requests at once and queues the rest: throughput ≈ slots / latency', async () => {
    // 2 replicas × 4 slots. Eight blockers hold every slot for 2.5 s while 96 requests of 250 ms
    // arrive, so (nearly) all of them queue even when a loaded machine sends them slowly; then they need
    // 12 waves (3 s) after the blockers.
    const s = await sim({ replicas: 2, slots: 4, baseLatencyMs: 250, prefillTokensPerSec: 0, decodeTokensPerSec: 0 });
    const c = client(s);
    await Promise.all(Array.from({ length: 8 }, (_, i) => ask(c, `warm-up ${i}`))); // open connections first
    s.resetStats();
    s.setBaseLatency(2500);
    const t0 = performance.now();
    const blockers = Promise.all(Array.from({ length: 8 }, (_, i) => ask(c, `blocker ${i}`)));
    for (let i = 0; i < 500 && s.stats().running < 8; i++) await new Promise((r) => setTimeout(r, 5));
    s.setBaseLatency(250);
    await Promise.all([blockers, ...Array.from({ length: 96 }, (_, i) => ask(c, `question number ${i} about kernels`))]);
    const ms = performance.now() - t0;
    const st = s.stats();
    expect(st.successes).toBe(104);
    expect(st.maxConcurrent).toBe(8);
    expect(st.maxWaiting).toBeGreaterThanOrEqual(72);
    expect(ms).toBeGreaterThanOrEqual(2_500 + 12 * 250 - 10);
    // Upper bounds on wall time are for benchmarks (`npm run bench:fleet`), not tests: a loaded
    // machine only makes things slower, so only the simulator's guarantees are asserted here.
    expect(st.busySlotMs).toBeGreaterThanOrEqual(8 * 2_500 + 96 * 250 - 5);
    expect(st.slotUtilisation).toBeGreaterThan(0);
    expect(st.slotUtilisation).toBeLessThanOrEqual(1);
  });

  it('charges prefill and decode time per token', async () => {
    // 400-char prompt ≈ 100+4 tokens at 1000 tok/s ≈ 104 ms, plus 64 output tokens at 400 tok/s = 160 ms.
    const s = await sim({ baseLatencyMs: 20, prefillTokensPerSec: 1000, decodeTokensPerSec: 400 });
    const c = client(s);
    const t0 = performance.now();
    const r = await ask(c, 'kernel '.repeat(57).slice(0, 400), { max_tokens: 64 });
    const ms = performance.now() - t0;
    const expected = 20 + ((r.usage!.prompt_tokens / 1000) + r.usage!.completion_tokens / 400) * 1000;
    expect(ms).toBeGreaterThanOrEqual(expected - 5);
  });

  it('changes its base latency at run time for the requests that follow', async () => {
    const s = await sim({ baseLatencyMs: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0 });
    const c = client(s);
    await ask(c, 'a fast warm-up request');
    s.setBaseLatency(250);
    const t0 = performance.now();
    await ask(c, 'a request after the change');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(245);
    expect(s.stats().busySlotMs).toBeGreaterThanOrEqual(245);
    expect(() => s.setBaseLatency(-1)).toThrow(/≥ 0/);
  });

  it('answers 429 with Retry-After when the queue is full', async () => {
    const s = await sim({ slots: 1, queueLimit: 1, baseLatencyMs: 200, prefillTokensPerSec: 0, decodeTokensPerSec: 0 });
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        fetch(`${s.url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'sim-model', messages: [{ role: 'user', content: `q${i}` }] }),
        }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { error: { message: string } } })),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]);
    const rejected = results.find((r) => r.status === 429)!;
    expect(Number(rejected.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(rejected.body.error.message).toMatch(/busy/);
    expect(s.stats().rejected429).toBe(2);
  });

  it('returns content valid for the requested JSON schema, from prompt words, the same for the same prompt', async () => {
    const s = await sim({ baseLatencyMs: 1, decodeTokensPerSec: 0 });
    const c = client(s);
    const Out = z.object({
      title: z.string().min(3).max(60),
      score: z.number().int().min(1).max(5),
      themes: z.array(z.object({ name: z.string(), weight: z.number().min(0).max(1) })).min(1).max(3),
      note: z.string().nullable(),
    });
    const rf = { type: 'json_schema', json_schema: { name: 'review', schema: z.toJSONSchema(Out), strict: false } };
    const prompt = 'Review the paper on sparse attention kernels for long documents';
    const a = await ask(c, prompt, { response_format: rf, max_tokens: 400 });
    const b = await ask(c, prompt, { response_format: rf, max_tokens: 400 });
    const value = Out.parse(JSON.parse(a.choices[0].message.content!));
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
    expect(value.title.split(' ').some((w) => ['review', 'paper', 'sparse', 'attention', 'kernels', 'long', 'documents'].includes(w))).toBe(true);
    const text = await ask(c, prompt);
    expect(text.choices[0].message.content).toMatch(/\w+/);
    expect(text.usage!.completion_tokens).toBeLessThanOrEqual(64);
  });

  it('exposes vLLM metric names on /metrics and counts requests and tokens', async () => {
    const s = await sim({ baseLatencyMs: 1, decodeTokensPerSec: 0 });
    const c = client(s);
    for (let i = 0; i < 3; i++) await ask(c, `metric probe ${i}`);
    const text = await (await fetch(s.url.replace(/\/v1$/, '/metrics'))).text();
    for (const name of ['vllm:request_success_total', 'vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:prompt_tokens_total', 'vllm:generation_tokens_total']) {
      expect(text).toContain(name);
    }
    const finished = [...text.matchAll(/^vllm:request_success_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(finished).toBe(3);
    const prompt = Number(/vllm:prompt_tokens_total\{[^}]*\} (\d+)/.exec(text)![1]);
    expect(prompt).toBe(s.stats().promptTokens);
    const models = await c.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['sim-model']);
    expect((await fetch(s.url.replace(/\/v1$/, '/health'))).status).toBe(200);
  });

  it('injects faults by seed: 5xx, hangs that hold a slot until the client gives up, garbled bodies', async () => {
    const s5 = await sim({ faultRate: 1, faults: { http5xx: 1, timeout: 0, malformed: 0, slow: 0 }, baseLatencyMs: 1 });
    const e = await ask(client(s5), 'x').catch((err) => err);
    expect([500, 503]).toContain(e.status);
    expect(s5.stats().faults.http5xx).toBe(1);

    const hang = await sim({ faultRate: 1, faults: { http5xx: 0, timeout: 1, malformed: 0, slow: 0 }, slots: 1 });
    const t0 = performance.now();
    const te = await ask(client(hang, 300), 'x').catch((err) => err);
    expect(te.constructor.name).toBe('APIConnectionTimeoutError');
    expect(performance.now() - t0).toBeLessThan(30_000); // the client gave up; the sim did not answer
    for (let i = 0; i < 200 && hang.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(hang.stats()).toMatchObject({ running: 0, clientAborts: 1 });

    const bad = await sim({ faultRate: 1, faults: { http5xx: 0, timeout: 0, malformed: 1, slow: 0 }, baseLatencyMs: 1, decodeTokensPerSec: 0 });
    const be = await ask(client(bad), 'x').catch((err) => err); // text mode: always a garbled body
    expect(be).toBeInstanceOf(SyntaxError);
    expect(bad.stats().faults.malformed).toBe(1);
  });

  it('rejects prompts over the context window with vLLM\'s 400 and unknown models with 404', async () => {
    const s = await sim({ maxModelLen: 100 });
    const c = client(s);
    const e = await ask(c, 'word '.repeat(200)).catch((err) => err);
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/maximum context length is 100 tokens/);
    const m = await c.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: 'hi' }] }).catch((err) => err);
    expect(m.status).toBe(404);
    expect(s.stats()).toMatchObject({ requests: 2, badRequests: 2, successes: 0 });
  });
});

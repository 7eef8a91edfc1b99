/**
 * The openai engine over real HTTP with the real openai client: against the fleet simulator and
 * against tiny servers (started here) that misbehave in one precise way each.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { z } from 'zod';
import { defineOp, type OpEnv } from '../../shared/ops/op.ts';
import { PermanentError, TransientError } from '../../shared/llm/engine.ts';
import { ContextLengthError, createOpenAIEngine, outputFailureCounts, type OpenAIEngineOptions } from '../../shared/llm/openai.ts';
import { defaultEngineName, engineFor } from '../../shared/llm/select.ts';
import { extractiveEngine } from '../../shared/llm/extractive.ts';
import { loadEnv } from '../../shared/config/env.ts';
import { startFleetSim, type FleetSim, type FleetSimOptions } from '../../shared/sim/fleet.ts';

// A real op definition for these tests: rate a passage and name its themes.
const Rating = z.object({
  title: z.string().min(1).max(80),
  score: z.number().int().min(1).max(5),
  themes: z.array(z.string()).min(1).max(4),
  caveat: z.string().nullable(),
});
type Rating = z.infer<typeof Rating>;
const rateOp = defineOp<{ text: string }, Rating>({
  name: 'test.rate',
  kind: 'map',
  version: 1,
  input: z.object({ text: z.string() }),
  output: Rating,
  maxOutputTokens: 300,
  prompt: ({ text }) => [
    { role: 'system', content: 'You rate passages. Give a title, a score from 1 to 5, up to four themes and an optional caveat.' },
    { role: 'user', content: `Passage:\n${text}` },
  ],
  // Free-text fallback: "title: …\nscore: N\nthemes: a, b".
  parse(text) {
    const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'mi').exec(text)?.[1]?.trim();
    const title = field('title');
    if (!title) throw new Error('no "title:" line');
    return { title, score: Number(field('score')), themes: (field('themes') ?? '').split(/,\s*/).filter(Boolean), caveat: null };
  },
  extractive: ({ text }) => ({ title: text.slice(0, 40) || 'untitled', score: 3, themes: ['general'], caveat: null }),
});
const strictOp = defineOp({ ...rateOp, name: 'test.rate-strict', parse: undefined });

const env: OpEnv = { blobText: async () => '' };
const meta = { jobId: 'job-1', taskId: 't'.repeat(32) };
const input = { text: 'Sparse attention kernels make long-document models cheaper to run on GPU fleets.' };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
async function sim(o: FleetSimOptions = {}): Promise<FleetSim> {
  const s = await startFleetSim({ port: 0, host: '127.0.0.1', baseLatencyMs: 1, decodeTokensPerSec: 0, ...o });
  closers.push(() => s.close());
  return s;
}
/** A one-purpose server: `reply` answers the n-th request (0-based) with its parsed body. */
async function tiny(reply: (n: number, body: any, res: http.ServerResponse) => void) {
  const bodies: any[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const body = JSON.parse(data || '{}');
      bodies.push(body);
      reply(bodies.length - 1, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, bodies };
}
const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const completion = (content: string, usage = { prompt_tokens: 11, completion_tokens: 7 }) => ({
  id: 'x', object: 'chat.completion', created: 0, model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
});
const engine = (baseURL: string, o: Partial<OpenAIEngineOptions> = {}) =>
  createOpenAIEngine({ baseURL, model: 'sim-model', apiKey: 'test', timeoutMs: 5_000, maxRetries: 3, retryBaseMs: 20, retryMaxMs: 100, ...o });
const failuresOf = (op: string) => outputFailureCounts().filter((f) => f.op === op).reduce((a, f) => ({ invalid: a.invalid + f.invalidOutput, malformed: a.malformed + f.malformedResponse, repaired: a.repaired + f.repaired }), { invalid: 0, malformed: 0, repaired: 0 });

describe('openai engine', () => {
  it('returns schema-valid output from the simulator, with the schema sent as response_format', async () => {
    const s = await sim();
    const e = engine(s.url);
    const { output, usage } = await e.execute(rateOp, input, env, meta);
    expect(Rating.safeParse(output).success).toBe(true);
    expect(usage.calls).toBe(1);
    expect(usage.promptTokens).toBe(s.stats().promptTokens);
    expect(usage.completionTokens).toBe(s.stats().completionTokens);
    expect(e.structuredOutput()).toBe(true);
  });

  it('falls back to prompt instructions and a tolerant parse when the server refuses json_schema, and remembers it', async () => {
    const srv = await tiny((_n, body, res) => {
      if (body.response_format) return json(res, 400, { error: { message: "response_format 'json_schema' is not supported", type: 'invalid_request_error' } });
      json(res, 200, completion('Sure, here it is:\n```json\n{"title":"Kernels","score":4,"themes":["attention"],"caveat":null}\n```\nAnything else?'));
    });
    const e = engine(srv.url);
    const a = await e.execute(strictOp, input, env, meta);
    expect(a.output).toEqual({ title: 'Kernels', score: 4, themes: ['attention'], caveat: null });
    expect(srv.bodies).toHaveLength(2);
    expect(srv.bodies[1].messages[0].content).toMatch(/JSON Schema/); // the schema moved into the prompt
    expect(e.structuredOutput()).toBe(false);
    await e.execute(strictOp, input, env, meta);
    expect(srv.bodies).toHaveLength(3); // no second refusal: the engine remembered
    expect(srv.bodies[2].response_format).toBeUndefined();
  });

  it("uses the op's text parser when the reply is not JSON", async () => {
    const srv = await tiny((_n, body, res) =>
      body.response_format ? json(res, 400, { error: { message: 'guided decoding unsupported' } }) : json(res, 200, completion('title: Cheap kernels\nscore: 5\nthemes: attention, cost')),
    );
    const { output, usage } = await engine(srv.url).execute(rateOp, input, env, meta);
    expect(output).toEqual({ title: 'Cheap kernels', score: 5, themes: ['attention', 'cost'], caveat: null });
    expect(usage.calls).toBe(1);
  });

  it('asks once for a repair when the reply does not validate, counting the failure and both calls', async () => {
    const before = failuresOf(strictOp.name);
    const srv = await tiny((n, _body, res) =>
      json(res, 200, completion(n === 0 ? '{"title":"Kernels","score":9,"themes":[]}' : '{"title":"Kernels","score":5,"themes":["gpu"],"caveat":null}')),
    );
    const { output, usage } = await engine(srv.url).execute(strictOp, input, env, meta);
    expect(output.score).toBe(5);
    expect(usage).toMatchObject({ calls: 2, promptTokens: 22, completionTokens: 14 });
    const repairMsg = srv.bodies[1].messages.at(-1).content as string;
    expect(repairMsg).toMatch(/score/);
    expect(failuresOf(strictOp.name)).toEqual({ invalid: before.invalid + 1, malformed: before.malformed, repaired: before.repaired + 1 });

  });

  it("answers with the op's offline implementation, and says why, when the repair round fails too", async () => {
    const hopeless = await tiny((_n, _b, res) => json(res, 200, completion('I would rather not.')));
    const r = await engine(hopeless.url).execute(strictOp, input, env, meta);
    expect(hopeless.bodies).toHaveLength(2); // one repair round, no more
    expect(r.output).toEqual(strictOp.extractive(input, env));
    expect(r.fallback).toMatch(/could not be used even after a repair round/);
    expect(r.usage).toMatchObject({ calls: 2, repairs: 1, fallbacks: 1 });
  });

  it('sends the per-request reply schema, titled with the op name, and refuses values outside its enum', async () => {
    const themed = defineOp({
      ...strictOp,
      name: 'test.rate-themed',
      replySchema: (i: { text: string }) => Rating.extend({ themes: z.array(z.enum(i.text.split(' ').slice(0, 3) as [string, ...string[]])).min(1).max(4) }),
    });
    const srv = await tiny((n, _b, res) =>
      json(res, 200, completion(JSON.stringify({ title: 'K', score: 3, themes: [n === 0 ? 'unheard' : 'attention'], caveat: null }))),
    );
    const r = await engine(srv.url).execute(themed, input, env, meta);
    const sent = srv.bodies[0].response_format.json_schema.schema;
    expect(sent.title).toBe('test.rate-themed');
    expect(sent.properties.themes.items.enum).toEqual(['Sparse', 'attention', 'kernels']);
    expect(srv.bodies[1].messages.at(-1).content).toMatch(/themes/); // the repair names the bad field
    expect(r.output.themes).toEqual(['attention']);
    expect(r.usage.repairs).toBe(1);
  });

  it("states the op's check problems in the repair round", async () => {
    const checked = defineOp({ ...strictOp, name: 'test.rate-checked', check: (o: Rating) => (o.themes.length < 2 ? ['Name at least two themes of the passage.'] : []) });
    const srv = await tiny((n, _b, res) => json(res, 200, completion(JSON.stringify({ title: 'K', score: 3, themes: n === 0 ? ['gpu'] : ['gpu', 'cost'], caveat: null }))));
    const r = await engine(srv.url).execute(checked, input, env, meta);
    expect(srv.bodies).toHaveLength(2);
    expect(srv.bodies[1].messages.at(-1).content).toContain('Name at least two themes of the passage.');
    expect(r.output.themes).toEqual(['gpu', 'cost']);
    expect(r.fallback).toBeUndefined();
  });

  it('refuses free text cut off at the output limit and asks for a shorter reply', async () => {
    const srv = await tiny((n, _b, res) => {
      const c = completion(n === 0 ? 'title: Cheap kernels\nscore: 5\nthemes: attention, co' : 'title: Cheap kernels\nscore: 5\nthemes: attention, cost');
      if (n === 0) c.choices[0].finish_reason = 'length';
      json(res, 200, c);
    });
    const { output, usage } = await engine(srv.url).execute(rateOp, input, env, meta);
    expect(srv.bodies[1].messages.at(-1).content).toMatch(/cut off at the output limit/);
    expect(output.themes).toEqual(['attention', 'cost']);
    expect(usage.repairs).toBe(1);
  });

  it('puts the schema into the prompt for a server without structured output, even when the op has a text parser', async () => {
    const srv = await tiny((_n, body, res) =>
      body.response_format ? json(res, 400, { error: { message: 'response_format is not supported' } }) : json(res, 200, completion(JSON.stringify({ title: 'a', score: 2, themes: ['b'], caveat: null }))),
    );
    await engine(srv.url).execute(rateOp, input, env, meta);
    const system = srv.bodies[1].messages[0].content as string;
    const line = system.split('It must satisfy this JSON Schema:\n').at(-1)!;
    expect(JSON.parse(line)).toMatchObject({ title: 'test.rate', properties: { score: { maximum: 5 } } });
  });

  it('survives malformed replies from the simulator by repairing or retrying, and counts each one', async () => {
    const op = defineOp({ ...strictOp, name: 'test.rate-malformed' });
    const s = await sim({ faultRate: 0.3, faults: { http5xx: 0, timeout: 0, malformed: 1, slow: 0 }, seed: 42 });
    const e = engine(s.url, { maxRetries: 4 });
    let ok = 0;
    for (let i = 0; i < 30; i++) {
      const r = await e.execute(op, { text: `${input.text} (${i})` }, env, meta).catch((x) => x);
      if (r instanceof Error) expect(r).toBeInstanceOf(TransientError);
      else if (!r.fallback) ok++, expect(Rating.safeParse(r.output).success).toBe(true);
    }
    const f = failuresOf(op.name);
    expect(s.stats().faults.malformed).toBeGreaterThan(3);
    expect(f.malformed + f.invalid).toBe(s.stats().faults.malformed); // every garbled reply was seen and counted
    expect(f.malformed).toBeGreaterThan(0);
    expect(f.repaired).toBeGreaterThan(0);
    expect(ok).toBeGreaterThanOrEqual(27);
  });

  it('honours Retry-After on 429, within its cap', async () => {
    const srv = await tiny((n, _b, res) =>
      n === 0 ? json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' }) : json(res, 200, completion(JSON.stringify({ title: 'a', score: 1, themes: ['b'], caveat: null }))),
    );
    let t0 = performance.now();
    await engine(srv.url).execute(strictOp, input, env, meta);
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(20_000); // Retry-After of 1 s, not a default backoff of minutes

    const long = await tiny((n, _b, res) =>
      n === 0 ? json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '120' }) : json(res, 200, completion(JSON.stringify({ title: 'a', score: 1, themes: ['b'], caveat: null }))),
    );
    t0 = performance.now();
    await engine(long.url, { retryAfterCapMs: 300 }).execute(strictOp, input, env, meta);
    expect(performance.now() - t0).toBeLessThan(30_000); // 120 s cut to the 300 ms cap

    const over = await tiny((_n, _b, res) => json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '120' }));
    t0 = performance.now();
    const err = await engine(over.url, { budgetMs: 2_000 }).execute(strictOp, input, env, meta).catch((x) => x);
    expect(performance.now() - t0).toBeLessThan(15_000); // waiting 30 s would break the budget: hand back at once
    expect(err).toBeInstanceOf(TransientError);
    expect(err.retryAfterMs).toBe(120_000); // the worker can nak with the server's hint
  });

  it('retries 5xx with backoff, then gives up with a TransientError', async () => {
    const flaky = await tiny((n, _b, res) =>
      n < 2 ? json(res, 503, { error: { message: 'overloaded' } }) : json(res, 200, completion(JSON.stringify({ title: 'a', score: 2, themes: ['b'], caveat: null }))),
    );
    const { usage } = await engine(flaky.url).execute(strictOp, input, env, meta);
    expect(usage.calls).toBe(1);
    expect(flaky.bodies).toHaveLength(3);

    const down = await tiny((_n, _b, res) => json(res, 500, { error: { message: 'boom' } }));
    const err = await engine(down.url, { maxRetries: 2 }).execute(strictOp, input, env, meta).catch((x) => x);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/500.*after 3 attempts/);
    expect(down.bodies).toHaveLength(3);
  });

  it('does not retry a 400 for context length: PermanentError with the server message, one request', async () => {
    const s = await sim({ maxModelLen: 200 });
    const err = await engine(s.url).execute(strictOp, { text: 'long '.repeat(400) }, env, meta).catch((x) => x);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toBeInstanceOf(ContextLengthError);
    expect(err.message).toMatch(/maximum context length is 200 tokens/);
    expect(s.stats().requests).toBe(1);
  });

  it('times out a hanging request and reports a TransientError', async () => {
    const s = await sim({ faultRate: 1, faults: { http5xx: 0, timeout: 1, malformed: 0, slow: 0 } });
    const t0 = performance.now();
    const err = await engine(s.url, { timeoutMs: 300, maxRetries: 1 }).execute(strictOp, input, env, meta).catch((x) => x);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/did not answer in time/);
    expect(performance.now() - t0).toBeLessThan(30_000); // bounded by the timeouts, not hanging
    expect(s.stats().requests).toBe(2);
    for (let i = 0; i < 200 && s.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.stats()).toMatchObject({ running: 0, clientAborts: 2 });
  });

  it('never writes the API key to the log', async () => {
    let logged = '';
    const sink = new Writable({ write: (chunk, _enc, cb) => ((logged += chunk.toString()), cb()) });
    const srv = await tiny((n, _b, res) => (n < 1 ? json(res, 503, { error: { message: 'busy' } }) : json(res, 200, completion('nope'))));
    await engine(srv.url, { apiKey: 'sk-very-secret-123', log: pino({ level: 'debug' }, sink) }).execute(strictOp, input, env, meta).catch(() => undefined);
    expect(logged).toMatch(/retrying/);
    expect(logged).not.toContain('sk-very-secret-123');
  });
});

describe('engine selection', () => {
  it('picks extractive without a server, openai with one, and says which variable is missing', async () => {
    expect(defaultEngineName(loadEnv({}))).toBe('extractive');
    expect(engineFor('extractive', loadEnv({}))).toBe(extractiveEngine);
    expect(() => engineFor('openai', loadEnv({}))).toThrow(/OPENAI_BASE_URL and LLM_MODEL/);
    expect(() => engineFor('openai', loadEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' }))).toThrow(/set LLM_MODEL/);
    const s = await sim();
    const e = loadEnv({ OPENAI_BASE_URL: s.url, LLM_MODEL: 'sim-model' });
    expect(defaultEngineName(e)).toBe('openai');
    const a = engineFor('openai', e);
    expect(engineFor('openai', e)).toBe(a); // cached
    const { output } = await a.execute(rateOp, input, env, meta);
    expect(Rating.safeParse(output).success).toBe(true);
  });
});

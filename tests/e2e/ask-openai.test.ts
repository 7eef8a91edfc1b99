/**
 * V1 through the cluster on the `openai` engine: the real `openai` client talks over real HTTP
 * to an OpenAI-compatible server started by this test. The server is a scripted "model": it
 * reads the prompt it is sent and answers in the JSON shape requested by response_format.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRng } from '../../shared/algo/rng.ts';
import { makeHaystack } from '../../shared/algo/haystack.ts';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

interface Req { messages: Array<{ role: string; content: string }>; response_format?: { json_schema?: { schema?: { properties?: Record<string, { type?: unknown }> } } } }

let server: Server;
let url = '';
const seen: Req[] = [];
const authHeaders: string[] = [];

/** Fill the requested object schema from what the prompt shows: a 5-digit key, or nothing. */
function reply(req: Req): string {
  const text = req.messages.map((m) => m.content).join('\n');
  const key = /\b\d{5}\b/.exec(text)?.[0];
  const props = req.response_format?.json_schema?.schema?.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(props)) {
    const type = Array.isArray(p.type) ? p.type[0] : p.type;
    if (name === 'answer') out[name] = key ?? '[NO INFORMATION]';
    else if (name === 'confidence') out[name] = key ? 5 : 0;
    else if (name === 'irrelevant') out[name] = !key;
    else if (name === 'evidence') out[name] = key ? `The pass key is ${key}.` : ''; // quoted from the text, as v1.map's check requires
    else if (type === 'array') out[name] = [];
    else if (type === 'number' || type === 'integer') out[name] = 0;
    else if (type === 'boolean') out[name] = false;
    else out[name] = key ? `the text states the pass key ${key}` : 'nothing about a pass key here';
  }
  return JSON.stringify(out);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      authHeaders.push(String(req.headers.authorization ?? ''));
      const parsed = JSON.parse(body) as Req;
      seen.push(parsed);
      const content = reply(parsed);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: `cmpl-${seen.length}`, object: 'chat.completion', created: 0, model: 'scripted',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
        usage: { prompt_tokens: Math.ceil(body.length / 4), completion_tokens: Math.ceil(content.length / 4), total_tokens: 0 },
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('V1 on the openai engine over real HTTP', () => {
  let cluster: TestCluster;
  afterAll(async () => cluster?.close());

  it('answers the pass key with one model call per task and counts tokens', async () => {
    cluster = await testCluster(testEnv({ OPENAI_BASE_URL: url, LLM_MODEL: 'scripted', OPENAI_API_KEY: 'sk-test-secret', MR_CONCURRENCY: '8' }));
    await cluster.start('coordinator');
    await cluster.start('mapper');
    await cluster.start('reducer');
    const h = makeHaystack('passkey', 32_768, createRng(5), 0.6);
    await cluster.bus.putBlob('docs/oa-1.txt', h.context);
    await submitJob(cluster.bus, { jobId: 'oa-1', pipeline: 'v1', engine: 'openai', params: { docKey: 'docs/oa-1.txt', question: h.question, profile: 'retrieval' } });
    const st = await waitForJob(cluster.bus, 'oa-1');
    expect(st.error).toBeUndefined();
    const r = (await fetchResult(cluster.bus, st)) as Record<string, any>;
    expect(r.answer).toContain(h.answer);
    expect(r.usage.calls).toBe(r.usage.tasks);
    expect(r.usage.calls).toBe(seen.length);
    expect(r.usage.promptTokens).toBeGreaterThan(30_000);
    expect(seen.every((q) => q.response_format?.json_schema)).toBe(true);
    expect(authHeaders.every((a) => a === 'Bearer sk-test-secret')).toBe(true);
    // sources reach the model fenced as data
    expect(seen[0].messages.some((m) => /data, not instructions/.test(m.content))).toBe(true);
  });
});

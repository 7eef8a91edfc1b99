/**
 * Secrets never reach logs or records. Services run with a NATS password and a model API key
 * set to recognisable strings, talk to an OpenAI-compatible server that checks the key (and
 * fails some calls, so error paths log too), and every log line and every byte stored on the
 * bus (job status, results, events, dead letters, blobs, presence) is searched for them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { createLogger } from '../../shared/log/logger.ts';
import { names } from '../../shared/protocol/names.ts';
import { streamNames, type SecurityRole } from '../../shared/security/permissions.ts';
import { submitJob, waitForJob, fetchResult, uploadInput } from '../../shared/client/client.ts';
import { startRole, type RoleHandle } from '../../services/role.ts';
import { startSecureNats, type SecureNats } from '../helpers/secure-nats.ts';
import { TEST_OPS, fanoutScript } from '../helpers/test-ops.ts';
import { tmpLog } from '../helpers/cluster.ts';

const PREFIX = 'sx';
const tag = randomBytes(6).toString('hex');
const API_KEY = `sk-test-${tag}-DO-NOT-LOG`;
const passwordOf = (r: SecurityRole) => `natspw-${r}-${tag}-DO-NOT-LOG`;
const SECRETS = [API_KEY, ...(['admin', 'coordinator', 'mapper', 'client'] as const).map(passwordOf)];

const logs: string[] = [];
const sink = { write: (line: string) => void logs.push(line) };

/** An OpenAI-compatible server: checks the bearer key; "fail-once" answers 500 to the first call, "reject" answers 400. */
let mode: 'fail-once' | 'ok' | 'reject' = 'fail-once';
const seenKeys = new Set<string>();
let model: Server;
let s: SecureNats;
let admin: Bus;
const roles: RoleHandle[] = [];

function startModelServer(): Promise<string> {
  model = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seenKeys.add(String(req.headers.authorization));
      const reply = (status: number, obj: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (req.headers.authorization !== `Bearer ${API_KEY}`) return reply(401, { error: { message: 'unknown key' } });
      if (mode === 'fail-once') {
        mode = 'ok';
        return reply(500, { error: { message: 'the model is warming up' } });
      }
      if (mode === 'reject') return reply(400, { error: { message: 'this request is not acceptable' } });
      const msgs = JSON.parse(body).messages as { content: string }[];
      const n = Number(/double (-?\d+)/.exec(msgs.map((m) => m.content).join(' '))?.[1] ?? 0);
      reply(200, {
        id: 'c1',
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: JSON.stringify({ n, doubled: 2 * n }) } }],
        usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      });
    });
  });
  return new Promise((r) => model.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(model.address() as AddressInfo).port}/v1`)));
}

beforeAll(async () => {
  const baseUrl = await startModelServer();
  s = await startSecureNats(PREFIX, [], passwordOf);
  const anc = await connectNats(s.env('admin'), { reconnect: false });
  await provision(anc, names(PREFIX), { maxDeliver: 2, ackWaitMs: 5_000 });
  admin = await Bus.open(anc, PREFIX);
  for (const role of ['coordinator', 'mapper'] as const) {
    const env = s.env(role, { OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: API_KEY, LLM_MODEL: 'test-model', LLM_MAX_RETRIES: '2', MR_MAX_DELIVER: '2', LOG_LEVEL: 'trace' });
    const log = createLogger(role, 'trace', sink);
    log.info({ env }, 'configuration'); // the whole configuration, as a careless service might log it
    roles.push(await startRole(role, { env, log, extraOps: TEST_OPS, extraScripts: { v1: fanoutScript } }));
  }
});

afterAll(async () => {
  for (const r of roles.splice(0).reverse()) await r.stop().catch(() => undefined);
  await admin?.nc.close().catch(() => undefined);
  await s?.stop();
  model?.close();
});

function leaks(text: string): string[] {
  return SECRETS.filter((secret) => text.includes(secret));
}

/** Every message stored under the prefix, as text (KV values, blobs, events, dead letters). */
async function everythingStored(bus: Bus): Promise<{ count: number; text: string }> {
  let count = 0;
  const parts: string[] = [];
  for (const stream of streamNames(bus.names)) {
    const info = await bus.jsm.streams.info(stream);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!m) continue;
      count++;
      parts.push(m.subject, Buffer.from(m.data).toString('latin1'), m.header ? [...m.header.keys()].map((k) => m.header!.get(k)).join(' ') : '');
    }
  }
  return { count, text: parts.join('\n') };
}

describe('secrets stay out of logs and records', () => {
  it('a job through the model server with a key and a NATS password leaves neither in logs or on the bus', async () => {
    const nc = await connectNats(s.env('client'), { reconnect: false });
    const client = await Bus.open(nc, PREFIX);
    try {
      const log = tmpLog();
      // a publisher's job names its own upload (the test script does not read it)
      const docKey = await uploadInput(client, 'unused', 'not read');
      const params = (n: number) => ({ docKey, question: JSON.stringify({ n, ms: 0, log }) });
      await submitJob(client, { jobId: 'sx-ok', pipeline: 'v1', engine: 'openai', params: params(3) } as never);
      const ok = await waitForJob(client, 'sx-ok');
      expect(ok.state).toBe('succeeded');
      expect((await fetchResult(client, ok)).sum).toBe(2 * (0 + 1 + 2));

      mode = 'reject';
      // The cache off: the first job's replies are stored, and this job must reach the server.
      await submitJob(client, { jobId: 'sx-bad', pipeline: 'v1', engine: 'openai', cache: 'off', params: params(2) } as never);
      const bad = await waitForJob(client, 'sx-bad');
      expect(bad.state).toBe('failed');
      expect(bad.error).toMatch(/not acceptable/);
    } finally {
      await nc.close();
    }

    // the key really was used on the wire, and the logs are not empty
    expect(seenKeys).toEqual(new Set([`Bearer ${API_KEY}`]));
    const all = logs.join('');
    expect(all).toMatch(/model call failed; retrying/);
    expect(all).toMatch(/task failed terminally; dead-lettered/);
    expect(all).toMatch(/\[redacted\]/);
    expect(leaks(all)).toEqual([]);

    const stored = await everythingStored(admin);
    expect(stored.count).toBeGreaterThan(10);
    expect(stored.text).toMatch(/not acceptable/); // the failure and its dead letter are there...
    expect(leaks(stored.text)).toEqual([]); // ...but no secret
  });

  it('connection errors do not repeat a password given in the server URL', async () => {
    const pw = passwordOf('mapper');
    const err = await connectNats({ NATS_URL: `nats://mapper:${pw}@127.0.0.1:1` }, { reconnect: false, timeoutMs: 500 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/127\.0\.0\.1:1/);
    expect(leaks((err as Error).message)).toEqual([]);
  });
});

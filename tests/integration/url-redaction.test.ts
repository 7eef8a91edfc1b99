/**
 * Credentials inside URLs never reach a log or a printed report. A mapper process is started
 * with `OPENAI_BASE_URL=http://user:<pw>@…` and `NATS_URL=nats://user:<pw>@…`, runs a job's
 * model calls (which fail: Node refuses to send a request to a URL with credentials, and the
 * error names the URL), and its whole stderr is searched for both passwords; `llmxmr config
 * check` prints the endpoint as `http://user:***@host`, in text and in JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { submitJob, waitForJob } from '../../shared/client/client.ts';
import { ROOT, testCluster, testEnv, until, type TestCluster } from '../helpers/cluster.ts';

const run = promisify(execFile);
const tag = randomBytes(5).toString('hex');
const MODEL_PW = `modelpw-${tag}-NOT-IN-LOGS`;
const NATS_PW = `natspw-${tag}-NOT-IN-LOGS`;

let model: Server;
let modelUrl = '';
let c: TestCluster;
let mapper: ChildProcess | undefined;
let stderr = '';

beforeAll(async () => {
  model = createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"down"}}');
  });
  await new Promise<void>((r) => model.listen(0, '127.0.0.1', r));
  modelUrl = `http://modeluser:${MODEL_PW}@127.0.0.1:${(model.address() as AddressInfo).port}/v1`;
  c = await testCluster(testEnv());
  await c.start('coordinator');
}, 60_000);

afterAll(async () => {
  if (mapper && mapper.exitCode === null) {
    const exited = new Promise((r) => mapper!.once('exit', r));
    mapper.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (mapper.exitCode === null) mapper.kill('SIGKILL');
  }
  await c?.close();
  model?.close();
});

describe('credentials inside URLs', () => {
  it('a worker started with credentials in OPENAI_BASE_URL and NATS_URL logs neither password', async () => {
    // The shared test server has no authentication: it accepts (and ignores) the URL's user.
    const natsUrl = c.env.NATS_URL.replace('nats://', `nats://natsuser:${NATS_PW}@`);
    mapper = spawn(process.execPath, [join(ROOT, 'bin/llmxmr.js'), 'service', 'mapper'], {
      cwd: ROOT,
      env: {
        ...process.env,
        NATS_URL: natsUrl,
        MR_PREFIX: c.env.MR_PREFIX,
        OPENAI_BASE_URL: modelUrl,
        LLM_MODEL: 'test-model',
        LLM_MAX_RETRIES: '1',
        LOG_LEVEL: 'debug',
        METRICS_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    mapper.stdout!.on('data', (b) => (stderr += String(b)));
    mapper.stderr!.on('data', (b) => (stderr += String(b)));
    await until('the mapper to start', () => /mapper started/.test(stderr), 60_000);

    await c.bus.putBlob(`doc-${tag}`, 'The east door opens with key 73914.\nNothing else is here.');
    const jobId = `redact-${tag}`;
    await submitJob(c.bus, { jobId, pipeline: 'v1', engine: 'openai', params: { docKey: `doc-${tag}`, question: 'Which key opens the east door?' } } as never);
    await until('a failed model call in the mapper log', () => /model call failed|includes credentials/.test(stderr), 60_000);
    const status = await waitForJob(c.bus, jobId, { noCoordinatorMs: 60_000 });
    // what the bus keeps about the failure (status, task results) names no password either
    const results = await c.bus.results.keys(`${jobId}.>`).then(async (it) => {
      const out: string[] = [];
      for await (const k of it) out.push(JSON.stringify(await c.bus.getResult(jobId, k.slice(jobId.length + 1)).catch(() => null)));
      return out;
    });
    const stored = JSON.stringify(status) + results.join('\n');
    expect(status.state).toBe('failed');
    expect(stored).toMatch(/connection to the model server failed/);
    expect(stored).not.toContain(MODEL_PW);

    expect(stderr).not.toContain(MODEL_PW);
    expect(stderr).not.toContain(NATS_PW);
    // the URL was logged, with the user kept and the password masked
    expect(stderr).toContain('modeluser:***@127.0.0.1');
  }, 150_000);

  it('config check prints the endpoint as http://user:***@host, in text and in JSON', async () => {
    const env = { ...process.env, OPENAI_BASE_URL: modelUrl, LLM_MODEL: 'test-model', LLM_ROUTING_FILE: '' };
    const text = await run(process.execPath, [join(ROOT, 'bin/llmxmr.js'), 'config', 'check'], { cwd: ROOT, env });
    expect(text.stdout).toContain(`http://modeluser:***@127.0.0.1:${(model.address() as AddressInfo).port}/v1`);
    expect(text.stdout + text.stderr).not.toContain(MODEL_PW);
    const json = await run(process.execPath, [join(ROOT, 'bin/llmxmr.js'), 'config', 'check', '--json'], { cwd: ROOT, env });
    const report = JSON.parse(json.stdout) as { routes: { endpoints: string[] }[] };
    expect(report.routes[0].endpoints[0]).toMatch(/^http:\/\/modeluser:\*\*\*@127\.0\.0\.1:\d+\/v1$/);
    expect(json.stdout).not.toContain(MODEL_PW);
  }, 60_000);
});

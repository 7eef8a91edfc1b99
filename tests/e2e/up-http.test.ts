/**
 * `llmxmr up --http PORT` prints the console's address and serves the API and the console page
 * behind the token; without a token it refuses to listen beyond loopback, saying why.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { ROOT, dropPrefix, testEnv, until } from '../helpers/cluster.ts';

const env = testEnv();
const TOKEN = 'up-http-test-token-0123456789';
let up: ChildProcess | undefined;
afterAll(async () => {
  up?.kill('SIGKILL');
  await dropPrefix(env);
});

describe('llmxmr up --http', () => {
  it('prints the console address and serves the API with the token, the console page and Ctrl-C', async () => {
    let stderr = '';
    up = spawn(process.execPath, ['bin/llmxmr.js', 'up', '--nats', env.NATS_URL, '--prefix', env.MR_PREFIX, '--http', '0'], {
      cwd: ROOT,
      env: { ...process.env, LLMXMR_HTTP_TOKEN: TOKEN, OPENAI_BASE_URL: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    up.stderr!.on('data', (b) => (stderr += b.toString()));
    const url = await until('the console address', () => /console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1], 60_000);

    const refused = await fetch(`${url}api/cluster`);
    expect(refused.status).toBe(401);
    const cluster = await (await fetch(`${url}api/cluster`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(cluster).toMatchObject({ prefix: env.MR_PREFIX, workers: { coordinator: 1, mapper: 1, convolver: 1, reducer: 1 } });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);

    const exited = new Promise<number | null>((r) => up!.once('exit', (code) => r(code)));
    up.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 90_000);

  it('refuses to listen beyond loopback without a token, and says how to set one', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, ['bin/llmxmr.js', 'up', '--nats', env.NATS_URL, '--prefix', env.MR_PREFIX, '--http', '0', '--http-host', '0.0.0.0'], { cwd: ROOT, env: { ...process.env, LLMXMR_HTTP_TOKEN: '' }, timeout: 60_000 }, (err, _o, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to serve the HTTP API on 0\.0\.0\.0 without a token.*LLMXMR_HTTP_TOKEN/s);
  }, 90_000);
});

/**
 * `llmxmr up` runs a whole cluster in the foreground for other clients: a client command finds
 * its services on the bus (and starts none of its own); Ctrl-C stops everything cleanly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../../shared/algo/rng.ts';
import { makeHaystack } from '../../shared/algo/haystack.ts';
import { ROOT, dropPrefix, testEnv, tmpLog, until } from '../helpers/cluster.ts';

const run = promisify(execFile);
let up: ChildProcess | undefined;
const env = testEnv();
afterAll(async () => {
  up?.kill('SIGKILL');
  await dropPrefix(env);
});

describe('llmxmr up', () => {
  it('serves clients until Ctrl-C, then stops cleanly', async () => {
    let stderr = '';
    up = spawn(process.execPath, ['bin/llmxmr.js', 'up', '--nats', env.NATS_URL, '--prefix', env.MR_PREFIX], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    up.stderr!.on('data', (b) => (stderr += b.toString()));
    await until('the cluster to come up', () => /cluster up on/.test(stderr), 60_000);
    expect(stderr).toMatch(/coordinator, mapper, convolver, reducer/);
    // With no flag, `up` serves the console on loopback (8080 or the next free port) and says where.
    const consoleUrl = await until('the console address', () => /console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1], 10_000);
    expect((await fetch(consoleUrl)).headers.get('content-type')).toMatch(/text\/html/);

    const h = makeHaystack('passkey', 16_384, createRng(2), 0.3);
    const doc = join(tmpLog(), '..', 'up-hay.txt');
    writeFileSync(doc, h.context);
    const out = await run(process.execPath, ['bin/llmxmr.js', 'ask', '--json', '--doc', doc, '--question', h.question, '--profile', 'retrieval', '--nats', env.NATS_URL, '--prefix', env.MR_PREFIX], { cwd: ROOT, env: { ...process.env, OPENAI_BASE_URL: '' } });
    expect(JSON.parse(out.stdout).answer).toContain(h.answer);
    expect(out.stderr).not.toMatch(/starting/); // it used the cluster that `up` runs

    const exited = new Promise<number | null>((r) => up!.once('exit', (code) => r(code)));
    up.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopped/);
  });
});

describe('--embedded', () => {
  const hay = () => {
    const h = makeHaystack('passkey', 8_192, createRng(4), 0.5);
    const doc = join(tmpLog(), '..', 'emb-hay.txt');
    writeFileSync(doc, h.context);
    return { h, doc };
  };

  it('starts a private nats-server and every service for the command', async () => {
    const { h, doc } = hay();
    const out = await run(process.execPath, ['bin/llmxmr.js', 'ask', '--embedded', '--json', '--doc', doc, '--question', h.question, '--profile', 'retrieval'], {
      cwd: ROOT,
      env: { ...process.env, OPENAI_BASE_URL: '' },
    });
    expect(JSON.parse(out.stdout).answer).toContain(h.answer);
  });

  it('says in one line how to install nats-server when there is none', async () => {
    const { h, doc } = hay();
    const err = await run(process.execPath, ['bin/llmxmr.js', 'ask', '--embedded', '--doc', doc, '--question', h.question], {
      cwd: ROOT,
      env: { ...process.env, NATS_SERVER_BIN: '/nonexistent/nats-server' },
    }).then(() => null, (e) => e as { code: number; stderr: string });
    expect(err?.code).not.toBe(0);
    expect(err!.stderr.trim().split('\n')).toHaveLength(1);
    expect(err!.stderr).toMatch(/apt-get install nats-server/);
  });
});

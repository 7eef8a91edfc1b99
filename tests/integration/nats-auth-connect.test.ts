/**
 * Connections that say what is wrong: a refused login or an explicit address that does not
 * answer is an error naming the cause (no private server is started in its place); a
 * publisher's command never starts services under its own credentials; the CLI says so and
 * exits non-zero.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectNats, classifyConnectError } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { freePort } from '../../shared/bus/nats-server.ts';
import { names } from '../../shared/protocol/names.ts';
import { openCluster } from '../../cli/cluster.ts';
import { startAuthInitNats, type AuthInitNats } from '../helpers/secure-nats.ts';
import { ROOT, tmpLog } from '../helpers/cluster.ts';

const run = promisify(execFile);
const PREFIX = 'conn';
let s: AuthInitNats;

beforeAll(async () => {
  s = await startAuthInitNats(PREFIX, ['alice']);
  const nc = await connectNats(s.env('admin'), { reconnect: false });
  await provision(nc, names(PREFIX), { maxDeliver: 3, ackWaitMs: 5_000 });
  await nc.close();
});
afterAll(async () => s?.stop());

/** The environment of a CLI process for `name`, with one variable changed. */
function cliEnv(name: string, over: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = s.env(name);
  return { ...process.env, NATS_URL: e.NATS_URL, NATS_USER: e.NATS_USER!, NATS_PASS: e.NATS_PASS!, MR_PREFIX: PREFIX, OPENAI_BASE_URL: '', ...over };
}

describe('the CLI names what is wrong with the connection', () => {
  it('a wrong password is an error that says so; no private server answers instead', async () => {
    const env = cliEnv('alice', { NATS_PASS: 'wrong' });
    await expect(openCluster({ envOverrides: { NATS_URL: env.NATS_URL!, NATS_USER: 'alice', NATS_PASS: 'wrong', MR_PREFIX: PREFIX } })).rejects.toThrow(
      /refused these credentials/,
    );
    const r = await run(process.execPath, ['bin/llmxmr.js', 'status', 'some-job'], { cwd: ROOT, env }).catch((e) => e);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused these credentials/);
    expect(r.stderr).not.toMatch(/no job/);
  });

  it('an explicit address where nothing answers is an error, not a throwaway server', async () => {
    const port = await freePort();
    await expect(openCluster({ nats: `nats://127.0.0.1:${port}` })).rejects.toThrow(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+.*given by --nats; no private server/);
  });

  it('classifies TLS failures apart from refused logins and unreachable servers', () => {
    expect(classifyConnectError('Authorization Violation')).toBe('credentials');
    expect(classifyConnectError('self-signed certificate in certificate chain')).toBe('tls');
    expect(classifyConnectError('Hostname/IP does not match certificate\'s altnames')).toBe('tls');
    expect(classifyConnectError('connect ECONNREFUSED 127.0.0.1:4222')).toBe('unreachable');
  });
});

describe("a publisher's command with no services on the bus", () => {
  it('starts none under the publisher’s credentials and says what to do', async () => {
    const doc = join(tmpLog(), '..', 'conn-doc.txt');
    writeFileSync(doc, 'The pass key is 1234.');
    const r = await run(process.execPath, ['bin/llmxmr.js', 'ask', '--doc', doc, '--question', 'What is the pass key?'], { cwd: ROOT, env: cliEnv('alice') }).catch((e) => e);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no coordinator, mapper, reducer running .*publisher "alice".*may not run services/);
    expect(r.stderr).not.toMatch(/PermissionViolation|at .*\.ts:\d+/);
  }, 60_000);
});

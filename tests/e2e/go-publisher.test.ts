/**
 * A publisher written in Go (examples/go/publisher: the NATS Go client from Debian, the
 * standard library, nothing downloaded) runs a survey job on a real nats-server started from
 * `llmxmr auth init`'s files, under its own publisher user, with the four services each on
 * its own credential: it uploads the input, follows the job's events, and fetches the result
 * through the job API. A bad spec gets the same error text from the cluster as the TypeScript
 * client gives before publishing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { Bus } from '../../shared/bus/bus.ts';
import { names } from '../../shared/protocol/names.ts';
import { submitJob } from '../../shared/client/client.ts';
import { encode } from '../../shared/protocol/codec.ts';
import { startRole, type RoleHandle } from '../../services/role.ts';
import { startAuthInitNats, type AuthInitNats } from '../helpers/secure-nats.ts';
import { ROOT } from '../helpers/cluster.ts';

const run = promisify(execFile);
const GOPATH = '/usr/share/gocode';
const NATS_GO = join(GOPATH, 'src/github.com/nats-io/nats.go');

function goAvailable(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore', timeout: 20_000 });
    return existsSync(NATS_GO);
  } catch {
    return false;
  }
}
const HAVE_GO = goAvailable();
if (!HAVE_GO) {
  console.warn(
    '\n[go-publisher] NOTICE: SKIPPED — `go` or the NATS Go client is missing. Install Debian\'s golang-go and ' +
      'golang-github-nats-io-go-nats-dev (apt-get install -y golang-go golang-github-nats-io-go-nats-dev).\n',
  );
}

const PREFIX = 'gopub';
const work = mkdtempSync(join(tmpdir(), 'llmxmr-go-'));
const binary = join(work, 'publisher');
let s: AuthInitNats;
let admin: NatsConnection | undefined;
const roles: RoleHandle[] = [];

/** Twelve short abstracts in three directions (written for this test). */
function record() {
  const topics: Record<string, string[]> = {
    batching: ['Continuous batching admits new requests at every decoding step.', 'Chunked prefill splits long prompts so decoding never stalls.', 'Priority queues serve short requests before long ones.', 'Batch size adapts to the memory left in the cache.'],
    caching: ['Prefix caching reuses the attention state of shared system prompts.', 'A radix tree indexes cached prefixes across requests.', 'Cache-aware routing sends a request to the replica holding its prefix.', 'Evicting the least recently used prefixes keeps hit rates high.'],
    speculation: ['A small draft model proposes tokens that the large model verifies at once.', 'Tree-shaped drafts raise the number of tokens accepted per step.', 'Self-speculation drafts with early layers of the same model.', 'Acceptance rates fall on creative text and rise on code.'],
  };
  const papers = Object.entries(topics).flatMap(([t, texts]) => texts.map((txt, i) => ({ title: `${t} study ${i + 1}`, abstract: txt, txt, url: `https://example.org/${t}/${i + 1}` })));
  return { title: 'Serving Large Language Models Efficiently', papers };
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GO111MODULE: 'off', GOPATH, GOPROXY: 'off', GOFLAGS: '', GOCACHE: join(tmpdir(), 'llmxmr-go-build-cache') };
}

/** Runs the Go publisher as `user` (its .env file from auth init); resolves with exit code and output. */
async function publish(user: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, ...Object.fromEntries(Object.entries(s.env(user)).map(([k, v]) => [k, String(v)])) };
  try {
    const r = await run(binary, args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(e) };
  }
}

beforeAll(async () => {
  if (!HAVE_GO) return;
  const build = await run('go', ['build', '-o', binary, './examples/go/publisher'], { cwd: ROOT, env: goEnv(), timeout: 180_000 });
  expect(build.stderr).toBe('');
  s = await startAuthInitNats(PREFIX, ['gopher']);
  admin = await connectNats(s.env('admin'), { reconnect: false });
  await provision(admin, names(PREFIX), { maxDeliver: 3, ackWaitMs: 5_000 });
  for (const role of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(role, { env: s.env(role) }));
  writeFileSync(join(work, 'record.json'), JSON.stringify(record()));
}, 240_000);

afterAll(async () => {
  for (const r of roles.splice(0).reverse()) await r.stop().catch(() => undefined);
  await admin?.close().catch(() => undefined);
  await s?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!HAVE_GO)('the Go publisher', () => {
  it('runs a survey under its own user: uploads the input, follows the events, fetches the result', async () => {
    const out = join(work, 'result.json');
    const r = await publish('gopher', ['-input', join(work, 'record.json'), '-job', 'go-survey-1', '-out', out]);
    expect(r.stderr).toContain('job go-survey-1 submitted as gopher');
    expect(r.code, r.stderr).toBe(0);
    // events reached the owner's event subject
    expect(r.stderr).toMatch(/event job\.started/);
    expect(r.stderr).toMatch(/event job\.succeeded/);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { markdown: string; title?: string };
    expect(result.markdown).toContain('Serving Large Language Models Efficiently');
    expect(result.markdown.length).toBeGreaterThan(500);
    // the job is recorded as gopher's (the administrator sees every job)
    const st = await (await Bus.open(admin!, PREFIX)).getStatus('go-survey-1');
    expect(st?.owner).toBe('gopher');
    expect(st?.state).toBe('succeeded');
  }, 180_000);

  it('decodes the events the services encode, and round-trips job specs (go test of its msgpack code)', async () => {
    const event = { v: 1, jobId: 'j', ts: new Date().toISOString(), type: 'stage.finished', stage: 'reduce', done: 12, total: 100_000, data: { share: 0.75, ok: true, gone: undefined } };
    const env = { ...goEnv(), LLMXMR_TS_EVENT_HEX: Buffer.from(encode(event)).toString('hex') };
    const r = await run('go', ['test', '-v', './examples/go/publisher'], { cwd: ROOT, env, timeout: 180_000 });
    expect(r.stdout).toMatch(/--- PASS: TestDecodesAnEventEncodedNowByTheServicesCodec/);
    expect(r.stdout).toMatch(/^ok\s/m);
  }, 200_000);

  it('gets the same clear error for a bad spec as the TypeScript client', async () => {
    const bad = { groupSize: 0, outlineBatchh: 2 };
    const ts = await submitJob(await Bus.open(admin!, PREFIX), { jobId: 'ts-bad', pipeline: 'v2', params: { inputKey: 'x', ...bad } } as never).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    expect(ts).toMatch(/^invalid job: /);
    const r = await publish('gopher', ['-input', join(work, 'record.json'), '-job', 'go-bad-1', '-params', JSON.stringify(bad)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/job go-bad-1 failed: invalid job: /);
    // each problem the TypeScript client names, the Go publisher hears from the cluster in the same words
    const issues = ts.replace(/^invalid job: /, '').split('; ');
    expect(issues.length).toBe(2);
    for (const issue of issues) expect(r.stderr).toContain(issue);
  }, 120_000);
});

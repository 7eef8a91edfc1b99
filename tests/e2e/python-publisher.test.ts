/**
 * The Python publisher (examples/python/publish.py, standard library only) against a cluster
 * run from `llmxmr auth init --users alice,bob`'s files (every service under its own role's
 * credential, the gateway under the gateway's): with alice's token it submits a survey from a
 * topic JSONL line over HTTP, follows the job's events and writes the Markdown; bob's token can
 * neither read that job, its result or its events, nor cancel it. A bad record gets the API's
 * error and exit code 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cluster.ts';
import { usersGateway, type UsersGateway } from '../helpers/users-gateway.ts';

const SCRIPT = join(ROOT, 'examples/python/publish.py');

/** Six abstracts on two directions of one topic (written for this test). */
function topic() {
  const texts = [
    ['routing', 'Bus routes redrawn around hospitals and schools cut average travel time for older riders.'],
    ['routing', 'Demand-responsive minibuses replaced empty evening routes and kept coverage at lower cost.'],
    ['routing', 'A network redesign with fewer, more frequent lines raised ridership within a year.'],
    ['fares', 'Free fares for students increased trips to evening classes without crowding peak buses.'],
    ['fares', 'Capped daily fares on smart cards helped low-income riders who make many short trips.'],
    ['fares', 'Removing fares on one line shifted some drivers to the bus but mostly drew former walkers.'],
  ];
  return { title: 'Public Transport Planning for Small Cities', papers: texts.map(([d, t], i) => ({ title: `${d} study ${i + 1}`, abstract: t, txt: t, authors: [`Planner ${i + 1}`], year: 2023 })) };
}

function runPython(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('python3', [SCRIPT, ...args], { env: { ...process.env, ...env }, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let g: UsersGateway;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'llmxmr-py-'));

/** A request to the listening gateway with `name`'s token. */
const http = (name: string, path: string, method = 'GET') => fetch(new URL(path, url), { method, headers: { authorization: `Bearer ${g.token(name)}` } });

beforeAll(async () => {
  g = await usersGateway('py', ['alice', 'bob']);
  url = g.gateway.url;
}, 60_000);
afterAll(async () => g?.close());

describe('examples/python/publish.py', () => {
  it('submits a topic over HTTP, follows its events and writes the survey and its BibTeX', async () => {
    const input = join(dir, 'topics.jsonl');
    writeFileSync(input, `${JSON.stringify({ title: 'unused first line', papers: [] })}\n${JSON.stringify(topic())}\n`);
    const out = join(dir, 'out');
    const r = await runPython(['--url', url, '--input', input, '--line', '2', '--out', out, '--bibtex'], { LLMXMR_HTTP_TOKEN: g.token('alice') });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim());
    const md = readFileSync(summary.markdown, 'utf8');
    expect(md).toMatch(/^# /m);
    expect(md).toMatch(/\[\d+\]/);
    const bib = readFileSync(join(out, `${summary.jobId}.bib`), 'utf8');
    expect(bib).toMatch(/^@(article|misc)\{/m);
    // progress came from the event stream, in order, and ended with the terminal event
    expect(r.stderr).toMatch(/job\.started/);
    expect(r.stderr.indexOf('job.started')).toBeLessThan(r.stderr.indexOf('job.succeeded'));
    expect(r.stderr).toMatch(/submitted as alice/);
    const status = await (await http('alice', `/api/jobs/${summary.jobId}`)).json();
    expect(status).toMatchObject({ state: 'succeeded', owner: 'alice' });

    // bob's token: not alice's job, its result, its events, nor its cancellation
    for (const [path, method] of [
      [`/api/jobs/${summary.jobId}`, 'GET'],
      [`/api/jobs/${summary.jobId}/result?format=md`, 'GET'],
      [`/api/jobs/${summary.jobId}/events`, 'GET'],
      [`/api/jobs/${summary.jobId}/cancel`, 'POST'],
    ]) {
      const res = await http('bob', path, method);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(/not your job/);
    }
    expect(((await (await http('bob', '/api/jobs')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
    expect((await http('admin', `/api/jobs/${summary.jobId}/result?format=md`)).status).toBe(200);
  }, 200_000);

  it('prints the API’s error for a bad record and exits with 2', async () => {
    const input = join(dir, 'bad.jsonl');
    writeFileSync(input, `${JSON.stringify({ title: 'No text anywhere', papers: [{ title: 'a' }, { title: 'b', txt: ' ' }] })}\n`);
    const r = await runPython(['--url', url, '--input', input, '--out', join(dir, 'bad-out')], { LLMXMR_HTTP_TOKEN: g.token('alice') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused the request \(HTTP 400\): invalid record: .*no paper with text/);
  }, 60_000);

  it('says the token is missing when it is not given', async () => {
    const input = join(dir, 'one.jsonl');
    writeFileSync(input, `${JSON.stringify(topic())}\n`);
    const r = await runPython(['--url', url, '--input', input], { LLMXMR_HTTP_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HTTP 401\): this API needs a bearer token/);
  }, 60_000);
});

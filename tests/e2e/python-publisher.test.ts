/**
 * The Python publisher (examples/python/publish.py, standard library only) against a real
 * cluster and gateway: it submits a survey from a topic JSONL line over HTTP, follows the
 * job's events, and writes the Markdown; a bad record gets the API's error and exit code 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ROOT } from '../helpers/cluster.ts';
import { listenGateway } from '../../services/gateway/server.ts';
import { gatewayCluster, type GatewayCluster } from '../helpers/gateway.ts';

const TOKEN = 'python-publisher-token-42';
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

let g: GatewayCluster;
let app: FastifyInstance;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'llmxmr-py-'));

beforeAll(async () => {
  g = await gatewayCluster({ token: TOKEN });
  app = g.app;
  url = await listenGateway(app, { port: 0, host: '127.0.0.1', token: TOKEN });
}, 60_000);
afterAll(async () => g?.close());

describe('examples/python/publish.py', () => {
  it('submits a topic over HTTP, follows its events and writes the survey and its BibTeX', async () => {
    const input = join(dir, 'topics.jsonl');
    writeFileSync(input, `${JSON.stringify({ title: 'unused first line', papers: [] })}\n${JSON.stringify(topic())}\n`);
    const out = join(dir, 'out');
    const r = await runPython(['--url', url, '--input', input, '--line', '2', '--out', out, '--bibtex'], { LLMXMR_HTTP_TOKEN: TOKEN });
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
    const status = (await app.inject({ method: 'GET', url: `/api/jobs/${summary.jobId}`, headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(status.state).toBe('succeeded');
  }, 200_000);

  it('prints the API’s error for a bad record and exits with 2', async () => {
    const input = join(dir, 'bad.jsonl');
    writeFileSync(input, `${JSON.stringify({ title: 'No text anywhere', papers: [{ title: 'a' }, { title: 'b', txt: ' ' }] })}\n`);
    const r = await runPython(['--url', url, '--input', input, '--out', join(dir, 'bad-out')], { LLMXMR_HTTP_TOKEN: TOKEN });
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

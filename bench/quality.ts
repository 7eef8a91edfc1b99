/**
 * `npm run quality [-- --input F ...] [--seed N] [--out DIR] [--json]`: write the offline survey of
 * each topic file through the real cluster (by running `llmxmr survey`, which starts a private
 * cluster on its own name prefix) and measure it (shared/eval/survey-quality.ts): repeated
 * sentences, unresolved-anaphor openings, generic headings, papers filed against their own
 * abstract, citation support (the verifier's counts over the text as written), words; each
 * against its goal. Default inputs: the three topics of ../shared/data/v2. Exit code 1 when a
 * goal fails.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadEnv } from '../shared/config/env.ts';
import { connectNats } from '../shared/bus/connect.ts';
import { Bus } from '../shared/bus/bus.ts';
import { prepareInput } from '../shared/protocol/v2-input.ts';
import { qualityTable, surveyQuality, type QualityReport } from '../shared/eval/survey-quality.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DATA = resolve(ROOT, '..', 'shared', 'data', 'v2');
const TOPICS = ['kv_cache.jsonl', 'vision_language_action.jsonl', 'long_context_llm.jsonl'];
const t0 = Date.now();
const say = (m: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);

const { values: args } = parseArgs({
  options: {
    input: { type: 'string', multiple: true },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    'timeout-min': { type: 'string', default: '15' },
  },
});

/** Run the CLI's survey command on one file; resolve with its --json summary. */
function runSurvey(file: string, out: string, prefix: string): Promise<{ markdown: string; record: string; verify?: string; wallMs: number }> {
  const argv = [join(ROOT, 'bin', 'llmxmr.js'), 'survey', '--input', file, '--out', out, '--seed', args.seed!, '--engine', 'extractive', '--verify', 'repair', '--json', '--quiet'];
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, MR_PREFIX: prefix, LOG_LEVEL: 'warn', METRICS_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGTERM'), Number(args['timeout-min']) * 60_000);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code !== 0) return fail(new Error(`llmxmr survey ${file} ${sig ? `was stopped (${sig})` : `exited with ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      try {
        ok(JSON.parse(stdout.trim().split('\n').pop()!));
      } catch (e) {
        fail(new Error(`llmxmr survey ${file} printed no JSON summary: ${(e as Error).message}`));
      }
    });
  });
}

/** Remove the streams, buckets and object store a private prefix left on the server. */
async function dropPrefix(prefix: string): Promise<void> {
  const env = loadEnv({ ...process.env, MR_PREFIX: prefix, LOG_LEVEL: 'silent', METRICS_PORT: '0' } as Record<string, string>);
  const nc = await connectNats(env, { reconnect: false });
  try {
    const bus = await Bus.open(nc, prefix);
    const n = bus.names;
    const all = [...Object.values(n.streams), ...Object.values(n.buckets).map((b) => `KV_${b}`), `OBJ_${n.objectStore}`];
    for (const s of all) await bus.jsm.streams.delete(s).catch(() => undefined);
  } finally {
    await nc.drain().catch(() => undefined);
  }
}

interface TopicResult {
  topic: string;
  file: string;
  seconds: number;
  report?: QualityReport;
  error?: string;
}

async function measure(file: string, outRoot: string, prefix: string): Promise<TopicResult> {
  const topic = basename(file).replace(/\.jsonl?$/, '');
  const started = Date.now();
  const out = join(outRoot, topic);
  mkdirSync(out, { recursive: true });
  say(`${topic}: writing the offline survey through the cluster`);
  try {
    const run = await runSurvey(file, out, prefix);
    const record = JSON.parse(readFileSync(run.record, 'utf8'));
    const verify = run.verify ? JSON.parse(readFileSync(run.verify, 'utf8')) : undefined;
    const raw = JSON.parse(readFileSync(file, 'utf8').split('\n').find((l) => l.trim())!);
    const prepared = prepareInput(raw);
    const report = surveyQuality({
      markdown: readFileSync(run.markdown, 'utf8'),
      sections: record.sections ?? [],
      abstracts: new Map(prepared.papers.map((p) => [p.id, p.abstract])),
      ...(verify ? { support: verify.summary } : {}),
    });
    const seconds = (Date.now() - started) / 1000;
    say(`${topic}: done in ${seconds.toFixed(1)} s (${verify?.line ?? 'not verified'})`);
    return { topic, file, seconds, report };
  } catch (e) {
    return { topic, file, seconds: (Date.now() - started) / 1000, error: (e as Error).message };
  }
}

async function main() {
  const files = (args.input?.length ? args.input : TOPICS.map((t) => join(DATA, t))).map((f) => resolve(f));
  const outRoot = args.out ? resolve(args.out) : mkdtempSync(join(tmpdir(), 'llmxmr-quality-'));
  const prefix = `q${randomBytes(4).toString('hex')}`;
  const results: TopicResult[] = [];
  try {
    for (const f of files) results.push(await measure(f, outRoot, prefix));
  } finally {
    await dropPrefix(prefix).catch((e) => say(`could not remove prefix ${prefix}: ${(e as Error).message}`));
    if (!args.out) rmSync(outRoot, { recursive: true, force: true });
  }
  const failed = results.some((r) => r.error || r.report!.goals.some((g) => g.pass === false));
  if (args.json) {
    process.stdout.write(`${JSON.stringify(results.map((r) => ({ topic: r.topic, seconds: r.seconds, error: r.error, goals: r.report?.goals, examples: r.report && { repeated: r.report.repeated.examples, anaphor: r.report.anaphor.examples, generic: r.report.generic.headings, misfiled: r.report.misfiled.papers.slice(0, 10) } })))}\n`);
  } else {
    const blocks = results.map((r) => (r.error ? `### ${r.topic}\n\nFAILED: ${r.error}` : `${qualityTable(r.topic, r.report!)}\n\n(${r.seconds.toFixed(1)} s)`));
    process.stdout.write(`${blocks.join('\n\n')}\n\n${failed ? 'Some goals are not met.' : 'Every goal is met.'}\n`);
    if (args.out) process.stdout.write(`Surveys and reports: ${outRoot}\n`);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`quality: ${(e as Error).message}\n`);
  process.exitCode = 2;
});

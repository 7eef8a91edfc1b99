/**
 * SurveyEval through a real cluster (shared NATS server, unique prefix): surveys written by V2
 * jobs, judge ops run as tasks. Resume keeps finished surveys and evaluations; a judge task
 * that failed in an earlier run is tried again; the fleet simulator stands in as a model judge
 * (smoke); and, when ../shared/data is present, two kv_cache subsets go end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { startRole } from '../../services/role.ts';
import { EVAL_OPS } from '../../shared/ops/eval/index.ts';
import { defineOp } from '../../shared/ops/op.ts';
import { PermanentError } from '../../shared/llm/engine.ts';
import { startFleetSim, type FleetSim } from '../../shared/sim/fleet.ts';
import { runSurveyEval, type SurveyEvalOptions } from '../../shared/eval/surveyeval-run.ts';
import { TaskClient } from '../../shared/eval/tasks.ts';
import { JUDGE_METRICS } from '../../shared/eval/surveyeval.ts';
import { ROOT, testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

const flakyOp = defineOp({
  name: 'test.flaky-judge',
  kind: 'reduce',
  version: 1,
  input: z.object({ marker: z.string() }),
  output: z.object({ ok: z.boolean() }),
  prompt: () => [{ role: 'user', content: 'x' }],
  extractive(i: { marker: string }) {
    if (!existsSync(i.marker)) throw new PermanentError('not yet');
    return { ok: true };
  },
});

const TEXTS = [
  'We quantize the key and value cache to four bits per channel and recover accuracy with a small calibration set.',
  'Mixed precision keeps outlier channels of the cache in higher precision while other channels use two bits.',
  'Evicting cache entries of tokens that receive little attention keeps heavy hitters and a recent window.',
  'Layer-wise budgets let early layers keep more tokens while deep layers evict aggressively.',
  'Offloading the cache to host memory over PCIe lets a single GPU serve contexts of a million tokens.',
  'A paged memory manager moves cache blocks between GPU and CPU memory and prefetches the blocks needed next.',
];
const entry = (title: string, k: number) => ({ title, papers: TEXTS.map((t, i) => ({ title: `${title} study ${i + 1}`, txt: `${t} Variant ${k}.` })) });

let c: TestCluster;
let sim: FleetSim;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'llmxmr-se-'));
  dirs.push(d);
  return d;
};

const base = (outDir: string, entries: Record<string, unknown>[], over: Partial<SurveyEvalOptions> = {}): SurveyEvalOptions => ({
  entries, runs: 1, outDir, engine: 'extractive', judgeEngine: 'extractive', judgeLabel: 'offline proxies', smoke: false,
  blocks: 0, groupSize: 3, concurrency: 2, jobTimeoutMs: 300_000, ...over,
});

beforeAll(async () => {
  sim = await startFleetSim({ model: 'sim-judge', slots: 64, baseLatencyMs: 5, prefillTokensPerSec: 1e7, decodeTokensPerSec: 1e6 });
  const env = testEnv({ OPENAI_BASE_URL: sim.url, LLM_MODEL: 'sim-judge' });
  c = await testCluster(env);
  for (const role of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) {
    c.roles.push(await startRole(role, { env, extraOps: [...EVAL_OPS, flakyOp] }));
  }
});

afterAll(async () => {
  await c?.close();
  await sim?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('SurveyEval on the cluster', () => {
  it('resume: finished surveys and evaluations are kept, a missing evaluation is redone alone', async () => {
    const out = tmp();
    const entries = [entry('KV cache quantization', 1), entry('KV cache placement', 2)];
    const first = await runSurveyEval(c.bus, base(out, entries));
    expect(first.summary.rows.map((r) => [r.generatedNow, r.evaluatedNow, r.error])).toEqual([[true, true, undefined], [true, true, undefined]]);
    const again = await runSurveyEval(c.bus, base(out, entries));
    expect(again.summary.rows.map((r) => [r.generatedNow, r.evaluatedNow])).toEqual([[false, false], [false, false]]);
    rmSync(first.summary.rows[1].evalFile);
    const third = await runSurveyEval(c.bus, base(out, entries));
    expect(third.summary.rows.map((r) => [r.generatedNow, r.evaluatedNow])).toEqual([[false, false], [false, true]]);
    expect(third.summary.rows[1].scores!.metrics).toEqual(first.summary.rows[1].scores!.metrics);
    for (const f of first.files) expect(existsSync(f)).toBe(true);
  });

  it('a judge task that failed in an earlier run is tried again; a finished one is not republished', async () => {
    const marker = join(tmp(), 'ready');
    const jobId = `ev-flaky-${Date.now()}`;
    const run = async () => {
      const tc = await TaskClient.open(c.bus, { jobId, engine: 'extractive', retryFailed: true });
      try {
        return { res: await tc.mapSettled(flakyOp, [{ marker }]), published: tc.published };
      } finally {
        tc.close();
      }
    };
    expect((await run()).res[0].ok).toBe(false);
    writeFileSync(marker, '');
    expect(await run()).toEqual({ res: [{ ok: true, value: { ok: true } }], published: 1 });
    expect(await run()).toEqual({ res: [{ ok: true, value: { ok: true } }], published: 0 });
  });

  it('smoke: the fleet simulator as judge fills all nine metrics through the openai engine', async () => {
    const out = tmp();
    const { summary } = await runSurveyEval(c.bus, base(out, [entry('KV cache memory', 3)], { judgeEngine: 'openai', judgeLabel: 'simulator', smoke: true }));
    const row = summary.rows[0];
    expect(row.error).toBeUndefined();
    expect(row.scores!.failures).toEqual([]);
    expect(row.scores!.usage.calls).toBeGreaterThan(0);
    for (const m of JUDGE_METRICS) expect(row.scores!.metrics[m.key]).not.toBeNull();
    expect(readFileSync(join(out, 'surveyeval.md'), 'utf8')).toContain('SMOKE RUN');
  });

  const data = join(ROOT, '..', 'shared', 'data', 'v2', 'kv_cache.jsonl');
  it.skipIf(!existsSync(data))('end to end on two kv_cache subsets with the offline judge', async () => {
    const raw = JSON.parse(readFileSync(data, 'utf8').split('\n')[0]) as { title: string; papers: unknown[] };
    const entries = [
      { ...raw, papers: raw.papers.slice(0, 14) },
      { ...raw, title: 'Serving long contexts with a compressed KV cache', papers: raw.papers.slice(14, 34) },
    ];
    const out = tmp();
    const { summary } = await runSurveyEval(c.bus, base(out, entries, { blocks: 1 }));
    expect(summary.rows.map((r) => r.error)).toEqual([undefined, undefined]);
    for (const r of summary.rows) {
      expect(r.scores!.free.citationValidity).toBe(100);
      expect(r.scores!.free.sourceCoverage).toBeGreaterThan(0);
      for (const m of JUDGE_METRICS) expect(r.scores!.metrics[m.key]).not.toBeNull();
    }
    const md = readFileSync(join(out, 'surveyeval.md'), 'utf8');
    expect(md).toContain('| LLM×MapReduce-V2 (published) | 95.00 | 97.22 |');
    expect(readFileSync(join(out, 'surveyeval.csv'), 'utf8').split('\n')[0]).toContain('structure,faithfulness,relevance');
  });
});

if (!existsSync(join(ROOT, '..', 'shared', 'data', 'v2', 'kv_cache.jsonl'))) {
  console.warn('surveyeval-cluster: ../shared/data/v2/kv_cache.jsonl is absent; the data-backed smoke test is skipped');
}

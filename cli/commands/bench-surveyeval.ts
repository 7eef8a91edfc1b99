/**
 * `llmxmr bench surveyeval`: write a survey per SurveyEval entry through the cluster (V2),
 * evaluate each on the nine metrics of the V2 table with judge ops run as tasks, plus the
 * judge-free checks, and report mean and spread over runs beside the published V2 row.
 * Resumable: finished surveys and evaluations in --out are kept.
 */
import type { Command } from 'commander';
import { EngineSchema, type EngineName } from '../../shared/protocol/schemas.ts';
import { startFleetSim, type FleetSim } from '../../shared/sim/fleet.ts';
import { loadEnv } from '../../shared/config/env.ts';
import { parseEntries, runSurveyEval } from '../../shared/eval/surveyeval-run.ts';
import { toMarkdown } from '../../shared/eval/surveyeval-report.ts';
import { openCluster } from '../cluster.ts';
import { readTextFile, UsageError, withConnOptions, type ConnOpts } from '../common.ts';
import { benchCommand } from './bench.ts';

interface SeOpts extends ConnOpts {
  input: string;
  runs: string;
  out: string;
  engine?: string;
  judgeEngine?: string;
  limit?: string;
  blocks: string;
  groupSize: string;
  concurrency: string;
  jobTimeout: string;
  judgeMaxChars: string;
  sourceChars: string;
  dedupGroup: string;
  json?: boolean;
  quiet?: boolean;
}

function whole(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** Is the server at this base URL the fleet simulator? (It names itself in /v1/models.) */
async function isSimulator(baseUrl: string): Promise<boolean> {
  try {
    const r = await fetch(`${baseUrl.replace(/\/+$/, '')}/models`, { signal: AbortSignal.timeout(3000) });
    const body = (await r.json()) as { data?: { owned_by?: string }[] };
    return (body.data ?? []).some((m) => m.owned_by === 'llmxmr-sim');
  } catch {
    return false;
  }
}

export function registerSurveyEval(program: Command): Command {
  const bench = benchCommand(program);
  withConnOptions(
    bench
      .command('surveyeval')
      .description('write a survey per SurveyEval entry (V2) and score it on the nine metrics of the V2 table, beside the published row')
      .requiredOption('--input <jsonl>', 'SurveyEval entries, one per line, in the V2 input shape: {"title", "papers": [{"title", "txt"|"content", ...}]}')
      .option('--runs <n>', 'surveys per entry (seeds 1..n); the report gives mean and spread over runs', '1')
      .option('--out <dir>', 'folder for surveys, evaluations and surveyeval.{csv,json,md}', 'surveyeval-out')
      .option('--engine <e>', 'engine that writes the surveys: openai or extractive (default: openai when OPENAI_BASE_URL is set)')
      .option('--judge-engine <e>', 'extractive (offline proxies), openai (the configured model) or sim (a fleet simulator in this process: smoke run)')
      .option('--limit <n>', 'only the first n entries')
      .option('--blocks <n>', 'refinement blocks per survey (upstream evaluated with 1)', '1')
      .option('--group-size <n>', 'papers per digest group', '3')
      .option('--concurrency <n>', 'surveys written and evaluated at once', '2')
      .option('--job-timeout <s>', 'give up on one survey after this many seconds', '3600')
      .option('--judge-max-chars <n>', 'characters of a survey the whole-survey judge reads', '100000')
      .option('--source-chars <n>', 'characters of a cited paper the support judge reads', '40000')
      .option('--dedup-group <n>', 'claims per deduplication call', '150')
      .option('--json', 'print the summary as one JSON object on stdout')
      .option('--quiet', 'no progress lines'),
  ).action(async (o: SeOpts) => {
    const all = (() => {
      try {
        return parseEntries(readTextFile(o.input, 'SurveyEval entries'), o.input);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    })();
    const entries = o.limit === undefined ? all : all.slice(0, whole(o.limit, '--limit', 1, 100_000));
    const runs = whole(o.runs, '--runs', 1, 100);
    const blocks = whole(o.blocks, '--blocks', 0, 8);
    const groupSize = whole(o.groupSize, '--group-size', 1, 64);
    const concurrency = whole(o.concurrency, '--concurrency', 1, 64);
    const jobTimeoutMs = whole(o.jobTimeout, '--job-timeout', 1, 7 * 86_400) * 1000;
    const evalOpts = {
      judgeMaxChars: whole(o.judgeMaxChars, '--judge-max-chars', 1000, 10_000_000),
      maxSourceChars: whole(o.sourceChars, '--source-chars', 500, 10_000_000),
      dedupGroup: whole(o.dedupGroup, '--dedup-group', 2, 2000),
    };
    const baseEnv = loadEnv();
    const engine = EngineSchema.safeParse(o.engine ?? (baseEnv.OPENAI_BASE_URL ? 'openai' : 'extractive'));
    if (!engine.success) throw new UsageError(`unknown --engine "${o.engine}": use openai or extractive`);
    const judgeName = o.judgeEngine ?? (baseEnv.OPENAI_BASE_URL ? 'openai' : 'extractive');
    if (!['extractive', 'openai', 'sim'].includes(judgeName)) throw new UsageError(`unknown --judge-engine "${judgeName}": use extractive, openai or sim`);
    if (judgeName === 'sim' && engine.data === 'openai') throw new UsageError('--judge-engine sim needs --engine extractive (the simulator would write the surveys too)');
    const say = (s: string) => (o.quiet ? undefined : process.stderr.write(`${s}\n`));

    let sim: FleetSim | undefined;
    let judgeLabel: string;
    let smoke = false;
    let envOverrides: { OPENAI_BASE_URL: string; LLM_MODEL: string } | undefined;
    if (judgeName === 'sim') {
      sim = await startFleetSim({ model: 'sim-judge', replicas: 1, slots: 64, baseLatencyMs: 20, prefillTokensPerSec: 1e7, decodeTokensPerSec: 1e5, seed: 11 });
      envOverrides = { OPENAI_BASE_URL: sim.url, LLM_MODEL: 'sim-judge' };
      judgeLabel = 'fleet simulator in this process (replies are random schema-valid JSON built from prompt words)';
      smoke = true;
      say(`smoke run: the judge is a fleet simulator at ${sim.url}; services run in this process on a private NATS server`);
    } else if (judgeName === 'openai') {
      if (!baseEnv.OPENAI_BASE_URL || !baseEnv.LLM_MODEL) throw new UsageError('--judge-engine openai needs OPENAI_BASE_URL and LLM_MODEL');
      smoke = await isSimulator(baseEnv.OPENAI_BASE_URL);
      judgeLabel = `${smoke ? 'fleet simulator' : 'model'} ${baseEnv.LLM_MODEL} at ${new URL(baseEnv.OPENAI_BASE_URL).host}`;
    } else {
      judgeLabel = 'offline proxies (extractive engine: rule-based readings of the text, no judge model)';
    }
    const judgeEngine: EngineName = judgeName === 'extractive' ? 'extractive' : 'openai';

    const cluster = await openCluster({ ...o, embedded: o.embedded || !!sim, needs: ['coordinator', 'mapper', 'convolver', 'reducer'], say, envOverrides });
    const stop = new AbortController();
    const onSig = () => stop.abort();
    process.once('SIGINT', onSig);
    try {
      say(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} × ${runs} run(s): surveys by ${engine.data} (blocks ${blocks}), judge: ${judgeLabel}; output in ${o.out}`);
      const { summary, files } = await runSurveyEval(cluster.bus, {
        entries, runs, outDir: o.out, engine: engine.data, judgeEngine, judgeLabel, smoke, blocks, groupSize, concurrency, jobTimeoutMs, eval: evalOpts, say, signal: stop.signal,
      });
      const unknownOp = summary.rows.some((r) => r.scores?.failures.some((f) => /unknown op "eval\./.test(f)));
      if (unknownOp) say('the workers do not know the eval ops: they must register EVAL_OPS (shared/ops/eval/index.ts) in shared/ops/registry.ts');
      say(`wrote ${files.join(', ')}`);
      if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else process.stdout.write(`\n${toMarkdown(summary)}`);
      if (summary.rows.every((r) => r.error)) throw new Error('no survey could be written and evaluated');
    } finally {
      process.removeListener('SIGINT', onSig);
      await cluster.close();
      await sim?.close();
    }
  });
  return bench;
}

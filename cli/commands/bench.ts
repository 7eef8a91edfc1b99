/**
 * `llmxmr bench`: benchmark runners. `bench infinitebench` runs InfiniteBench-style items
 * (synthetic by the recipe, or loaded from a file) through the V1 pipeline on the cluster,
 * scores them with InfiniteBench's exact rules and prints the result beside the published
 * V1 figures. Other runners join as further subcommands through `benchCommand`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { EngineSchema, type EngineName } from '../../shared/protocol/schemas.ts';
import { newJobId } from '../../shared/protocol/ids.ts';
import { submitJob, waitForJob, fetchResult, cancelJob, uploadInput } from '../../shared/client/client.ts';
import { defaultEngineName } from '../../shared/llm/select.ts';
import { meanScore, postProcess, scoreOne, type IbTask, type Label } from '../../shared/eval/infinitebench-score.ts';
import {
  DataError, loadBenchFile, parseTokens, PUBLISHED_MODELS, PUBLISHED_SOURCE, PUBLISHED_V1, spread, syntheticItems,
  type BenchItem,
} from '../../shared/eval/infinitebench-data.ts';
import { openCluster, type Cluster } from '../cluster.ts';
import { readTextFile, UsageError, withConnOptions, type ConnOpts } from '../common.ts';

/** The `bench` command group, created on first use, so each runner can add itself as a subcommand. */
export function benchCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'bench') ??
    program.command('bench').description('run a benchmark through the cluster and score it')
  );
}

export interface ItemResult {
  id: string;
  task: IbTask;
  /** The gold answer as shown (list entries joined by " | "). */
  answer: string;
  /** The post-processed reply that was scored. */
  prediction: string;
  score: number;
  correct: boolean;
  wallMs: number;
  tasks: number;
  modelCalls: number;
  error?: string;
}

export interface RunOptions {
  engine: EngineName;
  window: number;
  concurrency: number;
  jobTimeoutMs: number;
  onItem?(r: ItemResult, done: number): void;
}

function shownLabel(label: Label): string {
  return Array.isArray(label) ? label.join(' | ') : String(label);
}

async function runOne(cluster: Cluster, item: BenchItem, o: RunOptions): Promise<ItemResult> {
  const jobId = newJobId('ib');
  const docKey = `docs/${jobId}.txt`;
  const t0 = Date.now();
  const base = { id: item.id, task: item.task, answer: shownLabel(item.label) };
  const timeout = AbortSignal.timeout(o.jobTimeoutMs);
  try {
    const input = await uploadInput(cluster.bus, docKey, item.context); // a publisher's own upload, or the key
    await submitJob(cluster.bus, {
      jobId,
      pipeline: 'v1',
      engine: o.engine,
      params: { docKey: input, question: item.question, profile: item.profile, window: o.window },
    });
    const st = await waitForJob(cluster.bus, jobId, { signal: timeout });
    if (st.state !== 'succeeded') throw new Error(`job ${jobId} ${st.state}: ${st.error ?? 'no reason given'}`);
    const r = (await fetchResult(cluster.bus, st)) as Record<string, any>;
    const prediction = postProcess(item.task, String(r.answer ?? '').trim());
    const score = scoreOne(item.task, prediction, item.label);
    return {
      ...base,
      prediction,
      score,
      correct: score === 1,
      wallMs: typeof r.wallMs === 'number' ? r.wallMs : Date.now() - t0,
      tasks: r.usage?.tasks ?? 0,
      modelCalls: r.usage?.calls ?? 0,
    };
  } catch (e) {
    if (timeout.aborted) await cancelJob(cluster.bus, jobId).catch(() => undefined);
    const error = timeout.aborted ? `job ${jobId} took longer than ${o.jobTimeoutMs / 1000} s` : (e as Error).message;
    return { ...base, prediction: '', score: 0, correct: false, wallMs: Date.now() - t0, tasks: 0, modelCalls: 0, error };
  } finally {
    // Benchmark documents are throw-away: do not let a long run fill the Object Store.
    await cluster.bus.blobs.delete(docKey).catch(() => undefined);
  }
}

/** Run items through the V1 pipeline, `concurrency` jobs at a time; results come back in item order. */
export async function runItems(cluster: Cluster, items: readonly BenchItem[], o: RunOptions): Promise<ItemResult[]> {
  const out: ItemResult[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await runOne(cluster, items[k], o);
      o.onItem?.(out[k], ++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, items.length)) }, worker));
  return out;
}

export interface BenchSummary {
  task: string;
  /** What the per-item score is (accuracy, token F1, ROUGE-Lsum F, or several). */
  metric: string;
  tokens: number | null;
  n: number;
  accuracy: number;
  perItem: ItemResult[];
  meanWallMs: number;
  engine: EngineName;
  source: string;
  published: { source: string; models: readonly string[]; name: string; length: string; scores: Array<number | null> } | null;
}

const METRIC: Partial<Record<IbTask, string>> = { longbook_qa_eng: 'token F1', longbook_qa_chn: 'character F1', longbook_sum_eng: 'ROUGE-Lsum F' };

export function summarize(name: string, tokens: number | null, engine: EngineName, source: string, perItem: ItemResult[]): BenchSummary {
  const pub = (PUBLISHED_V1 as Record<string, (typeof PUBLISHED_V1)[IbTask] | undefined>)[name];
  const metrics = [...new Set(perItem.map((r) => METRIC[r.task] ?? 'accuracy'))];
  return {
    task: name,
    metric: metrics.length === 1 ? metrics[0] : metrics.join(' / '),
    tokens,
    n: perItem.length,
    accuracy: meanScore(perItem.map((r) => r.score)),
    perItem,
    meanWallMs: Math.round(meanScore(perItem.map((r) => r.wallMs))),
    engine,
    source,
    published: pub ? { source: PUBLISHED_SOURCE, models: PUBLISHED_MODELS, ...pub } : null,
  };
}

const pct = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));

/** The Markdown results table: our score beside the published V1 figures for the same task. */
export function resultsTable(s: BenchSummary): string {
  const size = s.tokens === null ? basename(s.source) : `${s.tokens} tokens`;
  const head = ['task', `ours (${s.engine}, n=${s.n}, ${size})`, ...(s.published ? s.published.models : [])];
  const row = [s.published?.name ?? `${s.task} (${s.metric})`, pct(s.accuracy * 100), ...(s.published ? s.published.scores.map(pct) : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, `| ${row.join(' | ')} |`];
  const errors = s.perItem.filter((r) => r.error).length;
  lines.push('');
  lines.push(`mean wall time per item ${(s.meanWallMs / 1000).toFixed(1)} s; mean tasks per item ${Math.round(meanScore(s.perItem.map((r) => r.tasks)))}${errors ? `; ${errors} item(s) failed and scored 0` : ''}`);
  if (s.published) {
    lines.push(`published: ${s.published.source}; measured on the official set (mean context ${s.published.length} tokens) with the models named, so they compare only when the size and model match`);
  }
  return lines.join('\n');
}

function progressLine(r: ItemResult, done: number, total: number, running: number): string {
  const mark = r.error ? 'ERR' : r.correct ? 'ok ' : r.score > 0 ? `${r.score.toFixed(2)}` : 'x  ';
  const got = r.error ?? JSON.stringify(r.prediction.length > 60 ? `${r.prediction.slice(0, 57)}...` : r.prediction);
  return `${String(done).padStart(String(total).length)}/${total}  ${mark}  ${r.id}  gold ${r.answer.slice(0, 40)}  got ${got}  ${(r.wallMs / 1000).toFixed(1)} s, ${r.tasks} tasks  running ${(running * 100).toFixed(1)}%`;
}

interface IbOpts extends ConnOpts {
  task: string;
  file?: string;
  as?: string;
  tokens: string;
  n?: string;
  seed: string;
  concurrency: string;
  engine?: string;
  window: string;
  jobTimeout: string;
  out?: string;
  quiet?: boolean;
}

function whole(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** Items, display name and size for the chosen task (throws UsageError on bad input). */
function chooseItems(o: IbOpts): { items: BenchItem[]; name: string; tokens: number | null; source: string } {
  if (o.file && !['passkey', 'file'].includes(o.task)) throw new UsageError(`--file goes with --task file, not --task ${o.task}`);
  const task = o.file ? 'file' : o.task;
  if (task === 'file') {
    if (!o.file) throw new UsageError('--task file needs --file <jsonl>');
    try {
      const loaded = loadBenchFile(readTextFile(o.file, 'benchmark file'), o.file, o.as);
      const n = o.n === undefined ? loaded.items.length : whole(o.n, '--n', 1, 1_000_000);
      return { items: spread(loaded.items, n), name: loaded.name, tokens: null, source: o.file };
    } catch (e) {
      if (e instanceof DataError) throw new UsageError(e.message);
      throw e;
    }
  }
  if (!['passkey', 'number_string', 'kv_retrieval'].includes(task)) {
    throw new UsageError(`unknown task "${o.task}": use passkey, number_string, kv_retrieval or file`);
  }
  const tokens = parseTokens(o.tokens);
  if (!Number.isInteger(tokens) || tokens < 1024 || tokens > 4_000_000) throw new UsageError('--tokens must be a whole number from 1024 to 4000000 (or e.g. 32k)');
  const n = whole(o.n ?? '10', '--n', 1, 100_000);
  const seed = whole(o.seed, '--seed', 0, 2 ** 31 - 1);
  const items = syntheticItems(task as 'passkey' | 'number_string' | 'kv_retrieval', tokens, n, seed);
  return { items, name: task, tokens, source: `recipe, seed ${seed}` };
}

function writeOut(dir: string, s: BenchSummary, items: readonly BenchItem[]): string[] {
  mkdirSync(dir, { recursive: true });
  const stem = `infinitebench-${s.task}-${s.tokens ?? 'file'}`;
  const files = [join(dir, `${stem}.json`), join(dir, `${stem}.preds.jsonl`), join(dir, `${stem}.md`)];
  writeFileSync(files[0], `${JSON.stringify(s, null, 2)}\n`);
  const preds = s.perItem.map((r, k) => JSON.stringify({ id: r.id, prediction: r.prediction, ground_truth: items[k].label }));
  writeFileSync(files[1], `${preds.join('\n')}\n`);
  writeFileSync(files[2], `# InfiniteBench ${s.task}\n\n${resultsTable(s)}\n`);
  return files;
}

export function registerBench(program: Command): Command {
  const bench = benchCommand(program);
  withConnOptions(
    bench
      .command('infinitebench')
      .description('run InfiniteBench tasks through the V1 pipeline and score them exactly (synthetic by the recipe, or from a file)')
      .option('--task <t>', 'passkey, number_string, kv_retrieval or file', 'passkey')
      .option('--file <jsonl>', 'InfiniteBench or L-Eval JSONL, a compact passkey file or an official answer file (implies --task file)')
      .option('--as <task>', 'the InfiniteBench task of --file when its name does not say (e.g. longbook_qa_eng)')
      .option('--tokens <n>', 'document size for generated tasks, in tokens ("32k" = 32768)', '128k')
      .option('--n <n>', 'number of items (generated: 10; file: all, else spread evenly over the file)')
      .option('--seed <n>', 'seed of the generated tasks', '1')
      .option('--concurrency <n>', 'jobs in flight at once', '4')
      .option('--engine <e>', 'openai or extractive (default: openai when OPENAI_BASE_URL is set)')
      .option('--window <tokens>', 'model context window per call, in tokens', '4096')
      .option('--job-timeout <s>', 'give up on one item after this many seconds', '1800')
      .option('--json', 'print one JSON object on stdout')
      .option('--out <dir>', 'also write <dir>/infinitebench-<task>-<size>.{json,preds.jsonl,md}')
      .option('--quiet', 'no progress lines'),
  ).action(async (o: IbOpts) => {
    const { items, name, tokens, source } = chooseItems(o);
    const concurrency = whole(o.concurrency, '--concurrency', 1, 256);
    const window = whole(o.window, '--window', 512, 1_000_000);
    const jobTimeoutMs = whole(o.jobTimeout, '--job-timeout', 1, 86_400) * 1000;
    const say = (s: string) => (o.quiet ? undefined : process.stderr.write(`${s}\n`));
    const cluster = await openCluster({ ...o, needs: ['coordinator', 'mapper', 'reducer'], say });
    try {
      const engine = EngineSchema.safeParse(o.engine ?? defaultEngineName(cluster.env));
      if (!engine.success) throw new UsageError(`unknown engine "${o.engine}": use openai or extractive`);
      say(`${name}: ${items.length} item(s) from ${tokens === null ? source : `the recipe at ${tokens} tokens`}, engine ${engine.data}, ${concurrency} at a time`);
      const scores: number[] = [];
      const perItem = await runItems(cluster, items, {
        engine: engine.data,
        window,
        concurrency,
        jobTimeoutMs,
        onItem(r, done) {
          scores.push(r.score);
          say(progressLine(r, done, items.length, meanScore(scores)));
        },
      });
      const summary = summarize(name, tokens, engine.data, source, perItem);
      if (o.out) say(`wrote ${writeOut(o.out, summary, items).join(', ')}`);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        say(`\n${resultsTable(summary)}`);
      } else {
        const kind = summary.metric === 'accuracy' ? 'accuracy' : `mean ${summary.metric}`;
        process.stdout.write(`\n${kind} ${(summary.accuracy * 100).toFixed(2)}% over ${summary.n} item(s)\n\n${resultsTable(summary)}\n`);
      }
    } finally {
      await cluster.close();
    }
  });
  return bench;
}

/**
 * The SurveyEval runner: for each run and entry, write a survey with a V2 job on the cluster,
 * then evaluate it with the judge ops (tasks on the cluster, no job script). Resumable at two
 * levels: an entry whose survey files exist is not regenerated, and one whose evaluation file
 * exists (same judge) is not re-evaluated; inside an interrupted evaluation, task results
 * already stored are reused (deterministic task ids) and failed ones are tried again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '../bus/bus.ts';
import { submitJob, waitForJob, fetchResult, cancelJob } from '../client/client.ts';
import { canonicalJson } from '../protocol/ids.ts';
import { slugify } from '../algo/assemble.ts';
import type { EngineName } from '../protocol/schemas.ts';
import { evaluateSurvey, normaliseEntry, subjectFromSurvey, type EvalOptions, type SurveyScores } from './surveyeval.ts';
import { summarise, toCsv, toMarkdown, type SurveyEvalSummary, type SurveyRow } from './surveyeval-report.ts';
import { TaskClient } from './tasks.ts';

export interface SurveyEvalOptions {
  entries: Record<string, unknown>[];
  runs: number;
  outDir: string;
  /** Engine that writes the surveys. */
  engine: EngineName;
  /** Engine the judge tasks run on. */
  judgeEngine: EngineName;
  /** Who judges, in words (model and server, or "offline proxies"); stored with each evaluation. */
  judgeLabel: string;
  /** A judge that does not read (the simulator): the report says so in its title. */
  smoke: boolean;
  blocks: number;
  groupSize: number;
  concurrency: number;
  jobTimeoutMs: number;
  eval?: Omit<EvalOptions, 'keyPrefix'>;
  say?(line: string): void;
  signal?: AbortSignal;
}

const sha = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** Entries of a JSONL text in the V2 input shape; one-line errors name the line. */
export function parseEntries(textIn: string, file: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  textIn.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1} of ${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`line ${i + 1} of ${file} is not a JSON object`);
    const rec = v as Record<string, unknown>;
    if (typeof rec.title !== 'string' || !Array.isArray(rec.papers)) throw new Error(`line ${i + 1} of ${file} lacks "title" or "papers" (the V2 input shape)`);
    out.push(normaliseEntry(rec));
  });
  if (out.length === 0) throw new Error(`${file} holds no entries`);
  return out;
}

export interface StoredSurvey {
  job: string;
  title: string;
  references: { id: string }[];
  counts?: unknown;
  usage?: unknown;
  wallMs?: number;
}

function paths(outDir: string, run: number, entry: number, title: string) {
  const dir = join(outDir, `run-${run}`);
  const stem = `${String(entry).padStart(3, '0')}-${slugify(title, 60)}`;
  return { dir, stem, md: join(dir, `${stem}.md`), json: join(dir, `${stem}.json`), evalFile: join(dir, `${stem}.eval.json`) };
}

/** Write one survey with a V2 job (a stable job id per entry, run and settings; a failed one is retried fresh). */
async function generate(bus: Bus, entry: Record<string, unknown>, run: number, o: SurveyEvalOptions): Promise<{ markdown: string; stored: StoredSurvey }> {
  const params = { blocks: o.blocks, groupSize: o.groupSize };
  let jobId = `se-r${run}-${sha(canonicalJson([entry, params, o.engine]), 20)}`;
  const prior = await bus.getStatus(jobId);
  if (prior && (prior.state === 'failed' || prior.state === 'cancelled')) jobId = `${jobId}-${Date.now().toString(36)}`;
  const inputKey = `inputs/${jobId}.json`;
  if (!prior || prior.state !== 'succeeded') {
    await bus.putBlob(inputKey, JSON.stringify(entry));
    await submitJob(bus, { jobId, pipeline: 'v2', engine: o.engine, seed: run, params: { inputKey, ...params, groupMode: 'random' } });
  }
  const timeout = AbortSignal.timeout(o.jobTimeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let st;
  try {
    st = await waitForJob(bus, jobId, { signal });
  } catch (e) {
    if (timeout.aborted) {
      await cancelJob(bus, jobId).catch(() => undefined);
      throw new Error(`survey job ${jobId} took longer than ${o.jobTimeoutMs / 1000} s`);
    }
    throw e;
  }
  if (st.state !== 'succeeded') throw new Error(`survey job ${jobId} ${st.state}: ${st.error ?? 'no reason given'}`);
  const r = (await fetchResult(bus, st)) as Record<string, any>;
  await bus.blobs.delete(inputKey).catch(() => undefined);
  const record = (r.record ?? {}) as Record<string, any>;
  const references = Array.isArray(record.references) ? record.references.map((x: { id: string }) => ({ id: String(x.id) })) : [];
  return { markdown: String(r.markdown ?? ''), stored: { job: jobId, title: String(r.title ?? entry.title), references, counts: record.counts, usage: r.usage, wallMs: r.wallMs } };
}

interface StoredEval {
  judge: string;
  judgeEngine: string;
  survey: string;
  scores: SurveyScores;
}

async function one(bus: Bus, entry: Record<string, unknown>, index: number, run: number, o: SurveyEvalOptions): Promise<SurveyRow> {
  const title = String(entry.title);
  const p = paths(o.outDir, run, index + 1, title);
  const row: SurveyRow = { run, entry: index + 1, title, slug: p.stem, survey: p.md, evalFile: p.evalFile, generatedNow: false, evaluatedNow: false, genWallMs: null, scores: null };
  try {
    mkdirSync(p.dir, { recursive: true });
    let markdown: string;
    let stored: StoredSurvey;
    if (existsSync(p.md) && existsSync(p.json)) {
      markdown = readFileSync(p.md, 'utf8');
      stored = JSON.parse(readFileSync(p.json, 'utf8')) as StoredSurvey;
    } else {
      const t0 = Date.now();
      ({ markdown, stored } = await generate(bus, entry, run, o));
      // The record first, the Markdown last: the Markdown's presence marks a finished survey.
      writeFileSync(p.json, `${JSON.stringify(stored, null, 2)}\n`);
      writeFileSync(p.md, markdown);
      row.generatedNow = true;
      row.genWallMs = Date.now() - t0;
    }
    if (existsSync(p.evalFile)) {
      const prev = JSON.parse(readFileSync(p.evalFile, 'utf8')) as StoredEval;
      if (prev.judge === o.judgeLabel && prev.judgeEngine === o.judgeEngine && prev.survey === sha(markdown, 16)) {
        row.scores = prev.scores;
        return row;
      }
    }
    const subject = subjectFromSurvey(entry, markdown, stored.references ?? []);
    const jobId = `ev-${sha(canonicalJson([o.judgeEngine, o.judgeLabel, markdown, o.eval ?? {}]), 24)}`;
    const client = await TaskClient.open(bus, { jobId, engine: o.judgeEngine, retryFailed: true, signal: o.signal });
    try {
      row.scores = await evaluateSurvey(subject, client, { ...o.eval, keyPrefix: `eval/${jobId}` });
    } finally {
      client.close();
    }
    row.evaluatedNow = true;
    const out: StoredEval = { judge: o.judgeLabel, judgeEngine: o.judgeEngine, survey: sha(markdown, 16), scores: row.scores };
    writeFileSync(p.evalFile, `${JSON.stringify(out, null, 2)}\n`);
  } catch (e) {
    row.error = (e as Error).message;
  }
  return row;
}

const show = (x: number | null) => (x === null ? 'n/a' : x.toFixed(1));

/** Every (run, entry) pair, `concurrency` at a time; then the report files in `outDir`. */
export async function runSurveyEval(bus: Bus, o: SurveyEvalOptions): Promise<{ summary: SurveyEvalSummary; files: string[] }> {
  const work = Array.from({ length: o.runs }, (_, r) => o.entries.map((e, i) => ({ run: r + 1, entry: e, index: i }))).flat();
  const rows: SurveyRow[] = new Array(work.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < work.length && !o.signal?.aborted) {
      const k = next++;
      const w = work[k];
      rows[k] = await one(bus, w.entry, w.index, w.run, o);
      done++;
      const r = rows[k];
      const m = r.scores?.metrics;
      const how = r.error ? `ERROR ${r.error}` : `${r.generatedNow ? 'written' : 'survey kept'}, ${r.evaluatedNow ? 'evaluated' : 'evaluation kept'}; Struct ${show(m!.structure)} Fait ${show(m!.faithfulness)} Num ${show(m!.numClaims)} Prec ${show(m!.precision)} Recall ${show(m!.recall)}`;
      o.say?.(`${done}/${work.length}  run ${w.run}  entry ${w.index + 1} "${String(w.entry.title).slice(0, 50)}": ${how}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, work.length)) }, worker));
  const summary = summarise(rows.filter(Boolean), { judge: o.judgeLabel, judgeEngine: o.judgeEngine, engine: o.engine, entries: o.entries.length, runs: o.runs, smoke: o.smoke });
  mkdirSync(o.outDir, { recursive: true });
  const files = [join(o.outDir, 'surveyeval.csv'), join(o.outDir, 'surveyeval.json'), join(o.outDir, 'surveyeval.md')];
  writeFileSync(files[0], toCsv(summary));
  writeFileSync(files[1], `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(files[2], toMarkdown(summary));
  return { summary, files };
}

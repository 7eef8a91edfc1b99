/** `llmxmr survey`: write a cited survey from a topic and its papers (V2) through the cluster. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EngineSchema, type JobEvent } from '../../shared/protocol/schemas.ts';
import { newJobId } from '../../shared/protocol/ids.ts';
import { V2InputError, V2_INPUT_LIMITS } from '../../shared/protocol/v2-input.ts';
import { combine } from '../../shared/algo/entropy.ts';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { checkV2Record, uploadV2Record } from '../../shared/client/specs.ts';
import { defaultEngineName } from '../../shared/llm/select.ts';
import { openCluster } from '../cluster.ts';
import { progressPrinter } from '../progress.ts';
import { readTextFile, UsageError, withConnOptions, type ConnOpts } from '../common.ts';
import { modelJobFields, seedForRecording, withModelOptions, type ModelOpts } from './model-options.ts';
import { sourcesReport, surveyInput } from './sources.ts';

interface SurveyOpts extends ConnOpts, ModelOpts {
  input?: string;
  sources: string[];
  topic?: string;
  maxSources?: string;
  line: string;
  out: string;
  blocks: string;
  seed?: string;
  keepPartial?: boolean;
  groupSize: string;
  engine?: string;
  quiet?: boolean;
  groupMode: string;
  figures?: boolean;
  bibtex?: boolean;
  language?: string;
  maxInputMb: string;
  verify: string;
  reviewOutline?: boolean;
}

function intOpt(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** Pick line N (1-based) of a JSONL file and check it parses, with one-line errors. */
/** The weighted mean of a judgement's sub-scores (each 0–10), on 0–10. */
const entropyOf = (e: any): number | undefined => (e?.subScores ? combine(Object.fromEntries(Object.entries(e.subScores).map(([k, v]) => [k, Number(v) / 10])) as any) : undefined);

export function pickLine(text: string, lineNo: number, file: string, note?: (s: string) => void): Record<string, unknown> {
  const lines = text.split('\n').filter((l) => l.trim());
  if (lineNo > lines.length) throw new UsageError(`${file} has ${lines.length} record(s); --line ${lineNo} is past the end`);
  let raw: unknown;
  try {
    raw = JSON.parse(lines[lineNo - 1]);
  } catch (e) {
    throw new UsageError(`line ${lineNo} of ${file} is not valid JSON: ${(e as Error).message}`);
  }
  try {
    const prepared = checkV2Record(raw);
    // Papers that cannot be used are skipped: say which and why, with the line and field.
    for (const s of prepared.skipped.slice(0, 10)) note?.(`note: line ${lineNo} of ${file}, ${s.reason.startsWith('papers[') ? s.reason : `papers[${s.index}]: ${s.reason}`}; the paper is skipped`);
    if (prepared.skipped.length > 10) note?.(`note: ${prepared.skipped.length - 10} more papers skipped (their reasons are in the result's "skipped")`);
    for (const t of prepared.truncated) {
      note?.(`note: paper ${t.id} "${t.title.slice(0, 60)}" has ${t.originalChars} characters; only the first ${t.keptChars} are used (limit ${V2_INPUT_LIMITS.maxPaperChars})`);
    }
  } catch (e) {
    if (e instanceof V2InputError) throw new UsageError(`line ${lineNo} of ${file}: ${e.message}`);
    throw e;
  }
  return raw as Record<string, unknown>;
}

export function registerSurvey(program: Command): void {
  withConnOptions(withModelOptions(
    program
      .command('survey')
      .description('write a survey with citations from a topic and its papers (V2)')
      .option('--input <file.jsonl>', 'one JSON object per line: {"title", "papers": [{"title", "txt", ...}]}')
      .option('--sources <dir|glob|file|providers>', 'where papers come from (repeatable, mixable with --input): a folder, glob or file of PDF, DOCX, HTML, Markdown, text, BibTeX/RIS or JSONL; or search providers, e.g. arxiv,searxng (docs/sources.md)', (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option('--topic <t>', 'the survey topic (the title; with provider --sources, what is searched for)')
      .option('--max-sources <n>', 'topic-only mode: sources kept at most after the relevance filter (default 60)')
      .option('--line <n>', 'which line of the input to use (1-based)', '1')
      .option('--out <dir>', 'output folder for <slug>.md and <slug>.json', 'out')
      .option('--blocks <n>', 'refinement blocks (entropy-driven convolution); 0 = none', '0')
      .option('--group-size <n>', 'papers per digest group', '3')
      .option('--group-mode <m>', 'random, or llm (the model groups papers by research direction)', 'random')
      .option('--figures', 'add a table or Mermaid diagram where a section compares many papers')
      .option('--bibtex', 'also write <slug>.bib with the cited references')
      .option('--language <l>', 'write the survey in this language (model engines; citations and references unchanged; the offline engine ignores it)')
      .option('--verify <mode>', 'check every citation against its source: off, report (write <slug>.verify.json only) or repair (also remove or rewrite unsupported ones)', 'repair')
      .option('--review-outline', 'pause after the outline is drafted (and again after refinement) for you to edit it: `llmxmr outline get|put|resume JOB`')
      .option('--keep-partial', 'accept a survey that cites fewer than half its papers or has an empty section (the shortfall is recorded and printed) instead of failing the job')
      .option('--seed <n>', 'seed for every random choice (default: derived from the input and options, so a rerun repeats and is answered from the response cache)')
      .option('--max-input-mb <n>', 'refuse input files larger than this many megabytes', '64')
      .option('--engine <e>', 'openai or extractive (default: openai when OPENAI_BASE_URL is set)')
      .option('--json', 'print one JSON object (paths and figures) on stdout')
      .option('--quiet', 'no progress lines'),
  )).action(async (o: SurveyOpts) => {
    const lineNo = intOpt(o.line, '--line', 1, 1_000_000);
    const blocks = intOpt(o.blocks, '--blocks', 0, 8);
    const groupSize = intOpt(o.groupSize, '--group-size', 1, 64);
    const seedOpt = o.seed === undefined ? undefined : intOpt(o.seed, '--seed', 0, 2 ** 31 - 1);
    const modelFields = modelJobFields(o);
    if (!['random', 'llm'].includes(o.groupMode)) throw new UsageError(`--group-mode must be random or llm, not "${o.groupMode}"`);
    if (!['off', 'report', 'repair'].includes(o.verify)) throw new UsageError(`--verify must be off, report or repair, not "${o.verify}"`);
    const maxBytes = intOpt(o.maxInputMb, '--max-input-mb', 1, 400) * 1024 * 1024;
    const gathered = await surveyInput({
      input: o.input,
      sources: o.sources,
      topic: o.topic,
      ...(o.maxSources ? { maxSources: intOpt(o.maxSources, '--max-sources', 2, 5000) } : {}),
      readJsonl: () => pickLine(readTextFile(o.input!, 'input', { maxBytes, option: '--max-input-mb' }), lineNo, o.input!, o.quiet ? undefined : (s) => process.stderr.write(`${s}\n`)),
      // Skipped sources are always reported, even with --quiet.
      say: (s) => process.stderr.write(`${s}\n`),
    });
    const raw = gathered.raw;
    const say = (s: string) => (o.quiet ? undefined : process.stderr.write(`${s}\n`));
    const seed = seedForRecording(o, seedOpt, say);
    const cluster = await openCluster({ ...o, needs: ['coordinator', 'mapper', 'convolver', 'reducer'], say });
    try {
      const engine = EngineSchema.safeParse(o.engine ?? defaultEngineName(cluster.env));
      if (!engine.success) throw new UsageError(`unknown engine "${o.engine}": use openai or extractive`);
      const jobId = newJobId('survey');
      const inputKey = await uploadV2Record(cluster.bus, raw);
      say(`job ${jobId}: "${raw.title}", ${(raw.papers as unknown[]).length} papers, engine ${engine.data}, blocks ${blocks}`);
      await submitJob(cluster.bus, { jobId, pipeline: 'v2', engine: engine.data, seed, ...modelFields, params: { inputKey, blocks, groupSize, groupMode: o.groupMode as 'random' | 'llm', figures: !!o.figures, bibtex: !!o.bibtex, ...(o.language ? { language: o.language } : {}), verify: o.verify as 'off' | 'report' | 'repair', ...(o.keepPartial ? { keepPartial: true } : {}), ...(o.reviewOutline ? { reviewOutline: true } : {}), ...(gathered.sources ? { sources: gathered.sources } : {}) } });
      const printer = o.quiet ? undefined : progressPrinter();
      // A pause for outline review is always shown: the job waits for the person at this terminal.
      const onEvent = (e: JobEvent) => (e.type === 'job.paused' || (e.type === 'job.resumed' && !o.quiet) ? process.stderr.write(`${e.message}\n`) : printer?.(e));
      const status = await waitForJob(cluster.bus, jobId, { onEvent });
      if (status.state !== 'succeeded') throw new Error(`job ${jobId} ${status.state}: ${status.error ?? 'no reason given'}`);
      const r = (await fetchResult(cluster.bus, status)) as Record<string, any>;
      mkdirSync(o.out, { recursive: true });
      const md = join(o.out, `${r.slug}.md`);
      const json = join(o.out, `${r.slug}.json`);
      writeFileSync(md, r.markdown);
      const srcReport = sourcesReport(gathered, r.record);
      writeFileSync(json, JSON.stringify({ job: jobId, ...r.record, ...(srcReport ? { sources: srcReport } : {}), usage: r.usage, wallMs: r.wallMs }, null, 2));
      if (srcReport) say(`sources: ${srcReport.found} found${srcReport.fetched !== undefined ? `, ${srcReport.fetched} fetched, ${srcReport.kept} kept` : ''}, ${srcReport.used} used, ${srcReport.cited} cited, ${(srcReport.skipped as unknown[]).length} skipped (reasons under "sources" in ${json})`);
      if (typeof r.record?.bibtex === 'string') writeFileSync(join(o.out, `${r.slug}.bib`), r.record.bibtex);
      const c = r.record?.counts ?? {};
      if (c.repairs || c.fallbacks) say(`model replies: ${c.repairs ?? 0} repaired after a first unusable reply, ${c.fallbacks ?? 0} task(s) answered by the offline engine instead (listed under "fallbacks" in ${json})`);
      if (r.record?.shortfall?.length) process.stderr.write(`kept as asked (--keep-partial), though ${r.record.shortfall.join('; ')}\n`);
      const verify = r.verification && r.verification.mode !== 'off' ? join(o.out, `${r.slug}.verify.json`) : undefined;
      if (verify) {
        writeFileSync(verify, JSON.stringify({ job: jobId, ...r.verification }, null, 2));
        process.stderr.write(`${r.verification.line}\n`);
      }
      const refinement = (r.record?.refinement ?? []).map((b: any) => ({
        block: b.block,
        initial: b.initial?.score,
        layers: b.layers?.map((l: any) => l.best),
        selfRefine: b.selfRefine?.map((s: any) => s.best),
        accepted: b.accepted?.score,
        // The weighted sub-scores: offline, the entropy measure the feedback works on (the score above is held-out heading fidelity).
        entropy: {
          initial: entropyOf(b.initial),
          layers: b.layers?.map((l: any) => entropyOf([...(l.candidates ?? [])].sort((x: any, y: any) => y.score - x.score)[0])),
          accepted: entropyOf(b.accepted),
        },
      }));
      const summary = { job: jobId, markdown: md, record: json, ...(verify ? { verify } : {}), counts: r.record?.counts, refinement, usage: r.usage, wallMs: r.wallMs };
      if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else process.stdout.write(`wrote ${md} and ${json} (${(r.wallMs / 1000).toFixed(1)} s)\n`);
    } finally {
      await cluster.close();
    }
  });
}

/** `llmxmr ask`: answer a question over a long document through the whole cluster (V1). */
import type { Command } from 'commander';
import { V1_PROFILES, V1ProfileSchema, EngineSchema } from '../../shared/protocol/schemas.ts';
import { newJobId } from '../../shared/protocol/ids.ts';
import { maxDocBytes } from '../../shared/protocol/v1-input.ts';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { uploadV1Document } from '../../shared/client/specs.ts';
import { defaultEngineName } from '../../shared/llm/select.ts';
import { openCluster } from '../cluster.ts';
import { progressPrinter } from '../progress.ts';
import { UsageError, withConnOptions, type ConnOpts } from '../common.ts';
import { readDocument } from './sources.ts';
import { modelJobFields, withModelOptions, type ModelOpts } from './model-options.ts';

interface AskOpts extends ConnOpts, ModelOpts {
  doc: string;
  question: string;
  profile: string;
  engine?: string;
  window?: string;
  maxInputMb: string;
  quiet?: boolean;
}

export function registerAsk(program: Command): void {
  withConnOptions(withModelOptions(
    program
      .command('ask')
      .description('answer a question over a long document (map → collapse → reduce on the cluster)')
      .requiredOption('--doc <file>', 'the document: UTF-8 text, Markdown, PDF, HTML or DOCX (text is extracted)')
      .requiredOption('--question <q>', 'the question (or instruction, e.g. for summaries)')
      .option('--profile <p>', `task profile: ${V1_PROFILES.join(', ')}`, 'qa')
      .option('--engine <e>', 'openai or extractive (default: openai when OPENAI_BASE_URL is set)')
      .option('--window <tokens>', 'model context window per call, in tokens', '4096')
      .option('--max-input-mb <n>', 'refuse documents larger than this many megabytes', '64')
      .option('--json', 'print one JSON object on stdout')
      .option('--quiet', 'no progress lines'),
  )).action(async (o: AskOpts) => {
    const profile = V1ProfileSchema.safeParse(o.profile);
    if (!profile.success) throw new UsageError(`unknown profile "${o.profile}": use one of ${V1_PROFILES.join(', ')}`);
    if (!o.question.trim()) throw new UsageError('the question is empty: pass --question "…"');
    const window = Number(o.window);
    if (!Number.isInteger(window) || window < 512) throw new UsageError('--window must be a whole number of tokens ≥ 512');
    const modelFields = modelJobFields(o);
    const maxMb = Number(o.maxInputMb);
    const docLimitMb = maxDocBytes() / (1024 * 1024);
    if (!Number.isInteger(maxMb) || maxMb < 1 || maxMb > docLimitMb) throw new UsageError(`--max-input-mb must be a whole number from 1 to ${docLimitMb} (the V1 document limit; MR_MAX_DOC_MB raises it)`);
    const text = await readDocument(o.doc, maxMb * 1024 * 1024, '--max-input-mb');
    const say = (s: string) => (o.quiet ? undefined : process.stderr.write(`${s}\n`));
    const cluster = await openCluster({ ...o, needs: ['coordinator', 'mapper', 'reducer'], say });
    try {
      const engine = EngineSchema.safeParse(o.engine ?? defaultEngineName(cluster.env));
      if (!engine.success) throw new UsageError(`unknown engine "${o.engine}": use openai or extractive`);
      const jobId = newJobId('ask');
      const docKey = await uploadV1Document(cluster.bus, jobId, text);
      say(`job ${jobId}: ${text.length} characters, profile ${profile.data}, engine ${engine.data}`);
      await submitJob(cluster.bus, {
        jobId,
        pipeline: 'v1',
        engine: engine.data,
        ...modelFields,
        params: { docKey, question: o.question, profile: profile.data, window },
      });
      const status = await waitForJob(cluster.bus, jobId, { onEvent: o.quiet ? undefined : progressPrinter() });
      if (status.state !== 'succeeded') throw new Error(`job ${jobId} ${status.state}: ${status.error ?? 'no reason given'}`);
      const r = (await fetchResult(cluster.bus, status)) as Record<string, any>;
      const out = {
        answer: r.answer,
        confidence: r.confidence,
        job: jobId,
        stats: {
          ...(r.stats ?? {}),
          tasks: r.usage?.tasks,
          modelCalls: r.usage?.calls,
          promptTokens: r.usage?.promptTokens,
          completionTokens: r.usage?.completionTokens,
          wallMs: r.wallMs,
        },
      };
      if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else process.stdout.write(`${r.answer}\n\n(confidence ${r.confidence}/5; ${out.stats.tasks} tasks, ${out.stats.modelCalls} model calls, ${(r.wallMs / 1000).toFixed(1)} s)\n`);
    } finally {
      await cluster.close();
    }
  });
}

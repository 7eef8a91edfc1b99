/**
 * Job specs built from inputs held in memory: a V1 document and question, a V2 record and its
 * parameters. Shared by the CLI (`ask`, `survey`) and the HTTP gateway, so both name uploads
 * the same way and refuse the same bad inputs with the same words.
 */
import { z } from 'zod';
import { Bus } from '../bus/bus.ts';
import { contentKey, newJobId } from '../protocol/ids.ts';
import {
  BudgetSchema,
  CacheModeSchema,
  EngineSchema,
  JobIdSchema,
  JobSpecSchema,
  V1ProfileSchema,
  type EngineName,
  type JobSpec,
  type JobSpecInput,
} from '../protocol/schemas.ts';
import { V2ParamsSchema } from '../protocol/v2-params.ts';
import { prepareInput, V2InputError, type PreparedInput } from '../protocol/v2-input.ts';
import { submitJob, uploadInput } from './client.ts';

/** Upload a V1 document; returns the job's `docKey`. */
export function uploadV1Document(bus: Bus, jobId: string, text: string): Promise<string> {
  return uploadInput(bus, `docs/${jobId}.txt`, text);
}

/**
 * Upload a V2 record, named by its content: the same input gets the same key, so the job's
 * default seed (derived from its parameters) repeats and a rerun is answered from the cache.
 * Returns the job's `inputKey`.
 */
export function uploadV2Record(bus: Bus, record: Record<string, unknown>): Promise<string> {
  const body = JSON.stringify(record);
  return uploadInput(bus, contentKey('inputs', body, 'json'), body);
}

/**
 * Check a V2 record before anything is uploaded: the same preparation the coordinator runs.
 * Throws V2InputError naming the problem (not an object, no title, no paper with text, ...).
 */
export function checkV2Record(raw: unknown): PreparedInput {
  const prepared = prepareInput(raw); // an array or a non-object is refused there, in the coordinator's words
  if (prepared.papers.length === 0) {
    const why = prepared.skipped.slice(0, 3).map((s) => s.reason).join('; ');
    throw new V2InputError(`the record has no paper with text: nothing to survey${why ? ` (${why}${prepared.skipped.length > 3 ? `; ${prepared.skipped.length - 3} more` : ''})` : ''}`);
  }
  return prepared;
}

const Common = {
  jobId: JobIdSchema.optional(),
  engine: EngineSchema.optional(),
  seed: z.number().int().optional(),
  budget: BudgetSchema.optional(),
  cache: CacheModeSchema.optional(),
};

/** A V1 job with its document inline. */
export const InlineV1Schema = z
  .object({
    ...Common,
    pipeline: z.literal('v1'),
    document: z.string().refine((s) => s.trim().length > 0, 'the document is empty: there is nothing to read'),
    question: z.string().trim().min(1, 'the question is empty'),
    profile: V1ProfileSchema.default('qa'),
    window: z.number().int().min(512).max(1_000_000).optional(),
  })
  .strict();

/** A V2 job with its record inline; `params` are the V2 parameters without `inputKey`. */
export const InlineV2Schema = z
  .object({
    ...Common,
    pipeline: z.literal('v2'),
    record: z.unknown(),
    params: V2ParamsSchema.omit({ inputKey: true }).partial().strict().optional(),
  })
  .strict();

export const InlineJobSchema = z.discriminatedUnion('pipeline', [InlineV1Schema, InlineV2Schema]);
export type InlineJob = z.infer<typeof InlineJobSchema>;

/** Whether a request body carries its input inline (rather than being a full job spec). */
export function isInlineJob(body: unknown): boolean {
  if (!body || typeof body !== 'object') return false;
  const b = body as Record<string, unknown>;
  return (b.pipeline === 'v1' && 'document' in b) || (b.pipeline === 'v2' && 'record' in b);
}

/** The problems of a zod parse as one line: `path: message; ...`. */
export function issuesLine(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

/**
 * Upload an inline job's input and submit it. Everything is checked before the upload, so a
 * bad request leaves nothing behind. Errors are V2InputError (bad record) or Error("invalid
 * job: ...") from the spec check.
 */
export async function submitInline(bus: Bus, job: InlineJob, defaults: { engine: EngineName }): Promise<JobSpec> {
  const jobId = job.jobId ?? newJobId(job.pipeline === 'v1' ? 'ask' : 'survey');
  const { pipeline: _p, jobId: _j, engine, ...rest } = job;
  const fields = {
    jobId,
    engine: engine ?? defaults.engine,
    ...(rest.seed !== undefined ? { seed: rest.seed } : {}),
    ...(rest.budget ? { budget: rest.budget } : {}),
    ...(rest.cache ? { cache: rest.cache } : {}),
  };
  if (job.pipeline === 'v1') {
    const spec = (docKey: string): JobSpecInput => ({ ...fields, pipeline: 'v1', params: { docKey, question: job.question, profile: job.profile, ...(job.window ? { window: job.window } : {}) } });
    precheck(spec('pending'));
    return submitJob(bus, spec(await uploadV1Document(bus, jobId, job.document)));
  }
  const record = checkV2Record(job.record) && (job.record as Record<string, unknown>);
  const spec = (inputKey: string): JobSpecInput => ({ ...fields, pipeline: 'v2', params: { ...(job.params ?? {}), inputKey } });
  precheck(spec('pending'));
  return submitJob(bus, spec(await uploadV2Record(bus, record)));
}

function precheck(spec: JobSpecInput): void {
  const parsed = JobSpecSchema.safeParse(spec);
  if (!parsed.success) throw new Error(`invalid job: ${issuesLine(parsed.error)}`);
}

/**
 * Wire schemas (zod) for everything that crosses the bus: job specs, task envelopes, task
 * results, job status and events. `llmxmr schema` prints the job spec as JSON Schema.
 */
import { z } from 'zod';
import { TASK_KINDS } from './names.ts';

export const PROTOCOL_VERSION = 1;

export const JobIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'job ids use 1-64 letters, digits, "-" or "_"');

export const EngineSchema = z.enum(['extractive', 'openai']);
export type EngineName = z.infer<typeof EngineSchema>;

export const V1_PROFILES = ['qa', 'sum', 'mc', 'code', 'math', 'retrieval', 'qa_zh'] as const;
export const V1ProfileSchema = z.enum(V1_PROFILES);
export type V1Profile = z.infer<typeof V1ProfileSchema>;

export const V1ParamsSchema = z
  .object({
    /** Object Store key of the document (UTF-8 text). */
    docKey: z.string().min(1),
    question: z.string().trim().min(1, 'the question is empty'),
    profile: V1ProfileSchema.default('qa'),
    /** Model context window in tokens: prompt, chunk and reserved output together. */
    window: z.number().int().min(512).max(1_000_000).default(4096),
    /** Output tokens reserved per call (upstream: 300; 1500 for summaries). */
    maxOutputTokens: z.number().int().min(16).max(32_000).optional(),
    /** Upper bound on collapse rounds before falling back to confidence-ranked truncation. */
    maxCollapseRounds: z.number().int().min(1).max(32).default(8),
    /** Start the first collapse round on the map records already in (absent: on). Same answer either way. */
    pipelineCollapse: z.boolean().optional(),
  })
  .strict();
export type V1Params = z.infer<typeof V1ParamsSchema>;

export { V2ParamsSchema, type V2Params } from './v2-params.ts';
import { V2ParamsSchema } from './v2-params.ts';

/**
 * How a job uses the model response cache: use (read and store; the default), record (always
 * call and store), replay (stored replies only; a call never recorded stops the job), off.
 */
export const CacheModeSchema = z.enum(['use', 'record', 'replay', 'off']);
export type CacheMode = z.infer<typeof CacheModeSchema>;

/** Spending limit of one job; the job stops with a partial record when a limit is passed. */
export const BudgetSchema = z
  .object({
    /** Prompt plus completion tokens of model calls (cached replies are free). */
    tokens: z.number().int().positive().optional(),
    /** Dollars, from the routing file's prices. */
    dollars: z.number().positive().optional(),
  })
  .strict()
  .refine((b) => b.tokens !== undefined || b.dollars !== undefined, 'a budget needs tokens, dollars or both');
export type Budget = z.infer<typeof BudgetSchema>;

const JobCommon = {
  v: z.literal(PROTOCOL_VERSION).default(PROTOCOL_VERSION),
  jobId: JobIdSchema,
  engine: EngineSchema.default('extractive'),
  /** Seed of the job's random generator (default: derived from pipeline, engine and params, so a rerun repeats). */
  seed: z.number().int().optional(),
  submittedAt: z.string().optional(),
  budget: BudgetSchema.optional(),
  cache: CacheModeSchema.optional(),
};

export const JobSpecSchema = z.discriminatedUnion('pipeline', [
  z.object({ ...JobCommon, pipeline: z.literal('v1'), params: V1ParamsSchema }).strict(),
  z.object({ ...JobCommon, pipeline: z.literal('v2'), params: V2ParamsSchema }).strict(),
]);
export type JobSpec = z.infer<typeof JobSpecSchema>;
export type JobSpecInput = z.input<typeof JobSpecSchema>;

export const TaskEnvelopeSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    jobId: JobIdSchema,
    taskId: z.string().regex(/^[a-f0-9]{32}$/),
    kind: z.enum(TASK_KINDS),
    op: z.string().min(1),
    engine: EngineSchema,
    input: z.unknown(),
    /** The job's cache mode when it is not the default. */
    cache: CacheModeSchema.optional(),
    /** A second attempt of a straggling task (the first result stored wins). */
    backup: z.literal(true).optional(),
    /**
     * The publisher knew no result of this task when it published it (its watch over the job's
     * results was complete): a worker's first delivery skips the lookup for a stored result.
     */
    fresh: z.literal(true).optional(),
  })
  .strict();
export type TaskEnvelope = z.infer<typeof TaskEnvelopeSchema>;

export const UsageSchema = z.object({
  calls: z.number().int().nonnegative(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  cachedCalls: z.number().int().nonnegative().default(0),
  /** Dollars, from the routing file's prices (absent: 0). */
  costDollars: z.number().nonnegative().optional(),
  /** Replies that needed a repair round (invalid for the schema, or problems found by the op's check). */
  repairs: z.number().int().nonnegative().optional(),
  /** Tasks whose model reply could not be used even after repair: the offline implementation answered. */
  fallbacks: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof UsageSchema>;
export const ZERO_USAGE: Usage = { calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0 };

export const TaskResultSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  jobId: JobIdSchema,
  taskId: z.string(),
  op: z.string(),
  status: z.enum(['ok', 'failed']),
  output: z.unknown().optional(),
  /** Set when the output was too large for KV and lives in the Object Store. */
  outputKey: z.string().optional(),
  error: z.string().optional(),
  attempts: z.number().int().positive(),
  worker: z.string(),
  durationMs: z.number().nonnegative(),
  usage: UsageSchema,
  /** Why the output is the offline implementation's instead of the model's (absent: the model's). */
  fallback: z.string().optional(),
  /** Stored by a backup attempt of a straggling task. */
  backup: z.literal(true).optional(),
});
export type TaskResult = z.infer<typeof TaskResultSchema>;

/** `paused`: the job waits for a person (outline review); not terminal, and `review` says what to do. */
export const JOB_STATES = ['queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export const JobStatusSchema = z.object({
  jobId: JobIdSchema,
  pipeline: z.string(),
  state: z.enum(JOB_STATES),
  coordinator: z.string().optional(),
  attempts: z.number().int().nonnegative().default(0),
  submittedAt: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  error: z.string().optional(),
  /** Object Store key of the full JSON result. */
  resultKey: z.string().optional(),
  cancelRequested: z.boolean().optional(),
  /** The authenticated publisher that submitted the job (absent: submitted by an administrator). */
  owner: z.string().optional(),
  /** While paused: which review gate the job waits at, since when, and what to do (plain words). */
  review: z.object({ gate: z.string(), since: z.string(), message: z.string() }).optional(),
});
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const EVENT_TYPES = [
  'job.accepted',
  'job.started',
  'job.succeeded',
  'job.failed',
  'job.cancelled',
  'job.paused',
  'job.resumed',
  'stage.started',
  'stage.finished',
  'tasks.progress',
  'task.failed',
  'info',
  'error',
] as const;
export const EventSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  jobId: z.string(),
  ts: z.string(),
  type: z.enum(EVENT_TYPES),
  stage: z.string().optional(),
  done: z.number().int().optional(),
  total: z.number().int().optional(),
  message: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type JobEvent = z.infer<typeof EventSchema>;

/** The job spec as JSON Schema, for programs that publish jobs to the bus themselves. */
export function jobSpecJsonSchema(): unknown {
  return z.toJSONSchema(JobSpecSchema, { io: 'input' });
}

/**
 * Service configuration from environment variables, validated with zod. Every variable a
 * service reads is declared here (the Kubernetes manifests are checked against this list).
 */
import { z } from 'zod';
import { retentionFrom } from '../bus/limits.ts';

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

export const EnvSchema = z.object({
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  NATS_USER: z.string().optional(),
  NATS_PASS: z.string().optional(),
  NATS_TOKEN: z.string().optional(),
  NATS_CREDS: z.string().optional(),
  NATS_TLS_CA: z.string().optional(),
  /** Client certificate and its key (PEM files) for servers that verify clients (mutual TLS). */
  NATS_TLS_CERT: z.string().optional(),
  NATS_TLS_KEY: z.string().optional(),
  /** Path of a file holding a user nkey seed ("SU…"), instead of user/password. */
  NATS_NKEY_SEED: z.string().optional(),
  /** Inbox prefix for replies; default `_INBOX.<user>` (or `.<nkey>`), matching the generated permissions. */
  NATS_INBOX_PREFIX: z.string().optional(),
  MR_PREFIX: z.string().default('mr'),
  /** Tasks a worker process runs at once (default: `workerConcurrency`). */
  MR_CONCURRENCY: z.coerce.number().int().min(1).max(1024).optional(),
  /** Jobs a coordinator process runs at once. */
  MR_MAX_JOBS: int(8, 1, 1024),
  /** Deliveries of a task before it is dead-lettered. */
  MR_MAX_DELIVER: int(4, 1, 100),
  /** How long a task may go without a heartbeat before it is redelivered. */
  MR_ACK_WAIT_MS: int(30_000, 1_000, 3_600_000),
  /** Copies of every stream, bucket and the Object Store; above 1 needs JetStream clustered over that many servers. */
  MR_REPLICAS: int(1, 1, 5),
  /** Bytes all streams, buckets and stores of the prefix may hold together, split by fixed shares (docs/operations.md). */
  MR_STORAGE_BYTES: z.string().default('10GiB'),
  /** Per-store byte limits overriding the shares, e.g. "blobs=20GiB,events=2GiB". */
  MR_STORAGE_LIMITS: z.string().optional(),
  /** Per-store age limits, e.g. "events=3d,dlq=30d". */
  MR_STORAGE_MAX_AGE: z.string().optional(),
  /** Age after which a finished job's status, results and blobs expire (and `llmxmr gc`'s default); 0 keeps them. */
  MR_JOB_RETENTION: z.string().default('7d'),
  /** Jobs one user may have queued or running at once; a submission past it is refused. */
  MR_USER_MAX_JOBS: int(20, 1, 1_000_000),
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  LLM_MODEL: z.string().optional(),
  LLM_TIMEOUT_MS: int(120_000, 1_000, 3_600_000),
  LLM_MAX_RETRIES: int(3, 0, 20),
  /** Model routing file (YAML or JSON): per-op models, endpoints, sampling, timeouts, prices. */
  LLM_ROUTING_FILE: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of the /metrics, /healthz and /readyz server; 0 turns it off. */
  METRICS_PORT: int(9464, 0, 65535),
  /** Bearer token of the HTTP API (gateway, `up --http`); without one it serves on loopback only. */
  LLMXMR_HTTP_TOKEN: z.string().optional(),
  /** Publishers' HTTP tokens by sha-256 (`http-users.json` of `llmxmr auth init --users …`): each acts as its user only. */
  LLMXMR_HTTP_USERS_FILE: z.string().min(1).optional(),
  /** Port (0: any free one) and interface of the gateway's HTTP API and console. */
  HTTP_PORT: int(8080, 0, 65535),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Largest request body the HTTP API accepts, in MiB. */
  HTTP_BODY_LIMIT_MB: int(32, 1, 1024),
});
export type Env = z.infer<typeof EnvSchema>;

/**
 * Tasks a worker process holds at once. Model calls are I/O-bound: with a model configured a
 * worker holds 64 and its endpoint pool decides how many calls run (growing until the server
 * pushes back), so one `ask` can fill a 32-slot server. The offline engine is CPU-bound: 4.
 */
export function workerConcurrency(env: Env): number {
  return env.MR_CONCURRENCY ?? (env.OPENAI_BASE_URL || env.LLM_ROUTING_FILE ? 64 : 4);
}

/** Names of every variable the services accept. */
export const ENV_KEYS = Object.keys(EnvSchema.shape) as (keyof Env)[];

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const picked: Record<string, string> = {};
  for (const k of ENV_KEYS) {
    const v = source[k];
    if (v !== undefined && v !== '') picked[k] = v;
  }
  const parsed = EnvSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration in environment variables:\n${lines.join('\n')}`);
  }
  try {
    retentionFrom(parsed.data);
  } catch (e) {
    throw new Error(`invalid configuration in environment variables:\n  ${(e as Error).message}`);
  }
  return parsed.data;
}

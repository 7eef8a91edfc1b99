/**
 * Engines run an op on an input: `extractive` with the op's offline implementation, `openai`
 * through any OpenAI-compatible server. Errors say whether a retry can help.
 */
import type { OpDef, OpEnv } from '../ops/op.ts';
import type { CacheMode, EngineName, Usage } from '../protocol/schemas.ts';

export interface EngineResult<O> {
  output: O;
  usage: Usage;
  /** Set when the model's reply could not be used and the op's offline implementation answered: why. */
  fallback?: string;
}

export interface TaskMeta {
  jobId: string;
  taskId: string;
  /** The job's response-cache mode (default: use the cache when the engine has one). */
  cache?: CacheMode;
}

export interface Engine {
  readonly name: EngineName;
  execute<I, O>(op: OpDef<I, O>, input: I, env: OpEnv, meta: TaskMeta): Promise<EngineResult<O>>;
}

/** A failure that may go away on retry (429, 5xx, timeouts, connection resets). */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TransientError';
  }
}

/** A failure a retry cannot fix (invalid input, 4xx such as context overflow, bad config). */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

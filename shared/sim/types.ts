/** Options, statistics and handle of the fleet simulator (see fleet.ts). */
import type { CorruptionKind } from './sloppy.ts';

export { CORRUPTION_KINDS, DEFAULT_CORRUPTION_WEIGHTS, type CorruptionKind } from './sloppy.ts';

export const FAULT_KINDS = ['http5xx', 'timeout', 'malformed', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FleetSimOptions {
  port?: number;
  host?: string;
  replicas?: number;
  slots?: number;
  /** Requests that may wait for a slot; one more gets 429. */
  queueLimit?: number;
  prefillTokensPerSec?: number;
  decodeTokensPerSec?: number;
  baseLatencyMs?: number;
  /** Relative spread of service times, 0..1 (0: every request of a size takes the same time). */
  jitter?: number;
  /** Share of requests that get a fault, 0..1. */
  faultRate?: number;
  /** Relative weights of the fault kinds (default: equal). */
  faults?: Partial<Record<FaultKind, number>>;
  seed?: number;
  model?: string;
  /** Context window: prompt + max_tokens above it gets vLLM's 400. */
  maxModelLen?: number;
  /** Heavy-tailed latency: share of requests (0..1) whose service time is multiplied by `tailFactor`. */
  tailRate?: number;
  /** Service-time multiplier of the heavy tail (default 10). */
  tailFactor?: number;
  /** Service-time multiplier of the `slow` fault. */
  slowFactor?: number;
  /** How long a `timeout` fault holds its slot before the connection is dropped. */
  hangMs?: number;
  /** false: answer 400 to response_format json_schema, like servers without structured output. */
  structuredOutput?: boolean;
  /** 'sloppy': a share of replies (`sloppyRate`) is corrupted like small local models do (see sloppy.ts). Default 'clean'. */
  quality?: 'clean' | 'sloppy';
  /** Share of replies the sloppy mode corrupts, 0..1 (default 0.3). */
  sloppyRate?: number;
  /** Relative weights of the corruption kinds (default DEFAULT_CORRUPTION_WEIGHTS). */
  corruptions?: Partial<Record<CorruptionKind, number>>;
}

export interface FleetStats {
  requests: number;
  successes: number;
  rejected429: number;
  badRequests: number;
  faults: Record<FaultKind, number>;
  /** Replies the sloppy mode corrupted, by kind (counted when sent). */
  sloppy: Record<CorruptionKind, number>;
  /** JSON replies by the op whose responder shaped them ("generic": no responder knew the schema). */
  replies: Record<string, number>;
  clientAborts: number;
  running: number;
  waiting: number;
  maxConcurrent: number;
  maxWaiting: number;
  promptTokens: number;
  completionTokens: number;
  totalSlots: number;
  elapsedMs: number;
  busySlotMs: number;
  /** busy slot-time / (replicas × slots × elapsed). */
  slotUtilisation: number;
}

export interface FleetSim {
  url: string;
  port: number;
  stats(): FleetStats;
  /** Start a new measuring window (counters to zero; requests in flight keep running). */
  resetStats(): void;
  /** Change the base latency of requests that start from now on (e.g. a fast warm-up, then the measured run). */
  setBaseLatency(ms: number): void;
  close(): Promise<void>;
}

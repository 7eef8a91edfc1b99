/**
 * Prometheus metrics of a service process (prom-client). `createMetrics()` builds a fresh
 * Registry with every metric the runtime reports, plus small typed helpers so that call sites
 * never spell metric or label names themselves. Each process (or each test) owns its registry;
 * nothing here touches prom-client's global registry.
 *
 * Names (all prefixed `llmxmr_`; see docs/operations.md for the alerting view):
 *   tasks_processed_total{kind,op}            tasks that finished with a result
 *   tasks_failed_total{kind,op,reason}        reason: transient | permanent | exhausted
 *   tasks_redelivered_total{kind,op}          deliveries with a delivery count above 1
 *   tasks_backup_total{kind,op,outcome}      backup attempts of stragglers: won, lost (stopped: the other attempt's result came first)
 *   task_duration_seconds{kind,op,outcome}    histogram, outcome: ok | failed
 *   tasks_in_flight{kind,op}                  gauge
 *   model_request_duration_seconds{endpoint,model}   histogram of successful calls
 *   model_tokens_total{endpoint,model,type}   type: prompt | completion
 *   model_errors_total{endpoint,model,reason} reason: see ModelErrorReason
 *   model_cost_dollars_total{model}           from the routing file's prices
 *   model_cache_hits_total{model}             responses served from the LLM cache
 *   jobs{state}                               gauge: jobs this process holds, by state
 *   jobs_finished_total{state}                terminal transitions seen by this process
 *   nats_connected                            gauge 0/1
 *   build_info{version,node}                  gauge, always 1
 * plus prom-client's default process and Node.js metrics (process_*, nodejs_*).
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TaskKind } from '../protocol/names.ts';
import { JOB_STATES } from '../protocol/schemas.ts';

export const METRIC_PREFIX = 'llmxmr_';

/** Why a task attempt failed: retried later, failed for good, or out of deliveries. */
export type TaskFailureReason = 'transient' | 'permanent' | 'exhausted';

/** Coarse class of a failed model call (bounded label values). */
export type ModelErrorReason =
  | 'rate_limited'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'client'
  | 'parse'
  | 'other';

export type JobState = (typeof JOB_STATES)[number];

/** Seconds: fast extractive ops at the low end, long section writing at the top. */
export const TASK_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Seconds: one chat completion, from a cached prefix to a long generation. */
export const MODEL_LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256];

export interface MetricsOptions {
  /** Register prom-client's process and Node.js metrics too (default true). */
  defaultMetrics?: boolean;
  /** Reported in llmxmr_build_info (default: the version in package.json, else "dev"). */
  version?: string;
}

export interface ModelCall {
  endpoint: string;
  model: string;
  seconds: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Dollar cost of the call when the routing file gives a price. */
  costDollars?: number;
}

export interface ModelFailure {
  endpoint: string;
  model: string;
  reason: ModelErrorReason;
}

/** Handle for one running task: counts it in flight until done() or failed() (first call wins). */
export interface TaskTimer {
  done(): void;
  failed(reason: TaskFailureReason): void;
}

/** Something that knows the model calls waiting for an endpoint slot (the process's endpoint pools). */
export interface WaitingCallsSource {
  waitingCalls(): Map<string, number>;
}

export interface Metrics {
  readonly registry: Registry;
  /** Marks a task as in flight and starts its clock. */
  startTask(op: string, kind: TaskKind): TaskTimer;
  /** A task produced its result after `seconds` (does not touch the in-flight gauge). */
  taskDone(op: string, kind: TaskKind, seconds: number): void;
  /** A task attempt failed; `seconds` is observed in the duration histogram when given. */
  taskFailed(op: string, kind: TaskKind, reason: TaskFailureReason, seconds?: number): void;
  /** A task arrived with a delivery count above one. */
  taskRedelivered(op: string, kind: TaskKind): void;
  /** A backup attempt stored the result first (won), or an attempt stopped because the other one had (lost). */
  taskBackup?(op: string, kind: TaskKind, outcome: 'won' | 'lost'): void;
  /** Adjusts the in-flight gauge by hand (startTask does this for you). */
  inFlight(op: string, kind: TaskKind, delta: number): void;
  modelCall(call: ModelCall): void;
  modelError(failure: ModelFailure): void;
  modelCacheHit(model: string): void;
  /** Sets the number of jobs this process holds in one state. */
  setJobs(state: JobState, count: number): void;
  /** Sets every state at once; states left out are set to 0. */
  setJobCounts(counts: Partial<Record<JobState, number>>): void;
  jobFinished(state: JobState): void;
  setNatsConnected(connected: boolean): void;
  /**
   * Where to read, at each scrape, the model calls waiting for a free endpoint slot per model
   * (the endpoint pools' queues). The GPU autoscaler needs them: the pools keep the servers'
   * own queues short, so `vllm:num_requests_waiting` alone hides the backlog.
   */
  readWaitingCalls(source: WaitingCallsSource): void;
}

const MAX_LABEL = 64;

let packageVersion: string | undefined;
function defaultVersion(): string {
  if (packageVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      packageVersion = typeof pkg.version === 'string' ? pkg.version : 'dev';
    } catch {
      packageVersion = 'dev';
    }
  }
  return packageVersion;
}

/** Keeps label values short and printable so a malformed message cannot explode cardinality. */
export function clampLabel(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > MAX_LABEL ? clean.slice(0, MAX_LABEL) : clean || 'unknown';
}

/**
 * The `endpoint` label of a model server URL: host and port only, so that credentials, paths
 * and query strings never reach Prometheus. Anything that is not a URL is clamped as is.
 */
export function endpointLabel(url: string): string {
  try {
    const u = new URL(url);
    return clampLabel(u.host || u.protocol);
  } catch {
    return clampLabel(url);
  }
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const p = METRIC_PREFIX;
  const registers = [registry];

  const processed = new Counter({
    name: `${p}tasks_processed_total`,
    help: 'Tasks that finished with a result, by kind and op.',
    labelNames: ['kind', 'op'] as const,
    registers,
  });
  const failed = new Counter({
    name: `${p}tasks_failed_total`,
    help: 'Failed task attempts, by kind, op and reason (transient: retried; permanent: failed for good; exhausted: out of deliveries).',
    labelNames: ['kind', 'op', 'reason'] as const,
    registers,
  });
  const redelivered = new Counter({
    name: `${p}tasks_redelivered_total`,
    help: 'Task deliveries with a delivery count above one, by kind and op.',
    labelNames: ['kind', 'op'] as const,
    registers,
  });
  const backups = new Counter({
    name: `${p}tasks_backup_total`,
    help: 'Backup attempts of straggling tasks, by kind, op and outcome (won: its result came first; lost: stopped, the other attempt came first).',
    labelNames: ['kind', 'op', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: `${p}task_duration_seconds`,
    help: 'Time from taking a task to its result or failure, by kind, op and outcome.',
    labelNames: ['kind', 'op', 'outcome'] as const,
    buckets: TASK_DURATION_BUCKETS,
    registers,
  });
  const inFlightGauge = new Gauge({
    name: `${p}tasks_in_flight`,
    help: 'Tasks this process is working on, by kind and op.',
    labelNames: ['kind', 'op'] as const,
    registers,
  });
  const modelLatency = new Histogram({
    name: `${p}model_request_duration_seconds`,
    help: 'Latency of successful model calls, by endpoint (host:port) and model.',
    labelNames: ['endpoint', 'model'] as const,
    buckets: MODEL_LATENCY_BUCKETS,
    registers,
  });
  const modelTokens = new Counter({
    name: `${p}model_tokens_total`,
    help: 'Tokens used by model calls, by endpoint, model and type (prompt or completion).',
    labelNames: ['endpoint', 'model', 'type'] as const,
    registers,
  });
  const modelErrors = new Counter({
    name: `${p}model_errors_total`,
    help: 'Failed model calls, by endpoint, model and reason.',
    labelNames: ['endpoint', 'model', 'reason'] as const,
    registers,
  });
  const modelCost = new Counter({
    name: `${p}model_cost_dollars_total`,
    help: 'Estimated model spend in dollars from the routing file prices, by model.',
    labelNames: ['model'] as const,
    registers,
  });
  const cacheHits = new Counter({
    name: `${p}model_cache_hits_total`,
    help: 'Model responses served from the LLM response cache, by model.',
    labelNames: ['model'] as const,
    registers,
  });
  const jobs = new Gauge({
    name: `${p}jobs`,
    help: 'Jobs held by this process, by state (sum over coordinators for the cluster view).',
    labelNames: ['state'] as const,
    registers,
  });
  const jobsFinished = new Counter({
    name: `${p}jobs_finished_total`,
    help: 'Jobs that reached a terminal state in this process, by state.',
    labelNames: ['state'] as const,
    registers,
  });
  // A set: every engine of a process shares its pools and registers them, counted once.
  const waitingSources = new Set<WaitingCallsSource>();
  new Gauge({
    name: `${p}model_calls_waiting`,
    help: 'Model calls waiting in this process for a free endpoint slot, by model (add vllm:num_requests_waiting for the whole backlog).',
    labelNames: ['model'] as const,
    registers,
    collect() {
      this.reset();
      const total = new Map<string, number>();
      for (const src of waitingSources) for (const [m, n] of src.waitingCalls()) total.set(m, (total.get(m) ?? 0) + n);
      for (const [m, n] of total) this.set({ model: clampLabel(m) }, n);
    },
  });
  const natsConnected = new Gauge({
    name: `${p}nats_connected`,
    help: '1 while the process is connected to NATS, else 0.',
    registers,
  });
  const buildInfo = new Gauge({
    name: `${p}build_info`,
    help: 'Always 1; labels carry the package version and the Node.js version.',
    labelNames: ['version', 'node'] as const,
    registers,
  });
  buildInfo.set(
    { version: clampLabel(opts.version ?? defaultVersion()), node: process.version },
    1,
  );
  for (const state of JOB_STATES) jobs.set({ state }, 0);
  natsConnected.set(0);

  const taskLabels = (op: string, kind: TaskKind) => ({ kind, op: clampLabel(op) });

  const metrics: Metrics = {
    registry,
    startTask(op, kind) {
      const labels = taskLabels(op, kind);
      const started = process.hrtime.bigint();
      inFlightGauge.inc(labels);
      let settled = false;
      const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
      return {
        done() {
          if (settled) return;
          settled = true;
          inFlightGauge.dec(labels);
          metrics.taskDone(op, kind, elapsed());
        },
        failed(reason) {
          if (settled) return;
          settled = true;
          inFlightGauge.dec(labels);
          metrics.taskFailed(op, kind, reason, elapsed());
        },
      };
    },
    taskDone(op, kind, seconds) {
      const labels = taskLabels(op, kind);
      processed.inc(labels);
      duration.observe({ ...labels, outcome: 'ok' }, Math.max(0, seconds));
    },
    taskFailed(op, kind, reason, seconds) {
      const labels = taskLabels(op, kind);
      failed.inc({ ...labels, reason });
      if (seconds !== undefined) duration.observe({ ...labels, outcome: 'failed' }, Math.max(0, seconds));
    },
    taskRedelivered(op, kind) {
      redelivered.inc(taskLabels(op, kind));
    },
    taskBackup(op, kind, outcome) {
      backups.inc({ ...taskLabels(op, kind), outcome });
    },
    inFlight(op, kind, delta) {
      inFlightGauge.inc(taskLabels(op, kind), delta);
    },
    modelCall(call) {
      const labels = { endpoint: endpointLabel(call.endpoint), model: clampLabel(call.model) };
      modelLatency.observe(labels, Math.max(0, call.seconds));
      if (call.promptTokens) modelTokens.inc({ ...labels, type: 'prompt' }, call.promptTokens);
      if (call.completionTokens) modelTokens.inc({ ...labels, type: 'completion' }, call.completionTokens);
      if (call.costDollars) modelCost.inc({ model: labels.model }, call.costDollars);
    },
    modelError(f) {
      modelErrors.inc({ endpoint: endpointLabel(f.endpoint), model: clampLabel(f.model), reason: f.reason });
    },
    modelCacheHit(model) {
      cacheHits.inc({ model: clampLabel(model) });
    },
    setJobs(state, count) {
      jobs.set({ state }, count);
    },
    setJobCounts(counts) {
      for (const state of JOB_STATES) jobs.set({ state }, counts[state] ?? 0);
    },
    jobFinished(state) {
      jobsFinished.inc({ state });
    },
    setNatsConnected(connected) {
      natsConnected.set(connected ? 1 : 0);
    },
    readWaitingCalls(source) {
      waitingSources.add(source);
    },
  };
  return metrics;
}

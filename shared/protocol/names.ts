/**
 * Every subject, stream, consumer, bucket and object store the system uses, in one place.
 * All names live under a prefix (default "mr") so several clusters or test runs can share one
 * NATS server without seeing each other.
 */
export const TASK_KINDS = ['map', 'convolve', 'reduce'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** The service (and durable consumer) that serves each task kind. */
export const WORKER_OF: Record<TaskKind, 'mapper' | 'convolver' | 'reducer'> = {
  map: 'mapper',
  convolve: 'convolver',
  reduce: 'reducer',
};

export interface Names {
  prefix: string;
  streams: { jobs: string; tasks: string; events: string; dlq: string };
  consumers: { coordinator: string } & Record<TaskKind, string>;
  buckets: { jobs: string; results: string; llmcache: string; workers: string };
  objectStore: string;
  subjects: {
    submit: string;
    /** Subject a task of this kind and op is published on. */
    task(kind: TaskKind, op: string): string;
    /** Filter covering every task of one kind. */
    taskFilter(kind: TaskKind): string;
    events(jobId: string): string;
    eventsAll: string;
    /** Events about the bus itself (malformed messages that carry no usable job id). */
    systemEvents: string;
    dlq(kind: TaskKind | 'jobs'): string;
    cancel(jobId: string): string;
    cancelAll: string;
  };
  /** KV key of a task result: results of one job share the `<jobId>.` prefix. */
  resultKey(jobId: string, taskId: string): string;
}

const SAFE_PREFIX = /^[a-z][a-z0-9_]{0,31}$/;

export function names(prefix = 'mr'): Names {
  if (!SAFE_PREFIX.test(prefix)) {
    throw new Error(
      `invalid name prefix "${prefix}": use 1-32 lowercase letters, digits or "_", starting with a letter`,
    );
  }
  const P = prefix.toUpperCase();
  return {
    prefix,
    streams: { jobs: `${P}_JOBS`, tasks: `${P}_TASKS`, events: `${P}_EVENTS`, dlq: `${P}_DLQ` },
    consumers: { coordinator: 'coordinator', map: 'mapper', convolve: 'convolver', reduce: 'reducer' },
    buckets: {
      jobs: `${prefix}_jobs`,
      results: `${prefix}_results`,
      llmcache: `${prefix}_llmcache`,
      workers: `${prefix}_workers`,
    },
    objectStore: `${prefix}_blobs`,
    subjects: {
      submit: `${prefix}.jobs.submit`,
      task: (kind, op) => `${prefix}.tasks.${kind}.${op}`,
      taskFilter: (kind) => `${prefix}.tasks.${kind}.>`,
      events: (jobId) => `${prefix}.events.${jobId}`,
      eventsAll: `${prefix}.events.>`,
      systemEvents: `${prefix}.events.system`,
      dlq: (kind) => `${prefix}.dlq.${kind}`,
      cancel: (jobId) => `${prefix}.control.cancel.${jobId}`,
      cancelAll: `${prefix}.control.cancel.*`,
    },
    resultKey: (jobId, taskId) => `${jobId}.${taskId}`,
  };
}

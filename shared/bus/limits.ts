/**
 * Storage bounds of a cluster: how many bytes each stream, bucket and store may hold, how long
 * its data lives, and how many jobs one user may have queued or running. Read from the
 * environment (see docs/operations.md, "Retention and quotas"). Pure: no I/O.
 *
 * One budget, MR_STORAGE_BYTES, is split across the stores by fixed shares, so an operator
 * sizes the cluster with one number; MR_STORAGE_LIMITS and MR_STORAGE_MAX_AGE override single
 * stores ("blobs=20GiB,events=2GiB", "events=3d").
 */

/** Every stream, bucket and object store of a prefix, by its role. */
export const STORES = ['jobs', 'tasks', 'events', 'dlq', 'uploads', 'status', 'results', 'llmcache', 'workers', 'blobs', 'final'] as const;
export type Store = (typeof STORES)[number];

/** Share of MR_STORAGE_BYTES each store gets (they add up to 1). */
export const STORE_SHARES: Record<Store, number> = {
  blobs: 0.3,
  results: 0.2,
  events: 0.1,
  uploads: 0.1,
  llmcache: 0.1,
  tasks: 0.08,
  final: 0.05,
  dlq: 0.03,
  jobs: 0.02,
  status: 0.01,
  workers: 0.01,
};

const DAY_MS = 24 * 3600 * 1000;

/**
 * How long data lives in each store (0: until the byte limit pushes it out or gc removes it).
 * `job` stands for the job retention (MR_JOB_RETENTION): stores that hold only per-job data.
 * Work queues never age: a task or a queued job is never dropped for being old.
 */
const DEFAULT_AGES: Record<Store, number | 'job'> = {
  jobs: 0,
  tasks: 0,
  events: DAY_MS,
  dlq: 14 * DAY_MS,
  uploads: DAY_MS,
  status: 'job',
  results: 'job',
  llmcache: 30 * DAY_MS,
  workers: 20_000,
  blobs: 'job',
  final: 'job',
};

export const DEFAULT_STORAGE_BYTES = 10 * 1024 ** 3;
export const DEFAULT_JOB_RETENTION_MS = 7 * DAY_MS;
export const DEFAULT_USER_MAX_JOBS = 20;
/** No store is given less than this, whatever the budget (a stream needs room for one big message). */
export const MIN_STORE_BYTES = 4 * 1024 * 1024;

export interface StoreLimit {
  maxBytes: number;
  /** Milliseconds; 0 = no age limit. */
  maxAgeMs: number;
}

export interface Retention {
  stores: Record<Store, StoreLimit>;
  /** Queued or running jobs per submitting user (the administrator's subject counts as one user). */
  userMaxJobs: number;
  /** Age after which a finished job's data expires, in ms (0: never). */
  jobRetentionMs: number;
  /**
   * No byte limit was configured (neither MR_STORAGE_BYTES nor MR_STORAGE_LIMITS): the default
   * budget may be halved until the server can reserve it (a laptop's disk is smaller than a
   * cluster's), and provisioning says so.
   */
  budgetDefaulted?: boolean;
}

/** The smallest default budget provisioning shrinks to before it gives up (explicit budgets never shrink). */
export const MIN_FITTED_BUDGET = 256 * 1024 * 1024;

/** The sum of every store's byte limit. */
export const totalBytes = (r: Retention): number => STORES.reduce((n, s) => n + r.stores[s].maxBytes, 0);

/** The same bounds with every store's byte limit halved (never below MIN_STORE_BYTES). */
export function halveBudget(r: Retention): Retention {
  const stores = Object.fromEntries(STORES.map((s) => [s, { ...r.stores[s], maxBytes: Math.max(MIN_STORE_BYTES, Math.floor(r.stores[s].maxBytes / 2)) }])) as Record<Store, StoreLimit>;
  return { ...r, stores };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** "10GiB", "512MiB", "2G" (decimal), "1048576" → bytes. */
export function parseBytes(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`${what}: "${text}" is not a size (write e.g. 512MiB, 10GiB or a number of bytes)`);
  return Math.round(Number(m[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/** "7d", "12h", "30m", "45s", "1w", "0" → milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(text);
  if (!m || (!m[2] && Number(m[1]) !== 0)) throw new Error(`${what}: "${text}" is not a duration (write e.g. 7d, 12h, 30m or 0)`);
  return Math.round(Number(m[1]) * (m[2] ? DURATION_UNITS[m[2].toLowerCase()] : 0));
}

/** A duration in the largest whole unit: 604800000 → "7d". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [u, f] of [['w', 7 * DAY_MS], ['d', DAY_MS], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % f === 0) return `${ms / f}${u}`;
  return `${ms}ms`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** "blobs=20GiB,events=2GiB" → overrides by store, each value parsed by `parse`. */
function overrides(text: string | undefined, variable: string, parse: (v: string, what: string) => number): Partial<Record<Store, number>> {
  const out: Partial<Record<Store, number>> = {};
  for (const item of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = item.split('=').map((s) => s.trim());
    if (!(STORES as readonly string[]).includes(k) || v === undefined) {
      throw new Error(`${variable}: "${item}" should be store=value with a store among ${STORES.join(', ')}`);
    }
    out[k as Store] = parse(v, `${variable} ${k}`);
  }
  return out;
}

export interface RetentionEnv {
  MR_STORAGE_BYTES?: string;
  MR_STORAGE_LIMITS?: string;
  MR_STORAGE_MAX_AGE?: string;
  MR_JOB_RETENTION?: string;
  MR_USER_MAX_JOBS?: number | string;
}

/** The bounds described by these environment variables (unset ones take the defaults). */
export function retentionFrom(env: RetentionEnv): Retention {
  const budget = env.MR_STORAGE_BYTES ? parseBytes(env.MR_STORAGE_BYTES, 'MR_STORAGE_BYTES') : DEFAULT_STORAGE_BYTES;
  const jobRetentionMs = env.MR_JOB_RETENTION ? parseDuration(env.MR_JOB_RETENTION, 'MR_JOB_RETENTION') : DEFAULT_JOB_RETENTION_MS;
  const bytes = overrides(env.MR_STORAGE_LIMITS, 'MR_STORAGE_LIMITS', parseBytes);
  const ages = overrides(env.MR_STORAGE_MAX_AGE, 'MR_STORAGE_MAX_AGE', parseDuration);
  const userMaxJobs = env.MR_USER_MAX_JOBS === undefined || env.MR_USER_MAX_JOBS === '' ? DEFAULT_USER_MAX_JOBS : Number(env.MR_USER_MAX_JOBS);
  if (!Number.isInteger(userMaxJobs) || userMaxJobs < 1) throw new Error(`MR_USER_MAX_JOBS: "${env.MR_USER_MAX_JOBS}" should be a whole number of at least 1`);
  if (ages.workers === 0) throw new Error('MR_STORAGE_MAX_AGE workers: presence needs an age limit (it is how a stopped process disappears)');
  const stores = Object.fromEntries(
    STORES.map((s) => {
      const age = DEFAULT_AGES[s];
      const maxBytes = Math.max(MIN_STORE_BYTES, bytes[s] ?? Math.floor(budget * STORE_SHARES[s]));
      return [s, { maxBytes, maxAgeMs: ages[s] ?? (age === 'job' ? jobRetentionMs : age) }];
    }),
  ) as Record<Store, StoreLimit>;
  return { stores, userMaxJobs, jobRetentionMs, budgetDefaulted: !env.MR_STORAGE_BYTES && !env.MR_STORAGE_LIMITS };
}

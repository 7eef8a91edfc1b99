/**
 * Removal of finished jobs' data (`llmxmr gc`): the status, the task results (`<jobId>.` keys
 * and large outputs' parts in the results bucket), the events, the blobs named after the job
 * and the final result. Queued and running jobs are never touched. Needs administrator
 * credentials: results are write-once, so only a stream purge removes them.
 *
 * The stores' max_age removes the same data by itself after MR_JOB_RETENTION; gc is for
 * removing it earlier, or for one job.
 */
import { Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import type { Bus } from './bus.ts';
import { isPermissionError } from './provision.ts';
import { decode } from '../protocol/codec.ts';
import { JobStatusSchema, type JobStatus } from '../protocol/schemas.ts';
import { ownerNames } from '../security/owners.ts';

export const FINISHED = ['succeeded', 'failed', 'cancelled'] as const;

export interface GcOptions {
  /** Finished at least this long ago (ms). */
  olderThanMs: number;
  /** Only these jobs (whatever their age); a queued or running one is an error. */
  jobIds?: string[];
  dryRun?: boolean;
  now?: number;
}

/** What one job holds in one store. */
export interface GcItem {
  store: 'status' | 'results' | 'events' | 'blobs' | 'final';
  messages: number;
  bytes: number;
}

export interface GcJob {
  jobId: string;
  state: string;
  finishedAt?: string;
  items: GcItem[];
  bytes: number;
}

export interface GcReport {
  dryRun: boolean;
  removed: GcJob[];
  /** Jobs left alone: queued or running (never removed), or finished too recently. */
  kept: { jobId: string; state: string; reason: string }[];
  bytes: number;
}

/** A job gc was asked to remove that is still queued or running. */
export class GcRefusal extends Error {}

interface Known {
  status: JobStatus;
  /** When the status was last written (stands in for a missing finishedAt). */
  written: number;
}

/**
 * Which jobs to remove: finished ones whose end is at least `olderThanMs` ago, or the named
 * ones. Pure.
 */
export function selectJobs(jobs: Known[], o: GcOptions): { remove: Known[]; kept: GcReport['kept'] } {
  const now = o.now ?? Date.now();
  const remove: Known[] = [];
  const kept: GcReport['kept'] = [];
  const named = o.jobIds ? new Set(o.jobIds) : undefined;
  for (const k of jobs) {
    const s = k.status;
    if (named && !named.has(s.jobId)) continue;
    if (!(FINISHED as readonly string[]).includes(s.state)) {
      kept.push({ jobId: s.jobId, state: s.state, reason: `${s.state}: gc never removes a queued or running job` });
      continue;
    }
    const ended = s.finishedAt ? Date.parse(s.finishedAt) : k.written;
    if (!named && now - ended < o.olderThanMs) {
      kept.push({ jobId: s.jobId, state: s.state, reason: 'finished too recently' });
      continue;
    }
    remove.push(k);
  }
  return { remove, kept };
}

/** Every job status on the bus. */
async function listJobs(bus: Bus): Promise<Known[]> {
  const out: Known[] = [];
  for await (const key of await bus.jobs.keys()) {
    const e = await bus.jobs.get(key);
    if (!e || e.operation !== 'PUT') continue;
    const d = decode(JobStatusSchema, e.value);
    if (d.ok) out.push({ status: d.value, written: e.created.getTime() });
  }
  return out;
}

/** Messages and payload bytes on `filter` in `stream` (headers only: payloads stay on the server). */
async function measure(bus: Bus, stream: string, filter: string): Promise<{ messages: number; bytes: number }> {
  const info = await bus.jsm.streams.info(stream, { subjects_filter: filter });
  const messages = Object.values((info.state.subjects ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
  if (messages === 0) return { messages: 0, bytes: 0 };
  const c = await bus.js.consumers.get(stream, { filter_subjects: filter, headers_only: true });
  let bytes = 0;
  let seen = 0;
  try {
    while (seen < messages) {
      let got = 0;
      for await (const m of await c.fetch({ max_messages: Math.min(1000, messages - seen), expires: 2_000 })) {
        bytes += Number(m.headers?.get('Nats-Msg-Size') ?? m.data.byteLength);
        got++;
      }
      seen += got;
      if (got === 0) break;
    }
  } finally {
    await c.delete().catch(() => undefined);
  }
  return { messages, bytes };
}

/** The meta subject of an object (the client library's padded base64url of the name). */
function metaSubject(store: string, name: string): string {
  return `$O.${store}.M.${Buffer.from(name, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
}

/** Blob names a job owns: everything under `jobs/<id>/` and `inputs/<id>/`, and its named files. */
export function ownsBlob(jobId: string, name: string): boolean {
  return (
    name.startsWith(`jobs/${jobId}/`) ||
    name.startsWith(`inputs/${jobId}/`) ||
    [`inputs/${jobId}.json`, `docs/${jobId}.txt`, `results/${jobId}.json`].includes(name)
  );
}

interface Plan {
  item: GcItem;
  /** Stream and subject filters to purge. */
  purge: [string, string][];
}

async function subjectPlan(bus: Bus, store: GcItem['store'], stream: string, filters: string[]): Promise<Plan> {
  const item: GcItem = { store, messages: 0, bytes: 0 };
  for (const f of filters) {
    const m = await measure(bus, stream, f);
    item.messages += m.messages;
    item.bytes += m.bytes;
  }
  return { item, purge: filters.map((f) => [stream, f]) };
}

function objectPlan(storeName: string, store: GcItem['store'], objects: ObjectInfo[]): Plan {
  return {
    item: { store, messages: objects.length, bytes: objects.reduce((a, o) => a + o.size, 0) },
    purge: objects.flatMap((o): [string, string][] => [
      [`OBJ_${storeName}`, `$O.${storeName}.C.${o.nuid}`],
      [`OBJ_${storeName}`, metaSubject(storeName, o.name)],
    ]),
  };
}

async function planJob(bus: Bus, k: Known, blobs: ObjectInfo[], final: ObjectStore, finalName: string): Promise<Plan[]> {
  const { jobId } = k.status;
  const b = bus.names.buckets;
  const plans = [
    await subjectPlan(bus, 'status', `KV_${b.jobs}`, [`$KV.${b.jobs}.${jobId}`]),
    await subjectPlan(bus, 'results', `KV_${b.results}`, [`$KV.${b.results}.${jobId}.>`, `$KV.${b.results}._parts.${jobId}.>`]),
    await subjectPlan(bus, 'events', bus.names.streams.events, [bus.names.subjects.events(jobId)]),
    objectPlan(bus.names.objectStore, 'blobs', blobs.filter((o) => !o.deleted && ownsBlob(jobId, o.name))),
  ];
  const fin = k.status.resultKey ? await final.info(k.status.resultKey) : null;
  plans.push(objectPlan(finalName, 'final', fin && !fin.deleted ? [fin] : []));
  return plans;
}

/** Find the jobs to remove and, unless `dryRun`, remove their data. */
export async function collectGarbage(bus: Bus, o: GcOptions): Promise<GcReport> {
  try {
    return await run(bus, o);
  } catch (e) {
    if (isPermissionError(e)) {
      throw new Error(`llmxmr gc needs administrator credentials (the server refused: ${(e as Error).message}); run it with the admin user's NATS_USER/NATS_PASS`);
    }
    throw e;
  }
}

async function run(bus: Bus, o: GcOptions): Promise<GcReport> {
  const jobs = await listJobs(bus);
  if (o.jobIds) {
    const known = new Set(jobs.map((j) => j.status.jobId));
    const unknown = o.jobIds.filter((id) => !known.has(id));
    if (unknown.length) throw new GcRefusal(`no job ${unknown.join(', ')} on this bus (prefix ${bus.names.prefix})`);
  }
  const { remove, kept } = selectJobs(jobs, o);
  if (o.jobIds && kept.length) {
    throw new GcRefusal(`${kept.map((k) => `job ${k.jobId} is ${k.state}`).join('; ')}: gc removes finished jobs only (cancel it first: llmxmr cancel <jobId>)`);
  }
  const finalName = ownerNames(bus.names.prefix).finalStore;
  const final = await new Objm(bus.js).open(finalName);
  const blobs = remove.length ? await bus.blobs.list() : [];
  const removed: GcJob[] = [];
  for (const k of remove) {
    const plans = await planJob(bus, k, blobs, final, finalName);
    if (!o.dryRun) {
      // The status goes last: a gc stopped halfway finds the job again next time.
      for (const p of [...plans.slice(1), plans[0]]) for (const [stream, filter] of p.purge) await bus.jsm.streams.purge(stream, { filter });
    }
    const items = plans.map((p) => p.item);
    removed.push({ jobId: k.status.jobId, state: k.status.state, finishedAt: k.status.finishedAt, items, bytes: items.reduce((a, i) => a + i.bytes, 0) });
  }
  return { dryRun: Boolean(o.dryRun), removed, kept, bytes: removed.reduce((a, j) => a + j.bytes, 0) };
}

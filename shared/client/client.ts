/**
 * The client side of the bus, for the CLI and for programs that publish jobs themselves:
 * upload inputs, submit a job, follow its events, fetch its result, cancel it.
 *
 * Two ways to reach the cluster, picked from what the connection may do:
 * * direct (an administrator, or a server without per-role users): the stores are read and
 *   written as they are;
 * * publisher (a user of the `client` role): nothing but the user's own subjects. Jobs go to
 *   `<p>.jobs.submit.<user>`, inputs to `<p>.uploads.<user>.<id>`, and status, results and
 *   cancellation are requests to coordinators, which answer only for the user's own jobs.
 */
import { randomBytes } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { encode } from '../protocol/codec.ts';
import { describeIssues } from '../protocol/issues.ts';
import { JobSpecSchema, type JobEvent, type JobSpec, type JobSpecInput, type JobStatus } from '../protocol/schemas.ts';
import { Bus } from '../bus/bus.ts';
import { connectionIdentity } from '../bus/connect.ts';
import { isPermissionError } from '../bus/provision.ts';
import { isNatsUnavailable, whileNatsUnavailable } from '../bus/retry.ts';
import { readObject } from '../bus/blob-read.ts';
import { Objm } from '@nats-io/obj';
import { quotaError } from '../bus/quota.ts';
import { UPLOAD_REF, ownerNames, type ApiVerb } from '../security/owners.ts';
import { NotYourJobError, decodeReply, encodeJson, type ApiReply } from '../security/job-api.ts';

const modes = new WeakMap<Bus, Promise<string | undefined>>();

/**
 * The publisher this connection acts as, or undefined when it may use the stores directly.
 * Found once per bus by trying to read a job status (publishers may not).
 */
export function publisherOf(bus: Bus): Promise<string | undefined> {
  let m = modes.get(bus);
  if (!m) {
    m = whileNatsUnavailable(() => bus.jobs.get('_access_check'), { timeoutMs: 10 * 60_000 }).then(
      () => undefined,
      (e) => {
        if (!isPermissionError(e)) throw e;
        const who = connectionIdentity(bus.nc);
        if (!who) throw new Error('these NATS credentials may not read job status, and carry no user name to act as a publisher: set NATS_USER or NATS_INBOX_PREFIX');
        return who;
      },
    );
    modes.set(bus, m);
    m.catch(() => modes.delete(bus));
  }
  return m;
}

const submitters = new WeakMap<Bus, string>();

/**
 * A view of `bus` that uploads and submits as publisher `user`, on that user's own subjects
 * (the HTTP gateway submitting for one of its users over its own connection); everything else
 * it does as `bus` does.
 */
export function actingAs(bus: Bus, user: string): Bus {
  const view = Object.create(bus) as Bus;
  submitters.set(view, user);
  return view;
}

/** A request to the coordinators about one of the publisher's own jobs (the job API). */
export async function ask(bus: Bus, user: string, verb: ApiVerb, body: Record<string, unknown>): Promise<Exclude<ApiReply, { ok: false }>> {
  let reply: ApiReply;
  try {
    const msg = await bus.nc.request(ownerNames(bus.names.prefix).api(user, verb), encodeJson(body), { timeout: 15_000 });
    reply = decodeReply(msg.data);
  } catch (e) {
    if (/no responders|503/i.test(String((e as Error).message))) {
      throw new Error('no coordinator answers on this bus: start one (`llmxmr up`, or the coordinator service)');
    }
    throw e;
  }
  if (!reply.ok) {
    if (reply.code === 'not-yours') throw new NotYourJobError(String(body.jobId));
    if (reply.code === 'not-found' && verb === 'status') return { ok: true, status: undefined as never };
    throw new Error(reply.error);
  }
  return reply;
}

/**
 * Put an input document where a job can read it. Returns the value for the job's `docKey` /
 * `inputKey`: `key` itself on a direct connection, `upload:<id>` for a publisher (its upload
 * is readable by coordinators only, and only for its own jobs).
 */
export async function uploadInput(bus: Bus, key: string, data: string | Uint8Array): Promise<string> {
  const user = submitters.get(bus) ?? (await publisherOf(bus));
  if (!user) {
    await bus.putBlob(key, data);
    return key;
  }
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const id = randomBytes(12).toString('hex');
  const subject = ownerNames(bus.names.prefix).upload(user, id);
  const size = 512 * 1024;
  const parts = Math.max(1, Math.ceil(bytes.byteLength / size));
  for (let i = 0; i < parts; i++) {
    const h = natsHeaders();
    h.set('Mr-Parts', String(parts));
    h.set('Mr-Part', String(i));
    await bus.js.publish(subject, bytes.subarray(i * size, (i + 1) * size), { headers: h });
  }
  return `${UPLOAD_REF}${id}`;
}

export async function submitJob(bus: Bus, input: JobSpecInput): Promise<JobSpec> {
  const parsed = JobSpecSchema.safeParse(input);
  if (!parsed.success) {
    // The same words the coordinator uses for a spec published by any other program.
    throw new Error(`invalid job: ${describeIssues(parsed.error, JobSpecSchema)}`);
  }
  const spec = { ...parsed.data, submittedAt: parsed.data.submittedAt ?? new Date().toISOString() };
  const data = encode(spec);
  const limit = bus.nc.info?.max_payload ?? 1024 * 1024;
  if (data.byteLength > limit) {
    // Checked before any state is written, so no job is left "queued" that was never sent.
    throw new Error(
      `invalid job: the job spec is ${mib(data.byteLength)} encoded and NATS messages are limited to ${mib(limit)} here; ` +
        'put large inputs in the Object Store and pass their keys (as docKey / inputKey do)',
    );
  }
  const user = submitters.get(bus) ?? (await publisherOf(bus));
  if (user) {
    // Publishers write no status: the coordinator that takes the job records it, with its owner.
    try {
      await bus.js.publish(ownerNames(bus.names.prefix).submitAs(user), data, { msgID: spec.jobId });
    } catch (e) {
      throw (await quotaError(bus.jsm, bus.names.streams.jobs, ownerNames(bus.names.prefix).submitAs(user), user, e)) ?? new Error(`the job could not be submitted: ${(e as Error).message}`);
    }
    return spec;
  }
  const existing = await bus.getStatus(spec.jobId);
  if (!existing) await bus.setStatus({ jobId: spec.jobId, pipeline: spec.pipeline, state: 'queued', attempts: 0, submittedAt: spec.submittedAt });
  try {
    await bus.js.publish(bus.names.subjects.submit, data, { msgID: spec.jobId });
  } catch (e) {
    const quota = await quotaError(bus.jsm, bus.names.streams.jobs, bus.names.subjects.submit, 'the administrator', e);
    const error = quota?.message ?? `the job could not be submitted: ${(e as Error).message}`;
    if (!existing) await bus.patchStatus(spec.jobId, { state: 'failed', error, finishedAt: new Date().toISOString() }).catch(() => undefined);
    throw new Error(error);
  }
  return spec;
}

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(2)} MiB`;

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** A job's status (null: no such job yet); a publisher asking about another user's job gets NotYourJobError. */
export async function jobStatus(bus: Bus, jobId: string): Promise<JobStatus | null> {
  const user = await publisherOf(bus);
  if (!user) return bus.getStatus(jobId);
  const r = await ask(bus, user, 'status', { jobId });
  return 'status' in r && r.status ? r.status : null;
}

export interface WaitOptions {
  onEvent?(e: JobEvent): void;
  /** Fail when the job stays queued this long with no coordinator alive. */
  noCoordinatorMs?: number;
  signal?: AbortSignal;
}

/**
 * Follow a job until it ends; resolves with its final status. Never waits silently forever;
 * rides out NATS restarts (the connection reconnects, and polling carries on).
 */
export async function waitForJob(bus: Bus, jobId: string, o: WaitOptions = {}): Promise<JobStatus> {
  const user = await publisherOf(bus);
  const subject = user ? ownerNames(bus.names.prefix).events(user, jobId) : bus.names.subjects.events(jobId);
  const sub = bus.nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      const d = Bus.decodeEvent(msg.data);
      if (d.ok) o.onEvent?.(d.value);
    },
  });
  const started = Date.now();
  try {
    for (;;) {
      if (o.signal?.aborted) throw new Error('stopped waiting (interrupted)');
      let s: JobStatus | null;
      try {
        s = await jobStatus(bus, jobId);
      } catch (e) {
        if (!isNatsUnavailable(e) || bus.nc.isClosed()) throw e;
        await new Promise((r) => setTimeout(r, 1_000)); // NATS is restarting: keep waiting
        continue;
      }
      if (s && TERMINAL.has(s.state)) return s;
      if ((!s || s.state === 'queued') && Date.now() - started > (o.noCoordinatorMs ?? 15_000)) {
        const live = await bus.liveRoles().catch(() => new Map([['coordinator', 1]]));
        if (!live.get('coordinator')) {
          throw new Error(
            `job ${jobId} is still queued and no coordinator is running on this bus: start one with \`llmxmr up\` ` +
              '(or the coordinator service), or rerun with --embedded',
          );
        }
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    sub.unsubscribe();
  }
}

export async function fetchResult(bus: Bus, status: JobStatus): Promise<Record<string, unknown>> {
  if (!status.resultKey) throw new Error(`job ${status.jobId} has no stored result (state: ${status.state})`);
  const user = await publisherOf(bus);
  if (user) {
    const chunks: Buffer[] = [];
    for (let part = 0, parts = 1; part < parts; part++) {
      const r = await ask(bus, user, 'result', { jobId: status.jobId, part });
      if (!('parts' in r)) throw new Error(`no result for job ${status.jobId}`);
      parts = r.parts;
      chunks.push(Buffer.from(r.data, 'base64'));
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }
  const finals = await new Objm(bus.js).open(ownerNames(bus.names.prefix).finalStore);
  const bytes = (await readObject(finals, bus.jsm, ownerNames(bus.names.prefix).finalStore, status.resultKey)) ?? (await bus.getBlob(status.resultKey));
  if (!bytes) throw new Error(`the result of job ${status.jobId} is missing from the store (${status.resultKey})`);
  return JSON.parse(new TextDecoder().decode(bytes));
}

export async function cancelJob(bus: Bus, jobId: string): Promise<void> {
  const user = await publisherOf(bus);
  if (user) {
    await ask(bus, user, 'cancel', { jobId });
    return;
  }
  await bus.patchStatus(jobId, { cancelRequested: true });
  bus.nc.publish(bus.names.subjects.cancel(jobId));
  await bus.nc.flush();
}

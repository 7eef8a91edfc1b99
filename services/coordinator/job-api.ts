/**
 * The coordinators' side of the publishers' job API (shared/security/job-api.ts): status,
 * result and cancel requests on `<p>.api.<user>.<verb>`, answered only for the user's own jobs;
 * the relay of a running job's events to its owner; and the staging of a publisher's uploaded
 * inputs into the Object Store before the job script runs.
 */
import type { Logger } from 'pino';
import type { Msg, Subscription } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Bus } from '../../shared/bus/bus.ts';
import type { JobSpec } from '../../shared/protocol/schemas.ts';
import { API_VERBS, INPUT_PARAMS, UPLOAD_REF, ownerNames, userOfApiSubject, type ApiVerb } from '../../shared/security/owners.ts';
import { PART_BYTES, decodeRequest, encodeJson, mayAccess, publicStatus, type ApiReply } from '../../shared/security/job-api.ts';
import { answerReview, isReviewVerb } from './review-api.ts';
import { checkJobRefs, isOwnStagedInput } from './job-refs.ts';

const stores = new WeakMap<Bus, Promise<ObjectStore>>();

/** The Object Store of final results (coordinators only). */
export function finalStore(bus: Bus): Promise<ObjectStore> {
  let s = stores.get(bus);
  if (!s) {
    s = new Objm(bus.js).open(ownerNames(bus.names.prefix).finalStore);
    stores.set(bus, s);
  }
  return s;
}

export async function putFinalResult(bus: Bus, key: string, text: string): Promise<void> {
  await (await finalStore(bus)).putBlob({ name: key }, new TextEncoder().encode(text));
}

export async function readFinal(bus: Bus, key: string): Promise<Uint8Array | null> {
  return (await (await finalStore(bus)).getBlob(key)) ?? (await bus.getBlob(key)); // older results lived in the blob store
}

async function answer(bus: Bus, verb: ApiVerb, user: string, data: Uint8Array): Promise<ApiReply> {
  const req = decodeRequest(data);
  if ('error' in req) return { ok: false, code: 'bad-request', error: req.error };
  const status = await bus.getStatus(req.jobId);
  if (!status) return { ok: false, code: 'not-found', error: `no job ${req.jobId} on this bus (a job appears once a coordinator takes it)` };
  if (!mayAccess(status, user)) return { ok: false, code: 'not-yours', error: `not your job: ${req.jobId} was submitted by another user` };
  if (verb === 'status') return { ok: true, status: publicStatus(status) };
  if (isReviewVerb(verb)) return answerReview(bus, verb, status, req.outline);
  if (verb === 'cancel') {
    await bus.patchStatus(req.jobId, { cancelRequested: true });
    bus.nc.publish(bus.names.subjects.cancel(req.jobId));
    return { ok: true, cancelled: true };
  }
  if (!status.resultKey) return { ok: false, code: 'no-result', error: `job ${req.jobId} has no stored result (state: ${status.state})` };
  const bytes = await readFinal(bus, status.resultKey);
  if (!bytes) return { ok: false, code: 'no-result', error: `the result of job ${req.jobId} is missing from the store` };
  const parts = Math.max(1, Math.ceil(bytes.byteLength / PART_BYTES));
  const part = req.part ?? 0;
  if (part >= parts) return { ok: false, code: 'bad-request', error: `the result has ${parts} part(s); part ${part} does not exist` };
  const slice = bytes.subarray(part * PART_BYTES, (part + 1) * PART_BYTES);
  return { ok: true, parts, part, data: Buffer.from(slice).toString('base64') };
}

/** Answer publishers' requests (one queue group across coordinators). */
export function serveJobApi(bus: Bus, log: Logger): { stop(): void } {
  const on = ownerNames(bus.names.prefix);
  const subs: Subscription[] = API_VERBS.map((verb) =>
    bus.nc.subscribe(on.apiAll(verb), {
      queue: 'coordinators',
      callback: (err, msg: Msg) => {
        if (err) return log.warn({ err: err.message }, 'job API subscription failed');
        const user = userOfApiSubject(bus.names.prefix, msg.subject);
        if (!user || !msg.reply) return;
        answer(bus, verb, user, msg.data)
          .catch((e): ApiReply => ({ ok: false, code: 'internal', error: (e as Error).message }))
          .then((r) => msg.respond(encodeJson(r)))
          .catch(() => undefined);
      },
    }),
  );
  return { stop: () => subs.forEach((s) => s.unsubscribe()) };
}

/** Forward a job's events to its owner's event subject while the job runs here. */
export function relayEvents(bus: Bus, owner: string | undefined, jobId: string): () => void {
  if (!owner) return () => undefined;
  const to = ownerNames(bus.names.prefix).events(owner, jobId);
  const sub = bus.nc.subscribe(bus.names.subjects.events(jobId), {
    callback: (err, msg) => {
      if (!err) bus.nc.publish(to, msg.data);
    },
  });
  return () => sub.unsubscribe();
}

/**
 * Resolve a job's input parameters. A publisher's job must name its inputs as `upload:<id>`
 * (an upload under its own subjects, which no one else can write or read); each is copied into
 * the Object Store under `inputs/<jobId>/<param>` and the spec given to the script names that
 * key. An administrator's job may name any Object Store key.
 */
export async function stageInputs(bus: Bus, spec: JobSpec, owner: string | undefined): Promise<JobSpec> {
  const params = { ...(spec.params as Record<string, unknown>) };
  let changed = false;
  await checkJobRefs(bus, spec, owner);
  for (const p of INPUT_PARAMS) {
    const v = params[p];
    if (typeof v !== 'string') continue;
    if (!v.startsWith(UPLOAD_REF)) {
      // A rerun reads the input its base job (one of the owner's own) staged.
      if (owner && !(await isOwnStagedInput(bus, v, owner))) throw new Error(`${p}: a publisher's inputs must be its own uploads ("${UPLOAD_REF}<id>"), not Object Store keys`);
      continue;
    }
    if (!owner) throw new Error(`${p}: "${v}" names an upload, but this job was not submitted by a publisher`);
    const id = v.slice(UPLOAD_REF.length);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`${p}: invalid upload id "${id}"`);
    const key = `inputs/${spec.jobId}/${p}`;
    if (!(await bus.blobs.info(key))) await copyUpload(bus, owner, id, key);
    params[p] = key;
    changed = true;
  }
  return changed ? ({ ...spec, params } as JobSpec) : spec;
}

/** Read an upload's parts in order (streamed, never whole in memory) into the Object Store. */
async function copyUpload(bus: Bus, owner: string, id: string, key: string): Promise<void> {
  const on = ownerNames(bus.names.prefix);
  const subject = on.upload(owner, id);
  const consumer = await bus.js.consumers.get(on.uploadsStream, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  const pending = (await consumer.info(true)).num_pending;
  if (pending === 0) throw new Error(`upload ${id} not found (uploads are kept for a day)`);
  const messages = await consumer.consume();
  const it = messages[Symbol.asyncIterator]();
  let expected: number | undefined;
  let seen = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (expected !== undefined && seen >= expected) return ctl.close();
      const { value: m, done } = await it.next();
      if (done || !m) return ctl.error(new Error(`upload ${id} ended early`));
      const parts = Number(m.headers?.get('Mr-Parts'));
      if (!Number.isInteger(parts) || parts < 1) return ctl.error(new Error(`upload ${id}: a part without a valid Mr-Parts header`));
      expected ??= parts;
      seen++;
      ctl.enqueue(m.data);
      if (seen >= expected) ctl.close();
    },
  });
  try {
    await bus.blobs.put({ name: key }, body);
  } finally {
    // not awaited: closing waits for the pending pull to expire
    void messages.close().catch(() => undefined);
  }
}

/**
 * The client side of the bus, for the CLI and for programs that publish jobs themselves:
 * submit a job, follow its events, fetch its result, cancel it.
 */
import { encode } from '../protocol/codec.ts';
import { JobSpecSchema, type JobEvent, type JobSpec, type JobSpecInput, type JobStatus } from '../protocol/schemas.ts';
import { Bus } from '../bus/bus.ts';
import { describeIssues } from '../protocol/issues.ts';

export async function submitJob(bus: Bus, input: JobSpecInput): Promise<JobSpec> {
  const parsed = JobSpecSchema.safeParse(input);
  if (!parsed.success) {
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
  const existing = await bus.getStatus(spec.jobId);
  if (!existing) await bus.setStatus({ jobId: spec.jobId, pipeline: spec.pipeline, state: 'queued', attempts: 0, submittedAt: spec.submittedAt });
  try {
    await bus.js.publish(bus.names.subjects.submit, data, { msgID: spec.jobId });
  } catch (e) {
    const error = `the job could not be submitted: ${(e as Error).message}`;
    if (!existing) await bus.patchStatus(spec.jobId, { state: 'failed', error, finishedAt: new Date().toISOString() }).catch(() => undefined);
    throw new Error(error);
  }
  return spec;
}

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(2)} MiB`;

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface WaitOptions {
  onEvent?(e: JobEvent): void;
  /** Fail when the job stays queued this long with no coordinator alive. */
  noCoordinatorMs?: number;
  signal?: AbortSignal;
}

/** Follow a job until it ends; resolves with its final status. Never waits silently forever. */
export async function waitForJob(bus: Bus, jobId: string, o: WaitOptions = {}): Promise<JobStatus> {
  const sub = bus.nc.subscribe(bus.names.subjects.events(jobId), {
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
      const s = await bus.getStatus(jobId);
      if (s && TERMINAL.has(s.state)) return s;
      if ((!s || s.state === 'queued') && Date.now() - started > (o.noCoordinatorMs ?? 15_000)) {
        const live = await bus.liveRoles();
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
  return JSON.parse(await bus.blobText(status.resultKey));
}

export async function cancelJob(bus: Bus, jobId: string): Promise<void> {
  await bus.patchStatus(jobId, { cancelRequested: true });
  bus.nc.publish(bus.names.subjects.cancel(jobId));
  await bus.nc.flush();
}

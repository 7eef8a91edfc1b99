/**
 * Where a paused job's outline review lives on the bus: write-once entries in the results
 * bucket under the job's own key prefix (so they go wherever the job's results go):
 *
 *   <jobId>.review.<gate>.draft     the outline the job drafted (written by the job script)
 *   <jobId>.review.<gate>.edit.<n>  the n-th edited outline a person put (n = 1, 2, …)
 *   <jobId>.review.<gate>.resumed   the decision to go on, naming the edit it goes on with
 *
 * Write-once entries make every step safe to repeat: a replayed script finds its draft and the
 * decision, and two people resuming at once agree on one edit. Used by the coordinators (job
 * script and publishers' API) and by administrators' clients directly.
 */
import { z } from 'zod';
import type { Bus } from '../bus/bus.ts';
import { decode, encode } from '../protocol/codec.ts';
import type { JobStatus } from '../protocol/schemas.ts';
import { OutlineNodeSchema, type OutlineNode } from '../algo/outline.ts';
import { normaliseOutline } from '../algo/outline-review.ts';

export const REVIEW_GATES = ['draft', 'refined'] as const;
export type ReviewGate = (typeof REVIEW_GATES)[number];
/** Edits kept per gate (each put is one write-once entry). */
export const MAX_EDITS = 100;

const DraftSchema = z.object({ outline: OutlineNodeSchema, maxDepth: z.number().int().min(1).max(4), at: z.string() });
const EditSchema = z.object({ outline: OutlineNodeSchema, changes: z.array(z.string()), at: z.string() });
const ResumedSchema = z.object({ edit: z.number().int().min(0), at: z.string() });

/** What `outline get` shows of a job. */
export interface OutlineView {
  jobId: string;
  state: string;
  gate?: ReviewGate;
  /** The outline to edit: the latest edit of a paused job, its draft, or a finished survey's outline. */
  outline: OutlineNode;
  edited: boolean;
  /** What the latest edit changed against the draft. */
  changes: string[];
  maxDepth: number;
  /** What to do next, in plain words. */
  next: string;
}

export type PutReply = { ok: true; outline: OutlineNode; changes: string[]; repairs: string[]; rerunJobId?: string; note?: string } | { ok: false; problems: string[] };

/** A review step that cannot be done now, with why. */
export class ReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReviewError';
  }
}

/** The message a paused job shows in its status and events. */
export const pausedMessage = (jobId: string) =>
  `paused: waiting for outline review — \`llmxmr outline get ${jobId} > o.json\`, edit, \`llmxmr outline put ${jobId} o.json\`, \`llmxmr outline resume ${jobId}\``;

const key = (jobId: string, gate: ReviewGate, part: string) => `${jobId}.review.${gate}.${part}`;

async function read<T>(bus: Bus, k: string, schema: z.ZodType<T>): Promise<T | null> {
  const e = await bus.results.get(k);
  if (!e || e.operation !== 'PUT') return null;
  const d = decode(schema, e.value);
  if (!d.ok) throw new Error(`the review entry ${k} is unreadable: ${d.error}`);
  return d.value;
}

/** Create-if-absent; false when the entry exists already. */
async function create(bus: Bus, k: string, value: unknown): Promise<boolean> {
  try {
    await bus.results.create(k, encode(value));
    return true;
  } catch (e) {
    if (/wrong last sequence|exists|10071|maximum messages per subject/i.test(String((e as Error).message))) return false;
    throw e;
  }
}

export interface GateState {
  draft: z.infer<typeof DraftSchema>;
  /** Number of edits put so far, and the latest one. */
  edits: number;
  latest: z.infer<typeof EditSchema> | null;
  resumed: z.infer<typeof ResumedSchema> | null;
}

export async function readGate(bus: Bus, jobId: string, gate: ReviewGate): Promise<GateState | null> {
  const draft = await read(bus, key(jobId, gate, 'draft'), DraftSchema);
  if (!draft) return null;
  let edits = 0;
  let latest: GateState['latest'] = null;
  for (let n = 1; n <= MAX_EDITS; n++) {
    const e = await read(bus, key(jobId, gate, `edit.${n}`), EditSchema);
    if (!e) break;
    edits = n;
    latest = e;
  }
  return { draft, edits, latest, resumed: await read(bus, key(jobId, gate, 'resumed'), ResumedSchema) };
}

/** The outline a resumed gate goes on with (the edit its decision names, or the draft). */
export async function resumedOutline(bus: Bus, jobId: string, gate: ReviewGate, s: GateState): Promise<{ outline: OutlineNode; edited: boolean; changes: string[] }> {
  if (!s.resumed || s.resumed.edit === 0) return { outline: s.draft.outline, edited: false, changes: [] };
  const e = await read(bus, key(jobId, gate, `edit.${s.resumed.edit}`), EditSchema);
  if (!e) throw new Error(`job ${jobId} was resumed with edit ${s.resumed.edit} of its ${gate} outline, which is missing from the store`);
  return { outline: e.outline, edited: true, changes: e.changes };
}

/** Store the drafted outline of a gate (a replay finds it there and keeps it). */
export async function putDraft(bus: Bus, jobId: string, gate: ReviewGate, outline: OutlineNode, maxDepth: number): Promise<void> {
  await create(bus, key(jobId, gate, 'draft'), { outline, maxDepth, at: new Date().toISOString() });
}

/** The gate a paused job waits at, or why its outline cannot be reviewed now. */
function pausedGate(status: JobStatus): ReviewGate {
  const gate = status.review?.gate;
  if (status.state === 'paused' && (REVIEW_GATES as readonly string[]).includes(gate ?? '')) return gate as ReviewGate;
  if (status.state === 'paused') throw new ReviewError(`job ${status.jobId} is paused at an unknown gate "${gate ?? ''}"`);
  throw new ReviewError(
    `job ${status.jobId} is ${status.state}, not paused for outline review: an outline can be edited while a job submitted with --review-outline waits, or after a survey has succeeded (which starts a rerun)`,
  );
}

async function gateOf(bus: Bus, status: JobStatus): Promise<{ gate: ReviewGate; state: GateState }> {
  const gate = pausedGate(status);
  const state = await readGate(bus, status.jobId, gate);
  if (!state) throw new ReviewError(`job ${status.jobId} is paused at its ${gate} outline, but the outline is not stored yet: try again in a moment`);
  return { gate, state };
}

/** The outline of a paused job, as a person should edit it. */
export async function reviewGet(bus: Bus, status: JobStatus): Promise<OutlineView> {
  const { gate, state } = await gateOf(bus, status);
  const cur = state.latest ?? { outline: state.draft.outline, changes: [] };
  return {
    jobId: status.jobId,
    state: status.state,
    gate,
    outline: cur.outline,
    edited: state.edits > 0,
    changes: cur.changes,
    maxDepth: state.draft.maxDepth,
    next: `edit the outline (rename, move, add or remove sections, edit a section's guidance), then \`llmxmr outline put ${status.jobId} o.json\` and \`llmxmr outline resume ${status.jobId}\``,
  };
}

/** Check an edited outline and store it as the paused job's next edit (nothing is stored when it has problems). */
export async function reviewPut(bus: Bus, status: JobStatus, raw: unknown): Promise<PutReply> {
  const { gate, state } = await gateOf(bus, status);
  if (state.resumed) throw new ReviewError(`job ${status.jobId} was already resumed at its ${gate} outline; the edit was not stored`);
  // Ids name sections of the outline the person fetched (the latest edit, or the draft).
  const n = normaliseOutline(raw, state.latest?.outline ?? state.draft.outline, { maxDepth: state.draft.maxDepth });
  if (!n.ok) return n;
  const changes = n.changes;
  for (let i = state.edits + 1; i <= MAX_EDITS; i++) {
    if (await create(bus, key(status.jobId, gate, `edit.${i}`), { outline: n.outline, changes, at: new Date().toISOString() })) {
      return { ok: true, outline: n.outline, changes, repairs: n.repairs };
    }
  }
  throw new ReviewError(`job ${status.jobId} has ${MAX_EDITS} stored edits of its ${gate} outline, the most allowed: resume it`);
}

/** Let a paused job go on, with its latest edit (or its draft when none was put). */
export async function reviewResume(bus: Bus, status: JobStatus): Promise<{ resumed: true; gate: ReviewGate; edited: boolean; changes: string[] }> {
  const { gate, state } = await gateOf(bus, status);
  if (!state.resumed) await create(bus, key(status.jobId, gate, 'resumed'), { edit: state.edits, at: new Date().toISOString() });
  const now = await readGate(bus, status.jobId, gate);
  const used = await resumedOutline(bus, status.jobId, gate, now!);
  return { resumed: true, gate, edited: used.edited, changes: used.changes };
}

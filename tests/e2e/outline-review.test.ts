/**
 * Outline review through the cluster (offline engine): a job submitted with reviewOutline pauses
 * with its drafted outline on the bus; a person edits it (rename, move, add, remove, guidance),
 * bad edits are refused with plain problems, resume goes on with the edit; cancel works while
 * paused; a coordinator killed while the job is paused leaves it paused, and the next one
 * reaches the same gate again with the stored edit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelJob, fetchResult, jobStatus, submitJob, waitForJob } from '../../shared/client/client.ts';
import { getOutline, putOutline, resumeJob } from '../../shared/client/outline.ts';
import { walk, type OutlineNode } from '../../shared/algo/outline.ts';
import type { JobEvent } from '../../shared/protocol/schemas.ts';
import { spawnRole, testCluster, testEnv, until, type TestCluster } from '../helpers/cluster.ts';
import { ragInput } from './outline-review-input.ts';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await testCluster(testEnv({ MR_CONCURRENCY: '8', MR_ACK_WAIT_MS: '3000' }));
  for (const r of ['mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
});
afterAll(async () => cluster?.close());

async function submitReview(jobId: string, blocks = 0) {
  const key = `inputs/${jobId}.json`;
  await cluster.bus.putBlob(key, JSON.stringify(ragInput()));
  await submitJob(cluster.bus, { jobId, pipeline: 'v2', seed: 5, params: { inputKey: key, blocks, groupSize: 4, reviewOutline: true } });
}

const pausedAt = (jobId: string, gate = 'draft', coordinator?: string) =>
  until(`${jobId} paused at ${gate}`, async () => {
    const s = await jobStatus(cluster.bus, jobId);
    return s?.state === 'paused' && s.review?.gate === gate && (!coordinator || s.coordinator === coordinator) ? s : null;
  }, 60_000);

/** The edit a person makes: rename + guidance, move, add, remove. */
function edited(o: OutlineNode): { outline: unknown; renamed: string; added: string; removed: string } {
  const top = o.children.map((c) => JSON.parse(JSON.stringify(c)) as OutlineNode & { guidance?: string });
  const removed = top.length >= 3 ? top.splice(1, 1)[0].title : (() => {
    const parent = top.find((t) => t.children.length >= 3) ?? top.find((t) => t.children.length === 2)!;
    return parent.children.pop()!.title;
  })();
  top[0].title = 'Passage Retrieval Models Reviewed';
  top[0].guidance = 'What each retriever encodes and how it ranks passages';
  top.unshift(top.pop()!); // the last section moves to the front
  const added = 'Benchmarks for Grounded Answers';
  // A person names the papers the new section is about (the evaluation papers are P013-P016 of the input).
  top.push({ id: '', title: added, construction: 'evaluation benchmark faithfulness groundedness citation accuracy judge model', analysis: 'Compare [@P013], [@P014], [@P015] and [@P016].', children: [] });
  return { outline: { ...o, children: top }, renamed: top.find((t) => t.id === o.children[0].id)!.title, added, removed };
}

const headings = (md: string) => [...md.matchAll(/^#{2,5} [\d.]+ (.*)$/gm)].map((m) => m[1]);

describe('outline review (paused job)', () => {
  it('pauses with the draft on the bus, refuses a bad edit, resumes with the edit and finishes with the edited structure', async () => {
    await cluster.start('coordinator');
    const events: JobEvent[] = [];
    await submitReview('or-edit');
    const done = waitForJob(cluster.bus, 'or-edit', { onEvent: (e) => events.push(e) });
    const st = await pausedAt('or-edit');
    expect(st.review!.message).toMatch(/paused: waiting for outline review — `llmxmr outline get or-edit/);
    const view = await getOutline(cluster.bus, 'or-edit');
    expect(view.gate).toBe('draft');
    expect(view.edited).toBe(false);
    expect(view.outline.children.length).toBeGreaterThanOrEqual(2);

    const bad = await putOutline(cluster.bus, 'or-edit', { title: 'x', children: [{ id: 'S1', title: ' ' }] });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.join('\n')).toMatch(/empty title: give it a title, or remove the section[^]*1 top-level section\(s\); a survey needs at least 2/);
    expect((await getOutline(cluster.bus, 'or-edit')).edited).toBe(false); // nothing was stored

    const e = edited(view.outline);
    const put = await putOutline(cluster.bus, 'or-edit', e.outline);
    expect(put.ok).toBe(true);
    expect(put.ok && put.changes.join('\n')).toMatch(/renamed [^]*edited the guidance[^]*moved [^]*added [^]*removed /);
    expect((await getOutline(cluster.bus, 'or-edit')).outline).toEqual(put.ok && put.outline);
    expect(await jobStatus(cluster.bus, 'or-edit')).toMatchObject({ state: 'paused' }); // a put does not resume

    const r = await resumeJob(cluster.bus, 'or-edit');
    expect(r).toMatchObject({ resumed: true, gate: 'draft', edited: true });
    const final = await done;
    expect(final.state).toBe('succeeded');
    expect(final.review).toBeUndefined();
    expect(events.map((x) => x.type)).toEqual(expect.arrayContaining(['job.paused', 'job.resumed']));
    const res = (await fetchResult(cluster.bus, final)) as { markdown: string; record: { outline: OutlineNode; review: unknown[]; prunedSections: string[] } };
    const heads = headings(res.markdown);
    expect(heads[0]).toBe((put.ok && put.outline.children[0].title) || '');
    expect(heads).toContain(e.renamed);
    expect(heads).not.toContain(e.removed);
    expect(heads).toContain(e.added);
    expect(res.record.prunedSections).toEqual([]);
    expect(res.record.review).toEqual([expect.objectContaining({ gate: 'draft', edited: true })]);
  }, 180_000);

  it('pauses after the draft and again after refinement, and goes on with the draft when resumed without an edit', async () => {
    await submitReview('or-blocks', 1);
    await pausedAt('or-blocks', 'draft');
    await resumeJob(cluster.bus, 'or-blocks');
    await pausedAt('or-blocks', 'refined');
    expect((await getOutline(cluster.bus, 'or-blocks')).gate).toBe('refined');
    await resumeJob(cluster.bus, 'or-blocks');
    const final = await waitForJob(cluster.bus, 'or-blocks');
    expect(final.state).toBe('succeeded');
    const res = (await fetchResult(cluster.bus, final)) as { record: { review: { gate: string; edited: boolean }[] } };
    expect(res.record.review).toEqual([expect.objectContaining({ gate: 'draft', edited: false }), expect.objectContaining({ gate: 'refined', edited: false })]);
  }, 240_000);

  it('cancels a paused job', async () => {
    await submitReview('or-cancel');
    await pausedAt('or-cancel');
    await cancelJob(cluster.bus, 'or-cancel');
    const final = await waitForJob(cluster.bus, 'or-cancel');
    expect(final.state).toBe('cancelled');
    await expect(resumeJob(cluster.bus, 'or-cancel')).rejects.toThrow(/is cancelled, not paused for outline review/);
  }, 120_000);
});

describe('outline review across a coordinator restart', () => {
  it('keeps the pause and the stored edit when the coordinator is killed, and the next coordinator waits at the same gate', async () => {
    // Only a coordinator in a child process takes this job (the in-process one is stopped first).
    for (const r of cluster.roles.filter((x) => x.role === 'coordinator')) await r.stop();
    const child = spawnRole('coordinator', cluster.env);
    try {
      await submitReview('or-restart');
      const first = await pausedAt('or-restart');
      const view = await getOutline(cluster.bus, 'or-restart');
      const e = edited(view.outline);
      expect((await putOutline(cluster.bus, 'or-restart', e.outline)).ok).toBe(true);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect((await jobStatus(cluster.bus, 'or-restart'))?.state).toBe('paused'); // nobody holds it, and it still says why it waits
      const next = await cluster.start('coordinator');
      const again = await until('the job taken by the new coordinator', async () => {
        const s = await jobStatus(cluster.bus, 'or-restart');
        return s && s.coordinator !== first.coordinator && s.state === 'paused' ? s : null;
      }, 60_000);
      expect(again.attempts).toBeGreaterThan(first.attempts);
      expect(next.role).toBe('coordinator');
      const kept = await getOutline(cluster.bus, 'or-restart');
      expect(kept.edited).toBe(true);
      expect(walk(kept.outline).map((v) => v.node.title)).toContain(e.renamed);
      await resumeJob(cluster.bus, 'or-restart');
      const final = await waitForJob(cluster.bus, 'or-restart');
      expect(final.state).toBe('succeeded');
      expect(headings(((await fetchResult(cluster.bus, final)) as { markdown: string }).markdown)).toContain(e.renamed);
    } finally {
      child.kill('SIGKILL');
    }
  }, 240_000);
});

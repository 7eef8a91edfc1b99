/**
 * `llmxmr outline get | put | resume`: review a survey's outline. A job submitted with
 * `survey --review-outline` pauses after drafting its outline (and again after refinement);
 * get it, edit it, put it back, resume. On a finished survey, `put` starts a rerun that rewrites
 * only the sections the edit touches (docs/outline-review.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fetchResult, waitForJob } from '../../shared/client/client.ts';
import { getOutline, putOutline, resumeJob } from '../../shared/client/outline.ts';
import { openCluster } from '../cluster.ts';
import { progressPrinter } from '../progress.ts';
import { readTextFile, UsageError, withConnOptions, type ConnOpts } from '../common.ts';

const say = (s: string) => process.stderr.write(`${s}\n`);

function readOutlineFile(file: string): unknown {
  const text = readTextFile(file, 'outline');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`outline ${file} is not valid JSON: ${(e as Error).message} (write it as \`llmxmr outline get\` prints it)`);
  }
}

/** Follow a rerun to its end and write its survey like `llmxmr survey` does. */
async function followRerun(bus: Parameters<typeof waitForJob>[0], jobId: string, out: string, quiet: boolean): Promise<void> {
  const status = await waitForJob(bus, jobId, { onEvent: quiet ? undefined : progressPrinter() });
  if (status.state !== 'succeeded') throw new Error(`rerun ${jobId} ${status.state}: ${status.error ?? 'no reason given'}`);
  const r = (await fetchResult(bus, status)) as { slug: string; markdown: string; record: unknown; usage?: { calls?: number; tasks?: number; reused?: number } };
  mkdirSync(out, { recursive: true });
  const md = join(out, `${r.slug}.md`);
  const json = join(out, `${r.slug}.json`);
  writeFileSync(md, r.markdown);
  writeFileSync(json, JSON.stringify({ job: jobId, ...(r.record as object), usage: r.usage }, null, 2));
  const u = r.usage ?? {};
  process.stdout.write(`wrote ${md} and ${json} (rerun: ${u.tasks ?? 0} task(s) run, ${u.reused ?? 0} reused from the base run, ${u.calls ?? 0} model call(s))\n`);
}

export function registerOutline(program: Command): void {
  const outline = program.command('outline').description("review a survey's outline: get, put (edit), resume a paused job; put on a finished survey reruns it");

  withConnOptions(outline.command('get').description('print the outline a paused job waits on, or a finished survey\'s, as JSON').argument('<jobId>')).action(async (jobId: string, o: ConnOpts) => {
    const cluster = await openCluster(o);
    try {
      const view = await getOutline(cluster.bus, jobId);
      process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      say(view.next);
    } finally {
      await cluster.close();
    }
  });

  withConnOptions(
    outline
      .command('put')
      .description('check and store an edited outline (a paused job uses it on resume; a finished survey is rerun with it)')
      .argument('<jobId>')
      .argument('<outline.json>', 'the outline as `llmxmr outline get` prints it (or just its "outline" tree); new sections get an empty id')
      .option('--no-wait', 'on a finished survey: start the rerun and print its job id without following it')
      .option('--out <dir>', 'where a followed rerun writes <slug>.md and <slug>.json', 'out')
      .option('--quiet', 'no progress lines while following a rerun'),
  ).action(async (jobId: string, file: string, o: ConnOpts & { wait: boolean; out: string; quiet?: boolean }) => {
    const edited = readOutlineFile(file);
    const cluster = await openCluster({ ...o, needs: o.wait ? ['coordinator', 'mapper', 'convolver', 'reducer'] : [], say });
    try {
      const r = await putOutline(cluster.bus, jobId, edited);
      if (!r.ok) throw new UsageError(`the outline was not stored: ${r.problems.length} problem(s):\n  - ${r.problems.join('\n  - ')}`);
      for (const line of r.repairs) say(`tidied: ${line}`);
      say(r.changes.length ? `changes:\n  - ${r.changes.join('\n  - ')}` : 'no change against the outline you fetched');
      if (r.note) say(r.note);
      if (!r.rerunJobId) {
        if (!r.note) process.stdout.write(`stored the edited outline of ${jobId}; go on with \`llmxmr outline resume ${jobId}\`\n`);
        return;
      }
      say(`rerun ${r.rerunJobId} started from ${jobId}: only what the edit touches is written again`);
      if (!o.wait) process.stdout.write(`${r.rerunJobId}\n`);
      else await followRerun(cluster.bus, r.rerunJobId, o.out, !!o.quiet);
    } finally {
      await cluster.close();
    }
  });

  withConnOptions(outline.command('resume').description('let a job paused for outline review go on (with the outline last put, else its draft)').argument('<jobId>')).action(
    async (jobId: string, o: ConnOpts) => {
      const cluster = await openCluster(o);
      try {
        const r = await resumeJob(cluster.bus, jobId);
        process.stdout.write(`resumed ${jobId} at its ${r.gate} outline ${r.edited ? `with the edited outline (${r.changes.length} change(s))` : 'as drafted'}\n`);
      } finally {
        await cluster.close();
      }
    },
  );
}

/**
 * `llmxmr gc --older-than 7d [--dry-run] [--job <id>...]`: remove finished jobs' status,
 * results, events, blobs and final results, and print what went and the bytes freed. Needs
 * administrator credentials; never touches a queued or running job.
 */
import type { Command } from 'commander';
import { collectGarbage, GcRefusal, type GcReport } from '../../shared/bus/gc.ts';
import { formatBytes, formatDuration, parseDuration } from '../../shared/bus/limits.ts';
import { redactUrl } from '../../shared/bus/connect.ts';
import { clientEnv, openCluster } from '../cluster.ts';
import { UsageError, withConnOptions, type ConnOpts } from '../common.ts';

interface GcOpts extends ConnOpts {
  olderThan?: string;
  dryRun?: boolean;
  job?: string[];
}

/** The report as lines a person reads. */
export function gcText(r: GcReport, olderThan: string): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = r.removed.map((j) => {
    const parts = j.items.filter((i) => i.messages > 0).map((i) => `${i.store} ${i.messages}`);
    return `${verb} ${j.jobId} (${j.state}${j.finishedAt ? `, finished ${j.finishedAt}` : ''}): ${parts.join(', ') || 'nothing stored'}; ${formatBytes(j.bytes)}`;
  });
  const running = r.kept.filter((k) => k.reason !== 'finished too recently');
  const recent = r.kept.length - running.length;
  for (const k of running) lines.push(`kept ${k.jobId}: ${k.reason}`);
  const summary = `${r.dryRun ? 'dry run: ' : ''}${r.removed.length} finished job(s) ${r.dryRun ? 'would be removed' : 'removed'}, ${formatBytes(r.bytes)} ${r.dryRun ? 'would be freed' : 'freed'}; kept ${running.length} queued or running, ${recent} finished within ${olderThan}`;
  return [...lines, summary].join('\n');
}

export function registerGc(program: Command): void {
  withConnOptions(
    program
      .command('gc')
      .description("remove finished jobs' status, results, events, blobs and final results (administrator credentials)")
      .option('--older-than <age>', 'jobs finished at least this long ago, e.g. 7d, 12h (default: $MR_JOB_RETENTION, else 7d)')
      .option('--job <jobId...>', 'only these finished jobs, whatever their age')
      .option('--dry-run', 'print what would be removed and remove nothing')
      .option('--json', 'print the report as JSON'),
  ).action(async (o: GcOpts) => {
    const env = clientEnv(o);
    let olderThanMs: number;
    try {
      olderThanMs = parseDuration(o.olderThan ?? env.MR_JOB_RETENTION, '--older-than');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const cluster = await openCluster(o);
    try {
      if (cluster.server) throw new UsageError(`no NATS server answers at ${redactUrl(env.NATS_URL)}: there is nothing to collect`);
      const report = await collectGarbage(cluster.bus, { olderThanMs, dryRun: o.dryRun, jobIds: o.job });
      process.stdout.write(`${o.json ? JSON.stringify(report) : gcText(report, formatDuration(olderThanMs))}\n`);
    } catch (e) {
      if (e instanceof GcRefusal) throw new UsageError(e.message);
      throw e;
    } finally {
      await cluster.close();
    }
  });
}

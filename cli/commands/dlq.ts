/**
 * `llmxmr dlq list | retry`: inspect the dead-letter stream and send dead letters back to work.
 *
 * A retry republishes the original message to its original subject under a fresh message id,
 * removes the task's stored failure (so the worker runs it instead of skipping it) and deletes
 * the dead letter. Retrying a task of a job that has already ended does not resume the job, and
 * retrying a finished job resets its status: both need --force.
 */
import type { Command } from 'commander';
import { DeadLetterRefusal, KINDS, listDeadLetters, retryDeadLetters, type DeadLetterEntry, type Kind } from '../../shared/client/dead-letters.ts';
import { clientEnv, openCluster, type Cluster } from '../cluster.ts';
import { redactUrl } from '../../shared/bus/connect.ts';
import { UsageError, withConnOptions, type ConnOpts } from '../common.ts';

export { listDeadLetters, retryDeadLetters, type DeadLetterEntry, type RetryOutcome, type ListFilter } from '../../shared/client/dead-letters.ts';

function parseKind(v: string | undefined): Kind | undefined {
  if (v === undefined) return undefined;
  if (!(KINDS as readonly string[]).includes(v)) throw new UsageError(`--kind must be one of ${KINDS.join(', ')}, not "${v}"`);
  return v as Kind;
}

async function withBus<T>(o: ConnOpts, f: (c: Cluster) => Promise<T>): Promise<T> {
  const cluster = await openCluster(o);
  try {
    if (cluster.server) {
      throw new UsageError(`no NATS server answers at ${redactUrl(o.nats ?? clientEnv(o).NATS_URL)} (or --embedded was given): a fresh private server has no dead letters`);
    }
    return await f(cluster);
  } catch (e) {
    // the shared operations' refusals are the user's to fix: exit code 2, like other usage errors
    if (e instanceof DeadLetterRefusal) throw new UsageError(e.message);
    throw e;
  } finally {
    await cluster.close();
  }
}

function table(rows: DeadLetterEntry[]): string {
  const head = ['seq', 'time', 'kind', 'job', 'op', 'task', 'attempts', 'reason'];
  const cells = rows.map((r) => [String(r.seq), r.ts.replace('T', ' ').slice(0, 19), r.kind, r.jobId ?? '-', r.op ?? '-', r.taskId?.slice(0, 12) ?? '-', String(r.attempts), r.reason.replace(/\s+/g, ' ').slice(0, 120)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: tasks and jobs that failed every delivery');

  withConnOptions(
    dlq
      .command('list')
      .description('list dead letters: reason, attempts, job, op and time')
      .option('--json', 'print a JSON array')
      .option('--kind <kind>', `only this kind (${KINDS.join('|')})`)
      .option('--job <jobId>', 'only dead letters of this job'),
  ).action(async (o: ConnOpts & { kind?: string; job?: string }) => {
    const kind = parseKind(o.kind);
    await withBus(o, async ({ bus }) => {
      const rows = await listDeadLetters(bus, { kind, jobId: o.job });
      if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(rows.length ? `${table(rows)}\n` : 'no dead letters\n');
    });
  });

  withConnOptions(
    dlq
      .command('retry')
      .description('republish dead letters to their original subjects and remove them from the dead-letter stream')
      .argument('[seq...]', 'sequence numbers from `llmxmr dlq list`')
      .option('--job <jobId>', 'every dead letter of this job')
      .option('--all', 'every dead letter (with --kind: every one of that kind)')
      .option('--kind <kind>', `with --all or --job: only this kind (${KINDS.join('|')})`)
      .option('--force', 'also retry when the job has already ended (a job dead letter is reset to queued)')
      .option('--json', 'print what was retried as JSON'),
  ).action(async (seqArgs: string[], o: ConnOpts & { job?: string; all?: boolean; kind?: string; force?: boolean }) => {
    const ways = [seqArgs.length > 0, Boolean(o.job), Boolean(o.all)].filter(Boolean).length;
    if (ways !== 1) throw new UsageError('say what to retry: sequence numbers, --job ID or --all (exactly one of them)');
    const seqs = seqArgs.map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`"${s}" is not a dead-letter sequence number`);
      return n;
    });
    const kind = parseKind(o.kind);
    await withBus(o, async ({ bus }) => {
      const targets = seqs.length ? seqs : (await listDeadLetters(bus, { kind, jobId: o.job })).filter((r) => !r.unreadable).map((r) => r.seq);
      if (targets.length === 0) {
        if (o.json) process.stdout.write('[]\n');
        else process.stdout.write(o.job ? `no dead letters of job ${o.job}\n` : 'no dead letters\n');
        return;
      }
      const done = await retryDeadLetters(bus, targets, { force: o.force });
      if (o.json) process.stdout.write(`${JSON.stringify(done, null, 2)}\n`);
      else {
        for (const r of done) {
          const what = r.kind === 'jobs' ? `job ${r.jobId ?? '(no id)'}` : `${r.op ?? r.kind} task ${r.taskId?.slice(0, 12) ?? '?'} of job ${r.jobId ?? '?'}`;
          process.stdout.write(`retried #${r.seq}: ${what} -> ${r.subject}${r.note ? ` (${r.note})` : ''}\n`);
        }
      }
    });
  });
}

/** `llmxmr submit | status | result | cancel | schema`: work with jobs on a running cluster. */
import type { Command } from 'commander';
import { jobSpecJsonSchema } from '../../shared/protocol/schemas.ts';
import { newJobId } from '../../shared/protocol/ids.ts';
import { cancelJob, fetchResult, jobStatus, submitJob, waitForJob } from '../../shared/client/client.ts';
import { openCluster } from '../cluster.ts';
import { progressPrinter } from '../progress.ts';
import { readTextFile, UsageError, withConnOptions, type ConnOpts } from '../common.ts';

export function registerJobs(program: Command): void {
  withConnOptions(
    program
      .command('submit')
      .description('publish a job spec (JSON, see `llmxmr schema`) to the bus; prints the job id')
      .argument('<spec.json>', 'the job spec; "jobId" may be omitted')
      .option('--wait', 'follow the job until it ends and print its result'),
  ).action(async (file: string, o: ConnOpts & { wait?: boolean }) => {
    let spec: Record<string, unknown>;
    try {
      spec = JSON.parse(readTextFile(file, 'job spec'));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`job spec ${file} is not valid JSON: ${(e as Error).message}`);
    }
    const cluster = await openCluster({ ...o, needs: o.wait ? ['coordinator', 'mapper', 'convolver', 'reducer'] : [] });
    try {
      const s = await submitJob(cluster.bus, { ...spec, jobId: (spec.jobId as string) ?? newJobId() } as never);
      process.stdout.write(`${s.jobId}\n`);
      if (o.wait) {
        const st = await waitForJob(cluster.bus, s.jobId, { onEvent: progressPrinter() });
        if (st.state !== 'succeeded') throw new Error(`job ${s.jobId} ${st.state}: ${st.error ?? ''}`);
        process.stdout.write(`${JSON.stringify(await fetchResult(cluster.bus, st))}\n`);
      }
    } finally {
      await cluster.close();
    }
  });

  withConnOptions(program.command('status').description('print a job status as JSON').argument('<jobId>')).action(
    async (jobId: string, o: ConnOpts) => {
      const cluster = await openCluster(o);
      try {
        const s = await jobStatus(cluster.bus, jobId);
        if (!s) throw new UsageError(`no job ${jobId} on this bus (prefix ${cluster.env.MR_PREFIX})`);
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      } finally {
        await cluster.close();
      }
    },
  );

  withConnOptions(program.command('result').description("print a finished job's result as JSON").argument('<jobId>')).action(
    async (jobId: string, o: ConnOpts) => {
      const cluster = await openCluster(o);
      try {
        const s = await jobStatus(cluster.bus, jobId);
        if (!s) throw new UsageError(`no job ${jobId} on this bus`);
        if (s.state !== 'succeeded') throw new UsageError(`job ${jobId} is ${s.state}${s.error ? `: ${s.error}` : ''}`);
        process.stdout.write(`${JSON.stringify(await fetchResult(cluster.bus, s))}\n`);
      } finally {
        await cluster.close();
      }
    },
  );

  withConnOptions(program.command('cancel').description('cancel a queued or running job').argument('<jobId>')).action(
    async (jobId: string, o: ConnOpts) => {
      const cluster = await openCluster(o);
      try {
        if (!(await jobStatus(cluster.bus, jobId))) throw new UsageError(`no job ${jobId} on this bus`);
        await cancelJob(cluster.bus, jobId);
        process.stdout.write(`cancellation requested for ${jobId}\n`);
      } finally {
        await cluster.close();
      }
    },
  );

  program
    .command('schema')
    .description(
      'print the job spec as JSON Schema. Any program can submit: a publisher publishes the spec to ' +
        '<prefix>.jobs.submit.<its user> (inputs first, in parts, to <prefix>.uploads.<user>.<id>, named "upload:<id>" in params) ' +
        'and asks <prefix>.api.<user>.status|result|cancel; see docs/security.md',
    )
    .action(() => {
      process.stdout.write(`${JSON.stringify(jobSpecJsonSchema(), null, 2)}\n`);
    });
}

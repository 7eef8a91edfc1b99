/** `llmxmr up` (a whole local cluster in the foreground) and `llmxmr service <role>` (one role). */
import type { Command } from 'commander';
import { loadEnv } from '../../shared/config/env.ts';
import { ROLES, runRoleMain, type Role } from '../../services/role.ts';
import { openCluster } from '../cluster.ts';
import { UsageError, withConnOptions, type ConnOpts } from '../common.ts';

export function registerUp(program: Command): void {
  withConnOptions(
    program
      .command('up')
      .description('run a local cluster in the foreground: NATS (when none answers) plus every service; Ctrl-C stops it'),
  ).action(async (o: ConnOpts) => {
    const say = (s: string) => process.stderr.write(`${s}\n`);
    const cluster = await openCluster({ ...o, needs: [...ROLES], say });
    // Services started here must not be mistaken for ones already running elsewhere.
    say(`cluster up on ${cluster.env.NATS_URL} (prefix ${cluster.env.MR_PREFIX}): ${cluster.roles.map((r) => r.role).join(', ') || 'all roles already running elsewhere'}`);
    say('submit with e.g. `llmxmr ask --nats ' + cluster.env.NATS_URL + ' --doc FILE --question Q`; Ctrl-C to stop');
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    say('stopping: draining in-flight work…');
    await cluster.close();
    say('stopped');
  });

  program
    .command('service')
    .description('run one service role in the foreground, configured by environment variables (for containers)')
    .argument('<role>', ROLES.join(' | '))
    .action(async (role: string) => {
      if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`unknown role "${role}": use ${ROLES.join(', ')}`);
      await runRoleMain(role as Role, loadEnv());
      await new Promise(() => undefined); // runs until a signal ends the process
    });
}

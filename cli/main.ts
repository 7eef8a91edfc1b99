/** The `llmxmr` command line. */
import { Command } from 'commander';
import { registerAsk } from './commands/ask.ts';
import { registerJobs } from './commands/jobs.ts';
import { registerUp } from './commands/up.ts';
import { registerSim } from './commands/sim.ts';
import { registerHaystack } from './commands/haystack.ts';
import { registerSurvey } from './commands/survey.ts';
import { registerOutline } from './commands/outline.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerConfig } from './commands/config.ts';
import { registerBench } from './commands/bench.ts';
import { registerSurveyEval } from './commands/bench-surveyeval.ts';
import { registerAuth } from './commands/auth.ts';
import { registerGc } from './commands/gc.ts';
import { fail } from './common.ts';

const program = new Command()
  .name('llmxmr')
  .description('LLM×MapReduce on a NATS JetStream cluster: long-document QA (V1) and survey writing (V2)')
  .showHelpAfterError('(run with --help for usage)');

registerAsk(program);
registerSurvey(program);
registerOutline(program);
registerUp(program);
registerJobs(program);
registerSim(program);
registerHaystack(program);
registerDlq(program);
registerConfig(program);
registerBench(program);
registerSurveyEval(program);
registerAuth(program);
registerGc(program);

try {
  await program.parseAsync(process.argv);
  const cmd = process.argv[2];
  // Long-running commands return only when stopped; one-shot commands exit as soon as they are done.
  if (cmd !== 'service' && cmd !== 'sim') process.exit(0);
} catch (e) {
  fail(e);
}

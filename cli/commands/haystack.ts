/** `llmxmr haystack`: write an InfiniteBench-recipe retrieval document to stdout. */
import type { Command } from 'commander';
import { createRng } from '../../shared/algo/rng.ts';
import { makeHaystack, type HaystackTask } from '../../shared/algo/haystack.ts';
import { UsageError } from '../common.ts';

export function registerHaystack(program: Command): void {
  program
    .command('haystack')
    .description('print a synthetic long document (InfiniteBench recipe) with a hidden key; the answer goes to stderr')
    .option('--task <t>', 'passkey, number_string or kv_retrieval', 'passkey')
    .option('--tokens <n>', 'approximate size in tokens', '131072')
    .option('--seed <n>', 'random seed', '1')
    .option('--depth <f>', 'needle position from 0 (start) to 1 (end)')
    .action((o: { task: string; tokens: string; seed: string; depth?: string }) => {
      if (!['passkey', 'number_string', 'kv_retrieval'].includes(o.task)) throw new UsageError(`unknown task "${o.task}"`);
      const tokens = Number(o.tokens);
      if (!Number.isInteger(tokens) || tokens < 256) throw new UsageError('--tokens must be a whole number ≥ 256');
      const h = makeHaystack(o.task as HaystackTask, tokens, createRng(Number(o.seed) || 1), o.depth === undefined ? undefined : Number(o.depth));
      process.stdout.write(h.context);
      process.stderr.write(`question: ${h.question.trim()}\nanswer: ${h.answer}\n`);
    });
}

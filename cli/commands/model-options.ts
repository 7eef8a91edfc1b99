/**
 * Options shared by the commands that submit model work (survey, ask): the response cache mode
 * (--record, --replay, --no-cache) and a per-job budget (--budget-tokens, --budget-dollars).
 */
import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import type { Budget, CacheMode } from '../../shared/protocol/schemas.ts';
import { UsageError } from '../common.ts';

export interface ModelOpts {
  record?: boolean;
  replay?: boolean;
  /** false with --no-cache. */
  cache?: boolean;
  budgetTokens?: string;
  budgetDollars?: string;
}

export function withModelOptions(cmd: Command): Command {
  return cmd
    .option('--record', 'call the model for every request and store every reply (a recording for --replay)')
    .option('--replay', 'answer only from stored replies; the job stops on a call the recording lacks')
    .option('--no-cache', 'neither read nor store model replies')
    .option('--budget-tokens <n>', 'stop the job, keeping a partial record, once its model calls pass this many tokens')
    .option('--budget-dollars <d>', 'the same for dollars (prices from the routing file)');
}

/** The job-spec fields these options set. */
export function modelJobFields(o: ModelOpts): { cache?: CacheMode; budget?: Budget } {
  const modes = [o.record && '--record', o.replay && '--replay', o.cache === false && '--no-cache'].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`choose one of ${modes.join(', ')}`);
  const cache: CacheMode | undefined = o.record ? 'record' : o.replay ? 'replay' : o.cache === false ? 'off' : undefined;
  const budget: Budget = {};
  if (o.budgetTokens !== undefined) {
    const n = Number(o.budgetTokens);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError('--budget-tokens must be a whole number above 0');
    budget.tokens = n;
  }
  if (o.budgetDollars !== undefined) {
    const d = Number(o.budgetDollars);
    if (!Number.isFinite(d) || d <= 0) throw new UsageError('--budget-dollars must be a number above 0');
    budget.dollars = d;
  }
  return { ...(cache ? { cache } : {}), ...(budget.tokens !== undefined || budget.dollars !== undefined ? { budget } : {}) };
}

/**
 * A recorded run is replayed exactly only with the same seed: --replay needs --seed, and
 * --record without one picks a seed and says it.
 */
export function seedForRecording(o: ModelOpts, seed: number | undefined, say: (s: string) => void): number | undefined {
  if (o.replay && seed === undefined) throw new UsageError('--replay needs the --seed of the recorded run (random choices must repeat for the stored replies to match)');
  if (o.record && seed === undefined) {
    const picked = randomInt(0, 2 ** 31 - 1);
    say(`recording with --seed ${picked}; replay with: --replay --seed ${picked}`);
    return picked;
  }
  return seed;
}

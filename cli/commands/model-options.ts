/**
 * Options shared by the commands that submit model work (survey, ask): the response cache mode
 * (--record, --replay, --no-cache) and a per-job budget (--budget-tokens, --budget-dollars).
 */
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
 * The job seed of a recording or a replay. The default seed is derived from the input and the
 * parameters, so a replay repeats its recording without one; an explicit --seed must be the same
 * for both, and is said when recording.
 */
export function seedForRecording(o: ModelOpts, seed: number | undefined, say: (s: string) => void): number | undefined {
  if (o.record && seed !== undefined) say(`recording with --seed ${seed}; replay with: --replay --seed ${seed}`);
  return seed;
}

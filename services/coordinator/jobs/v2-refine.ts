/**
 * V2 refinement blocks (entropy-driven convolution: feedback → stacked kernel layers with a
 * top-k residual pool → self-refine, with monotonic acceptance) slot in here. They are a later
 * piece: until then any request for blocks fails early and clearly instead of silently
 * producing an unrefined survey.
 */
import type { JobContext } from '../../../shared/jobs/types.ts';
import type { OutlineNode } from '../../../shared/algo/outline.ts';
import type { DigestOutput } from '../../../shared/ops/v2/digest.ts';

export const REFINEMENT_UNAVAILABLE = 'refinement blocks are not available yet; use --blocks 0';

export class RefinementUnavailableError extends Error {
  constructor(blocks: number) {
    super(`${REFINEMENT_UNAVAILABLE} (the job asked for ${blocks})`);
    this.name = 'RefinementUnavailableError';
  }
}

export interface RefineArgs {
  title: string;
  /** The block's starting outline (O0). */
  outline: OutlineNode;
  /** Digest groups (paper ids), the feedback units. */
  groups: string[][];
  /** Per-paper digests against `outline`. */
  digests: DigestOutput[];
  /** Index of this block (0-based) and how many the job asked for. */
  block: number;
  blocks: number;
}

/** Fail before any work is published when the job asks for blocks that cannot run. */
export function assertRefinementAvailable(blocks: number): void {
  if (blocks > 0) throw new RefinementUnavailableError(blocks);
}

/** One refinement block: returns the outline the next digest pass is run against. */
export async function refineBlock(_ctx: JobContext, args: RefineArgs): Promise<OutlineNode> {
  assertRefinementAvailable(args.blocks);
  return args.outline;
}

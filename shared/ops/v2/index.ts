/** Every V2 op, for workers to register and job scripts to import. */
import { groupOp } from './group.ts';
import { outlinePartialOp } from './outline-partial.ts';
import { outlineMergeOp } from './outline-merge.ts';
import { digestOp } from './digest.ts';
import { writeOp } from './write.ts';
import { concludeOp } from './conclude.ts';
import { figuresOp } from './figures.ts';
import { CONV_OPS } from './conv-index.ts';
import { verifyOp } from './verify.ts';

export { groupOp, outlinePartialOp, outlineMergeOp, digestOp, writeOp, concludeOp, figuresOp };

export const V2_OPS = [groupOp, outlinePartialOp, outlineMergeOp, digestOp, writeOp, concludeOp, figuresOp, verifyOp, ...CONV_OPS] as const;

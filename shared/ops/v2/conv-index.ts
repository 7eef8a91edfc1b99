/** The convolution ops of V2 outline refinement (served by the convolver), for registration. */
import { feedbackOp } from './feedback.ts';
import { kernelOp } from './kernel.ts';
import { modifyOp } from './modify.ts';
import { judgeOp } from './judge.ts';
import { refineOp } from './refine.ts';

export { feedbackOp, kernelOp, modifyOp, judgeOp, refineOp };

export const CONV_OPS = [feedbackOp, kernelOp, modifyOp, judgeOp, refineOp] as const;

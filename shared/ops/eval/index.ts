/** The SurveyEval judge ops, for workers to register (shared/ops/registry.ts) and the evaluator to run. */
import { rubricOp, sectionOp } from './judge.ts';
import { dedupOp, factsOp, supportOp } from './claims.ts';

export { rubricOp, sectionOp, supportOp, factsOp, dedupOp };

export const EVAL_OPS = [rubricOp, sectionOp, supportOp, factsOp, dedupOp] as const;

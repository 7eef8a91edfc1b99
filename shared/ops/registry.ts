/** Every op the workers can run, by name. */
import type { OpDef } from './op.ts';
import { V1_OPS } from './v1/index.ts';
import { V2_OPS } from './v2/index.ts';
import { EVAL_OPS } from './eval/index.ts';
import { SOURCES_OPS } from './sources/index.ts';

export const ALL_OPS: OpDef[] = [...V1_OPS, ...V2_OPS, ...EVAL_OPS, ...SOURCES_OPS];

export function opsOfKind(kind: OpDef['kind']): OpDef[] {
  return ALL_OPS.filter((op) => op.kind === kind);
}

/** The V1 ops (long-document map → collapse → reduce) and their protocol helpers. */
import type { OpDef } from '../op.ts';
import { collapseOp } from './collapse.ts';
import { mapOp } from './map.ts';
import { reduceOp } from './reduce.ts';

export const V1_OPS: OpDef[] = [mapOp, collapseOp, reduceOp];

export { mapOp, MapInputSchema, mapMessages, type MapInput } from './map.ts';
export { collapseOp, CollapseInputSchema, collapseMessages, recordsBlock, type CollapseInput } from './collapse.ts';
export { reduceOp, ReduceInputSchema, ReduceOutputSchema, reduceMessages, parseReduceReply, type ReduceInput, type ReduceOutput } from './reduce.ts';
export {
  RecordSchema,
  NO_INFO,
  isRelevant,
  parseRecordText,
  parseReplyFields,
  renderRecord,
  renderRecords,
  recordCost,
  truncateRecord,
  type V1Record,
} from './record.ts';
export { V1_PROFILE_DEFS, getProfile, fillTemplate, type V1ProfileDef } from './profiles.ts';
export { extractRecord } from './extract.ts';
export { integrate, NO_RELEVANT_ANSWER } from './integrate.ts';

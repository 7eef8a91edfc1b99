/** The sources ops (topic-only mode): query generation, search, fetch/extract, relevance judgement. */
import { queriesOp } from './queries.ts';
import { searchOp } from './search.ts';
import { fetchOp } from './fetch.ts';
import { judgeOp } from './judge.ts';

export { queriesOp, searchOp, fetchOp, judgeOp };

export const SOURCES_OPS = [queriesOp, searchOp, fetchOp, judgeOp] as const;

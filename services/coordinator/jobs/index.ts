/** Job scripts by pipeline name. */
import type { JobScript } from '../../../shared/jobs/types.ts';
import { runV1 } from './v1.ts';
import { runV2 } from './v2.ts';

export const JOB_SCRIPTS: Record<string, JobScript<any>> = { v1: runV1, v2: runV2 };

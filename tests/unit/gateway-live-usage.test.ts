/** The live usage of a running job carries the prompt/completion split from its progress events. */
import { describe, expect, it } from 'vitest';
import { digestEvents, usageOf } from '../../services/gateway/summary.ts';
import type { JobEvent } from '../../shared/protocol/schemas.ts';

const progress = (data: Record<string, unknown>): JobEvent => ({ v: 1, jobId: 'j', ts: '2025-01-01T00:00:00.000Z', type: 'tasks.progress', stage: 'map', done: 1, total: 4, data }) as JobEvent;

describe('live usage', () => {
  it('splits tokens into prompt and completion while the job runs', () => {
    expect(usageOf(progress({ calls: 3, tokens: 700, promptTokens: 600, completionTokens: 100, costDollars: 0.01 }))).toEqual({ calls: 3, promptTokens: 600, completionTokens: 100, tokens: 700, costDollars: 0.01 });
    expect(digestEvents([progress({ calls: 1, tokens: 30, promptTokens: 20, completionTokens: 10 })]).usage).toMatchObject({ promptTokens: 20, completionTokens: 10, tokens: 30 });
  });

  it('keeps the sum alone for progress events that carry no split', () => {
    const u = usageOf(progress({ calls: 3, tokens: 700 }));
    expect(u).toMatchObject({ calls: 3, tokens: 700 });
    expect(u).not.toHaveProperty('promptTokens');
  });
});

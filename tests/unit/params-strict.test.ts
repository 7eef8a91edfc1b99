import { describe, expect, it } from 'vitest';
import { JobSpecSchema } from '../../shared/protocol/schemas.ts';
import { describeIssues, nearestKey } from '../../shared/protocol/issues.ts';
import { defaultJobSeed, contentKey } from '../../shared/protocol/ids.ts';

const refusal = (spec: unknown) => {
  const r = JobSpecSchema.safeParse(spec);
  return r.success ? 'accepted' : describeIssues(r.error, JobSpecSchema);
};

describe('strict job parameters', () => {
  it('refuses a misspelt V2 parameter, naming it and the key that was meant', () => {
    expect(refusal({ jobId: 'j-1', pipeline: 'v2', params: { inputKey: 'k', groupsize: 3 } })).toBe('params.groupsize: unknown parameter (did you mean "groupSize"?)');
  });

  it('refuses a misspelt refinement setting inside conv', () => {
    expect(refusal({ jobId: 'j-1', pipeline: 'v2', params: { inputKey: 'k', conv: { topk: 2 } } })).toBe('params.conv.topk: unknown parameter (did you mean "topK"?)');
  });

  it('refuses an unknown V1 parameter and accepts the known ones', () => {
    expect(refusal({ jobId: 'j-1', pipeline: 'v1', params: { docKey: 'd', question: 'q', windw: 3 } })).toMatch(/params\.windw: unknown parameter \(did you mean "window"\?\)/);
    expect(refusal({ jobId: 'j-1', pipeline: 'v2', params: { inputKey: 'k', groupSize: 4, conv: { topK: 2 }, verify: 'report' } })).toBe('accepted');
  });

  it('suggests a key only when it is a near miss', () => {
    expect(nearestKey('blokcs', ['blocks', 'bibtex'])).toBe('blocks');
    expect(nearestKey('temperature', ['blocks', 'bibtex'])).toBeUndefined();
  });
});

describe('reproducible defaults', () => {
  it('derives the default seed from what the job computes, not from its id', () => {
    const a = defaultJobSeed({ pipeline: 'v2', engine: 'openai', params: { inputKey: 'inputs/x', blocks: 1 } });
    const b = defaultJobSeed({ pipeline: 'v2', engine: 'openai', params: { blocks: 1, inputKey: 'inputs/x' } });
    const c = defaultJobSeed({ pipeline: 'v2', engine: 'openai', params: { inputKey: 'inputs/x', blocks: 2 } });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('names an input by its content', () => {
    expect(contentKey('inputs', '{"title":"t"}', 'json')).toBe(contentKey('inputs', '{"title":"t"}', 'json'));
    expect(contentKey('inputs', '{"title":"t"}', 'json')).not.toBe(contentKey('inputs', '{"title":"u"}', 'json'));
    expect(contentKey('inputs', 'x', 'json')).toMatch(/^inputs\/sha256-[0-9a-f]{40}\.json$/);
  });
});

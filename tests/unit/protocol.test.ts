import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, taskId, newJobId } from '../../shared/protocol/ids.ts';
import { decode, encode } from '../../shared/protocol/codec.ts';
import { names } from '../../shared/protocol/names.ts';
import { JobSpecSchema, TaskEnvelopeSchema, jobSpecJsonSchema } from '../../shared/protocol/schemas.ts';

describe('task ids', () => {
  it('do not depend on the order of object keys', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(taskId('j', 'op', obj)).toBe(taskId('j', 'op', reversed));
      }),
    );
  });
  it('differ when the job, the op or the input differ', () => {
    const base = taskId('j1', 'v1.map', { a: 1 });
    expect(taskId('j2', 'v1.map', { a: 1 })).not.toBe(base);
    expect(taskId('j1', 'v1.reduce', { a: 1 })).not.toBe(base);
    expect(taskId('j1', 'v1.map', { a: 2 })).not.toBe(base);
    expect(taskId('j1', 'v1.map', { a: 1, sample: 1 })).not.toBe(base);
  });
  it('are 32 hex characters and canonical JSON sorts nested keys but keeps array order', () => {
    expect(taskId('j', 'o', {})).toMatch(/^[a-f0-9]{32}$/);
    expect(canonicalJson({ b: [3, 1], a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":[3,1]}');
  });
  it('new job ids are valid subject tokens and unique', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newJobId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(JobSpecSchema.options[0].shape.jobId.safeParse(id).success).toBe(true);
  });
});

describe('codec', () => {
  it('round-trips a valid envelope', () => {
    const env = { v: 1, jobId: 'j', taskId: 'a'.repeat(32), kind: 'map', op: 'v1.map', engine: 'extractive', input: { x: [1, 2] } };
    const d = decode(TaskEnvelopeSchema, encode(env));
    expect(d).toEqual({ ok: true, value: env });
  });
  it('turns bytes that are not msgpack into an error value instead of throwing', () => {
    const d = decode(TaskEnvelopeSchema, new Uint8Array([0xc1, 0xff, 0x00, 0x13]));
    expect(d.ok).toBe(false);
    expect(!d.ok && d.error).toMatch(/not valid msgpack/);
  });
  it('names the offending fields of a message with the wrong shape', () => {
    const d = decode(JobSpecSchema, encode({ v: 1, jobId: 'has space', pipeline: 'v1', params: { docKey: 'k', question: '' } }));
    expect(d.ok).toBe(false);
    expect(!d.ok && d.error).toMatch(/jobId/);
  });
});

describe('names', () => {
  it('keep every stream and subject under the prefix', () => {
    const n = names('abc');
    expect(n.subjects.task('map', 'v1.map')).toBe('abc.tasks.map.v1.map');
    expect(n.streams.tasks).toBe('ABC_TASKS');
    expect(n.buckets.results).toBe('abc_results');
  });
  it('reject a prefix that is not a safe subject token', () => {
    expect(() => names('a.b')).toThrow(/invalid name prefix/);
    expect(() => names('')).toThrow(/invalid name prefix/);
  });
});

describe('job spec JSON Schema', () => {
  it('describes both pipelines and requires a question for v1', () => {
    const s = JSON.stringify(jobSpecJsonSchema());
    expect(s).toContain('"v1"');
    expect(s).toContain('"v2"');
    expect(s).toContain('question');
  });
});

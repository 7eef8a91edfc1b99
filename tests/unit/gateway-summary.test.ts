/**
 * The gateway's pure parts: a job's stages, ETA, usage, failures and refinement scores derived
 * from its events, and the access rules (bearer token, loopback-only without one).
 */
import { describe, expect, it } from 'vitest';
import { digestEvents, usageOf, wallTime } from '../../services/gateway/summary.ts';
import { bearerCheck, checkBind, isLoopback } from '../../services/gateway/auth.ts';
import type { JobEvent } from '../../shared/protocol/schemas.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ev = (s: number, e: Partial<JobEvent> & { type: JobEvent['type'] }): JobEvent => ({ v: 1, jobId: 'j', ts: new Date(T0 + s * 1000).toISOString(), ...e });

describe('digestEvents', () => {
  it('estimates the time left of a running stage from the rate observed since its first progress event', () => {
    const d = digestEvents(
      [
        ev(0, { type: 'stage.started', stage: 'map' }),
        ev(0, { type: 'tasks.progress', stage: 'map', done: 0, total: 100, data: { calls: 0, tokens: 0 } }),
        ev(10, { type: 'tasks.progress', stage: 'map', done: 25, total: 100, data: { calls: 25, tokens: 5000, costDollars: 0.5 } }),
      ],
      T0 + 10_000,
    );
    expect(d.stages).toEqual([{ name: 'map', state: 'running', done: 25, total: 100, etaMs: 30_000 }]);
    expect(d.usage).toEqual({ calls: 25, tokens: 5000, costDollars: 0.5 });
    // later, with no new progress, the estimate shrinks by the time passed
    expect(digestEvents([ev(0, { type: 'tasks.progress', stage: 'map', done: 0, total: 10 }), ev(10, { type: 'tasks.progress', stage: 'map', done: 5, total: 10 })], T0 + 14_000).stages[0].etaMs).toBe(6_000);
  });

  it('has no ETA before any task is done, and 0 once a stage finished', () => {
    const d = digestEvents([
      ev(0, { type: 'tasks.progress', stage: 'map', done: 0, total: 4 }),
      ev(1, { type: 'stage.started', stage: 'reduce' }),
      ev(2, { type: 'tasks.progress', stage: 'digest', done: 0, total: 3 }),
      ev(3, { type: 'stage.finished', stage: 'reduce' }),
    ]);
    expect(d.stages.find((s) => s.name === 'map')!.etaMs).toBeNull();
    expect(d.stages.find((s) => s.name === 'reduce')).toMatchObject({ state: 'done', etaMs: 0 });
  });

  it('takes the full usage from the end event, counts failed tasks, and reports repairs', () => {
    const d = digestEvents([
      ev(0, { type: 'task.failed', stage: 'map', message: 'boom', data: { taskId: 'abc' } }),
      ev(1, { type: 'job.succeeded', data: { wallMs: 1234, usage: { calls: 7, promptTokens: 100, completionTokens: 20, cachedCalls: 2, costDollars: 0.01, repairs: 3 } } }),
    ]);
    expect(d.failures).toEqual([{ stage: 'map', message: 'boom', taskId: 'abc', ts: new Date(T0).toISOString() }]);
    expect(d.usage).toMatchObject({ calls: 7, promptTokens: 100, completionTokens: 20, tokens: 120, cachedCalls: 2, costDollars: 0.01, repairs: 3 });
    expect(d.repairs).toBe(3);
    expect(d.wallMs).toBe(1234);
    expect(d.last).toMatchObject({ type: 'job.succeeded' });
  });

  it('collects each refinement block’s scores per layer, a replayed layer replacing its first report', () => {
    const d = digestEvents([
      ev(0, { type: 'info', stage: 'refine', data: { block: 0, layer: 0, scores: [5, 6], best: 6 } }),
      ev(1, { type: 'info', stage: 'refine', data: { block: 0, layer: 1, scores: [4, 7], best: 7 } }),
      ev(2, { type: 'info', stage: 'refine', data: { block: 0, layer: 1, scores: [4, 7.5], best: 7.5 } }),
      ev(3, { type: 'info', stage: 'refine', data: { block: 0, layer: 'self-refine 1', scores: [7.2], best: 7.5, phase: 'self-refine', round: 1 } }),
      ev(4, { type: 'info', stage: 'refine', data: { block: 0, phase: 'accepted', initial: 6, best: 7.5, origin: 'layer 1' } }),
    ]);
    expect(d.refinement).toEqual([
      {
        block: 0,
        initial: 6,
        accepted: { score: 7.5, origin: 'layer 1' },
        layers: [
          { layer: 0, label: 'layer 0', scores: [5, 6], best: 6 },
          { layer: 1, label: 'layer 1', scores: [4, 7.5], best: 7.5 },
          { layer: 'self-refine 1', label: 'self-refine 1', scores: [7.2], best: 7.5 },
        ],
      },
    ]);
  });

  it('reads no usage from events that carry none', () => {
    expect(usageOf({ type: 'job.failed', data: { resultKey: 'k' } })).toBeNull();
    expect(usageOf({ type: 'info' })).toBeNull();
  });

  it('gives the wall time of a running job from its start', () => {
    expect(wallTime({ jobId: 'j', pipeline: 'v1', state: 'running', attempts: 1, startedAt: new Date(T0).toISOString() }, undefined, T0 + 5000)).toBe(5000);
    expect(wallTime({ jobId: 'j', pipeline: 'v1', state: 'queued', attempts: 0 }, undefined)).toBeNull();
  });
});

describe('access', () => {
  it('accepts only the exact bearer token when one is set', () => {
    const ok = bearerCheck('s3cret-token-of-some-length');
    expect(ok('Bearer s3cret-token-of-some-length')).toBe(true);
    expect(ok('bearer s3cret-token-of-some-length')).toBe(true);
    expect(ok('Bearer s3cret-token-of-some-lengt')).toBe(false);
    expect(ok('s3cret-token-of-some-length')).toBe(false);
    expect(ok(undefined)).toBe(false);
    expect(bearerCheck(undefined)(undefined)).toBe(true);
  });

  it('refuses to bind beyond loopback without a token, and short tokens anywhere', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'example.org']) expect(isLoopback(h), h).toBe(false);
    expect(() => checkBind('0.0.0.0', undefined)).toThrow(/refusing to serve the HTTP API on 0\.0\.0\.0 without a token/);
    expect(() => checkBind('127.0.0.1', undefined)).not.toThrow();
    expect(() => checkBind('0.0.0.0', 'short')).toThrow(/shorter than 16/);
    expect(() => checkBind('0.0.0.0', 'a-long-enough-token-123')).not.toThrow();
  });
});

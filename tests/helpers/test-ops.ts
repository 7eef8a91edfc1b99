/**
 * Ops and a job script for runtime tests. They are real op definitions run by the real worker
 * runtime; every execution appends a line to a log file so tests can count executions across
 * processes (an observable side effect, not a mock).
 */
import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { defineOp } from '../../shared/ops/op.ts';
import { TransientError } from '../../shared/llm/engine.ts';
import type { JobScript } from '../../shared/jobs/types.ts';

const Input = z.object({ n: z.number().int(), ms: z.number().int().min(0).default(0), log: z.string() });
type In = z.infer<typeof Input>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function record(log: string, what: string) {
  appendFileSync(log, `${what}\n`);
}

export const echoOp = defineOp({
  name: 'test.echo',
  kind: 'map',
  version: 1,
  input: Input,
  output: z.object({ n: z.number(), doubled: z.number() }),
  prompt: (i: In) => [{ role: 'user', content: `double ${i.n}` }],
  async extractive(i: In) {
    record(i.log, `start ${i.n}`);
    await sleep(i.ms);
    record(i.log, `done ${i.n}`);
    return { n: i.n, doubled: i.n * 2 };
  },
});

export const poisonOp = defineOp({
  name: 'test.poison',
  kind: 'map',
  version: 1,
  input: Input,
  output: z.object({ n: z.number() }),
  prompt: (i: In) => [{ role: 'user', content: String(i.n) }],
  extractive(i: In): { n: number } {
    record(i.log, `poison ${i.n}`);
    throw new TransientError(`test.poison always fails (n=${i.n})`);
  },
});

export const TEST_OPS = [echoOp, poisonOp];

/**
 * A fan-out job for tests, registered under the "v1" pipeline name of test coordinators:
 * its `params.question` is JSON `{ n, ms, log, poison? }`.
 */
export const fanoutScript: JobScript = async (ctx) => {
  const cfg = JSON.parse((ctx.spec.params as { question: string }).question) as { n: number; ms: number; log: string; poison?: boolean };
  const inputs = Array.from({ length: cfg.n }, (_, n) => ({ n, ms: cfg.ms, log: cfg.log }));
  const out = await ctx.map(echoOp, inputs, { stage: 'fanout' });
  if (cfg.poison) await ctx.run(poisonOp, { n: -1, ms: 0, log: cfg.log });
  return { sum: out.reduce((a, o) => a + o.doubled, 0) };
};

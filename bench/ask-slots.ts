/**
 * `npm run bench:ask-slots`: how much of a model server a newcomer's `ask` uses with no
 * configuration at all (no routing file, no MR_CONCURRENCY, a server without vLLM /metrics).
 * Starts the fleet simulator (32 slots, a fixed service time), runs `llmxmr ask` as a user
 * would (its own process, in-process services), samples the simulator's running requests every
 * 20 ms, and prints the mean and minimum slots busy while the map phase still had at least a
 * full server's worth of work left (the last partial round cannot fill the server by itself).
 *
 *   npm run bench:ask-slots -- [--slots 32] [--latency-ms 2000] [--tokens 400000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFleetSim } from '../shared/sim/fleet.ts';
import { createRng } from '../shared/algo/rng.ts';
import { makeHaystack } from '../shared/algo/haystack.ts';
import { ROOT, say } from './perf-common.ts';

const { values: a } = parseArgs({
  options: {
    slots: { type: 'string', default: '32' },
    'latency-ms': { type: 'string', default: '2000' },
    tokens: { type: 'string', default: '400000' },
  },
});
const SLOTS = Number(a.slots);

async function main() {
  const sim = await startFleetSim({ port: 0, replicas: 1, slots: SLOTS, baseLatencyMs: Number(a['latency-ms']), prefillTokensPerSec: 0, decodeTokensPerSec: 0, jitter: 0, model: 'slots-sim', seed: 1 });
  const doc = join(mkdtempSync(join(tmpdir(), 'ask-slots-')), 'hay.txt');
  writeFileSync(doc, makeHaystack('passkey', Number(a.tokens), createRng(7)).context);
  const samples: { t: number; running: number; done: number }[] = [];
  const t0 = performance.now();
  const timer = setInterval(() => {
    const s = sim.stats();
    samples.push({ t: performance.now() - t0, running: s.running, done: s.successes });
  }, 20);
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'llmxmr.js'), 'ask', '--doc', doc, '--question', 'What is the pass key?', '--profile', 'retrieval', '--no-cache', '--json'], {
    cwd: ROOT,
    env: { ...process.env, OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'sk-local', LLM_MODEL: 'slots-sim', MR_PREFIX: `slots${Date.now().toString(36)}`, LOG_LEVEL: 'warn', METRICS_PORT: '0', MR_CONCURRENCY: '', LLM_ROUTING_FILE: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  clearInterval(timer);
  await sim.close();
  if (code !== 0) throw new Error(`ask exited with ${code}`);
  const r = JSON.parse(out);
  const mapTasks: number = r.stats.mapTasks;
  // The map phase with a full server's worth of work left: from the first request until the
  // number of map calls finished or running passes mapTasks − SLOTS.
  const first = samples.findIndex((s) => s.running > 0);
  const full = samples.slice(first).filter((s) => s.done <= mapTasks - SLOTS);
  const mean = full.reduce((n, s) => n + s.running, 0) / Math.max(1, full.length);
  const steady = full.filter((s) => s.t > full[0].t + 200); // after the first 200 ms of ramp
  const min = Math.min(...steady.map((s) => s.running));
  say(`ask: ${mapTasks} map tasks on ${SLOTS} slots, ${Number(a['latency-ms'])} ms per call; answer ${JSON.stringify(r.answer)}`);
  process.stdout.write(
    `slots busy while at least ${SLOTS} map tasks were left: mean ${mean.toFixed(1)} of ${SLOTS} (${((mean / SLOTS) * 100).toFixed(1)}%), ` +
      `minimum after the first 200 ms ${Number.isFinite(min) ? min : 'n/a'}, over ${(full.length * 20) / 1000} s\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`bench:ask-slots: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});

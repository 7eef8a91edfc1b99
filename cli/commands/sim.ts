/** `llmxmr sim`: a simulated OpenAI-compatible vLLM fleet in the foreground (tests, benchmarks, capacity planning). */
import type { Command } from 'commander';
import { CORRUPTION_KINDS, DEFAULT_CORRUPTION_WEIGHTS, FAULT_KINDS, startFleetSim, type CorruptionKind, type FleetStats } from '../../shared/sim/fleet.ts';
import { UsageError } from '../common.ts';

interface SimOpts {
  port: string;
  host: string;
  replicas: string;
  slots: string;
  queue: string;
  faultRate: string;
  faults?: string;
  latencyMs: string;
  tailRate: string;
  tailFactor: string;
  prefillTps: string;
  decodeTps: string;
  maxModelLen: string;
  seed: string;
  model: string;
  interval: string;
  structuredOutput: boolean;
  quality: string;
  sloppyRate: string;
  corruptions?: string;
}

function num(value: string, flag: string, min: number, max: number, integer = true): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max} (got "${value}")`);
  }
  return n;
}

/** "http5xx=2,timeout=1" → weights; kinds left out get 0 when the list is given. */
function faultWeights(spec: string | undefined): Partial<Record<(typeof FAULT_KINDS)[number], number>> | undefined {
  if (!spec) return undefined;
  const out: Record<string, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v = '1'] = part.split('=');
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new UsageError(`unknown fault kind "${k}" in --faults (kinds: ${FAULT_KINDS.join(', ')})`);
    out[k] = num(v, `--faults ${k}`, 0, 1e6, false);
  }
  return out;
}

/** "truncated=2,prose=0" → weights; kinds left out keep their default weight. */
function corruptionWeights(spec: string | undefined): Partial<Record<CorruptionKind, number>> | undefined {
  if (!spec) return undefined;
  const out: Partial<Record<CorruptionKind, number>> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v = '1'] = part.split('=');
    if (!(CORRUPTION_KINDS as readonly string[]).includes(k)) throw new UsageError(`unknown corruption kind "${k}" in --corruptions (kinds: ${CORRUPTION_KINDS.join(', ')})`);
    out[k as CorruptionKind] = num(v, `--corruptions ${k}`, 0, 1e6, false);
  }
  return out;
}

export function statsLine(s: FleetStats): string {
  const faults = FAULT_KINDS.filter((k) => s.faults[k] > 0).map((k) => `${k}=${s.faults[k]}`).join(' ') || 'none';
  const sloppyTotal = CORRUPTION_KINDS.reduce((n, k) => n + (s.sloppy?.[k] ?? 0), 0);
  const sloppy = sloppyTotal > 0 ? `  sloppy ${sloppyTotal} (${CORRUPTION_KINDS.filter((k) => s.sloppy[k] > 0).map((k) => `${k}=${s.sloppy[k]}`).join(' ')})` : '';
  const rate = s.elapsedMs > 0 ? (s.successes / s.elapsedMs) * 1000 : 0;
  return (
    `requests ${s.requests}  ok ${s.successes} (${rate.toFixed(1)}/s)  429 ${s.rejected429}  faults ${faults}${sloppy}  ` +
    `running ${s.running}/${s.totalSlots}  waiting ${s.waiting}  peak ${s.maxConcurrent}  ` +
    `slot use ${(s.slotUtilisation * 100).toFixed(1)}%  tokens ${s.promptTokens} in / ${s.completionTokens} out`
  );
}

function quality(q: string): 'clean' | 'sloppy' {
  if (q !== 'clean' && q !== 'sloppy') throw new UsageError(`--quality must be "clean" or "sloppy" (got "${q}")`);
  return q;
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run a simulated OpenAI-compatible vLLM fleet (replicas × slots, queueing, 429s, faults); Ctrl-C stops it')
    .option('--port <port>', 'port to listen on (0: any free port)', '8000')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--replicas <n>', 'simulated model replicas', '1')
    .option('--slots <n>', 'concurrent requests per replica', '8')
    .option('--queue <n>', 'requests that may wait for a slot before 429s start', '1000')
    .option('--fault-rate <f>', 'share of requests that get a fault (0..1)', '0')
    .option('--faults <list>', `fault kinds and weights, e.g. "http5xx=2,timeout=1" (kinds: ${FAULT_KINDS.join(', ')}; default all equal)`)
    .option('--latency-ms <ms>', 'fixed latency added to every request', '50')
    .option('--tail-rate <f>', 'heavy-tailed latency: share of requests (0..1) that take --tail-factor times as long', '0')
    .option('--tail-factor <x>', 'how many times slower a request in the tail is', '10')
    .option('--prefill-tps <n>', 'prompt tokens per second per slot (0: instant)', '5000')
    .option('--decode-tps <n>', 'generated tokens per second per slot (0: instant)', '50')
    .option('--max-model-len <n>', 'context window in tokens (prompt + max_tokens)', '32768')
    .option('--seed <n>', 'seed for faults and content', '1')
    .option('--model <name>', 'model name the server answers to', 'sim-model')
    .option('--interval <s>', 'seconds between stats lines (0: none)', '5')
    .option('--no-structured-output', 'answer 400 to json_schema response_format, like servers without structured output; the schema is then read from the prompt')
    .option('--quality <q>', 'clean: every reply well formed; sloppy: a share of replies is corrupted like small local models do', 'clean')
    .option('--sloppy-rate <r>', 'share of replies the sloppy mode corrupts (0..1)', '0.3')
    .option(
      '--corruptions <list>',
      `corruption kinds and weights, e.g. "truncated=3,prose=0" (kinds: ${CORRUPTION_KINDS.join(', ')}; defaults: ${CORRUPTION_KINDS.map((k) => `${k}=${DEFAULT_CORRUPTION_WEIGHTS[k]}`).join(',')}); ` +
        'with structured output only truncated, one-section, empty, repeated and language apply',
    )
    .addHelpText(
      'after',
      '\nReplies are shaped by the prompt: each op is known by its JSON Schema title (or the response_format name) and answered ' +
        'from the fenced sources it was shown (section ids of the outline, paper ids of the group, sentences of the text); ' +
        'unknown schemas get a generic valid value, requests without a schema get sentences of the prompt. See docs/simulator.md.',
    )
    .action(async (o: SimOpts) => {
      const say = (s: string) => process.stderr.write(`${s}\n`);
      const sim = await startFleetSim({
        port: num(o.port, '--port', 0, 65535),
        host: o.host,
        replicas: num(o.replicas, '--replicas', 1, 10_000),
        slots: num(o.slots, '--slots', 1, 100_000),
        queueLimit: num(o.queue, '--queue', 0, 10_000_000),
        faultRate: num(o.faultRate, '--fault-rate', 0, 1, false),
        faults: faultWeights(o.faults),
        baseLatencyMs: num(o.latencyMs, '--latency-ms', 0, 3_600_000, false),
        tailRate: num(o.tailRate, '--tail-rate', 0, 1, false),
        tailFactor: num(o.tailFactor, '--tail-factor', 1, 1000, false),
        prefillTokensPerSec: num(o.prefillTps, '--prefill-tps', 0, 1e9, false),
        decodeTokensPerSec: num(o.decodeTps, '--decode-tps', 0, 1e9, false),
        maxModelLen: num(o.maxModelLen, '--max-model-len', 16, 10_000_000),
        seed: num(o.seed, '--seed', 0, 2 ** 32 - 1),
        model: o.model,
        structuredOutput: o.structuredOutput,
        quality: quality(o.quality),
        sloppyRate: num(o.sloppyRate, '--sloppy-rate', 0, 1, false),
        corruptions: corruptionWeights(o.corruptions),
      });
      const interval = num(o.interval, '--interval', 0, 86_400, false);
      process.stdout.write(`${sim.url}\n`);
      const sloppy = o.quality === 'sloppy' ? `, sloppy replies ${o.sloppyRate}` : '';
      say(`fleet simulator on ${sim.url}: ${o.replicas} replica(s) × ${o.slots} slot(s), model "${o.model}", fault rate ${o.faultRate}${sloppy}${o.structuredOutput ? '' : ', no structured output'}`);
      say(`point the engine at it: OPENAI_BASE_URL=${sim.url} LLM_MODEL=${o.model}; metrics on http://${o.host}:${sim.port}/metrics; Ctrl-C to stop`);
      const ticker = interval > 0 ? setInterval(() => say(statsLine(sim.stats())), interval * 1000) : undefined;
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      if (ticker) clearInterval(ticker);
      await sim.close();
      say(`final: ${statsLine(sim.stats())}`);
    });
}

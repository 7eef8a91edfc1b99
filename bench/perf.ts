/**
 * `npm run bench:perf`: one run of four measurements on a private nats-server, printed as ratios
 * side by side and written to bench/results/<date>.md with hand-made SVG charts beside it.
 *   (a) orchestration overhead per task vs a raw JetStream publish → consume → ack round trip;
 *   (b) V2 makespan on the fleet simulator vs its lower bound;
 *   (c) throughput with 1, 2, 4 mapper processes and more calls in flight per process;
 *   (d) peak RSS of the coordinator process on a 1,000-paper V2 job;
 *   (e) the command line: `llmxmr --help` start-up, and answer-to-exit of `llmxmr ask`;
 *   (f) V1 on the simulator at 8 and 32 slots on two novels: makespan / lower bound with and
 *       without the pipelined collapse, and with heavy-tailed latency with and without backups;
 *   (g) V2 (67 papers, blocks 1) on a flat 500 ms simulator with 32 slots against its chain of
 *       dependent calls, and the time with no call at the model, by stage.
 * (a) also gives the dependent-step dispatch latency (result stored → next task begun).
 * Bounded to about twenty minutes: a part that would start past the budget is skipped and says so.
 * Knobs: PERF_QUICK=1 (smaller sizes), PERF_BUDGET_S (default 1200), PERF_OUT (results folder).
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startNatsServer, findNatsServer } from '../shared/bus/nats-server.ts';
import { barChart, lineChart } from './svg.ts';
import { DATA, ROOT, say } from './perf-common.ts';
import { measureOverhead, type OverheadResult } from './perf-overhead.ts';
import { measureMakespan, type MakespanResult } from './perf-makespan.ts';
import { measureThroughput, type ThroughputResult } from './perf-throughput.ts';
import { measureMemory, type MemoryResult } from './perf-memory.ts';
import { measureCli, type CliResult } from './perf-cli.ts';
import { measureV1, type V1PerfResult } from './perf-v1.ts';
import { measureV2Chain, type V2ChainResult } from './perf-v2.ts';

const QUICK = process.env.PERF_QUICK === '1';
const BUDGET_MS = Number(process.env.PERF_BUDGET_S ?? 1200) * 1000;
const OUT = process.env.PERF_OUT ?? join(ROOT, 'bench', 'results');
const started = Date.now();
const deadline = started + BUDGET_MS;
const left = () => deadline - Date.now();

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const date = new Date().toISOString().slice(0, 10);

function natsVersion(): string {
  try {
    return execFileSync(findNatsServer() ?? 'nats-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function part<T>(name: string, needMs: number, run: () => Promise<T>): Promise<T | null> {
  if (left() < needMs) {
    say(`${name}: skipped, ${Math.round(left() / 1000)} s of the budget left and it needs about ${Math.round(needMs / 1000)} s`);
    return null;
  }
  try {
    return await run();
  } catch (e) {
    say(`${name}: failed: ${(e as Error).message}`);
    return null;
  }
}

const machine = `${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), load average at start ${loadavg().map((x) => x.toFixed(1)).join(' / ')}, node ${process.version}, ${natsVersion()}`;
say(`bench:perf on ${machine}${QUICK ? ' (quick sizes)' : ''}`);
const nats = await startNatsServer();
let a: OverheadResult | null = null;
let b: MakespanResult | null = null;
let c: ThroughputResult | null = null;
let d: MemoryResult | null = null;
let e: CliResult | null = null;
let v1: V1PerfResult | null = null;
let g: V2ChainResult | null = null;
try {
  e = await part('(e) command line', 20_000, () => measureCli(nats.url, { n: QUICK ? 3 : 5, asks: QUICK ? 2 : 3 }));
  a = await part('(a) overhead', 30_000, () => measureOverhead(nats.url, QUICK ? { n: 100, batch: 500 } : { n: 300, batch: 2000 }));
  g = await part('(g) V2 against its chain', 200_000, () => measureV2Chain(nats.url, { papers: 67, blocks: 1, latencyMs: 500, slots: 32 }));
  const topic = join(DATA, 'v2', 'kv_cache.jsonl');
  if (existsSync(topic)) {
    const input = JSON.parse(readFileSync(topic, 'utf8').split('\n')[0]) as { title: string; papers: unknown[] };
    const sized = QUICK ? { ...input, papers: input.papers.slice(0, 40) } : input;
    b = await part('(b) makespan', 150_000, () => measureMakespan(nats.url, sized, { replicas: 2, slots: 8, latencyMs: QUICK ? 1000 : 2000 }));
  } else say(`(b) skipped: ${topic} is absent`);
  // (d) before (c): (c) adapts to the time that is left, (d) does not.
  d = await part('(d) memory', 60_000, () => measureMemory(nats.url, { papers: 1000, blocks: Number(process.env.PERF_BLOCKS ?? 0) }));
  c = await part('(c) throughput', 40_000, () =>
    measureThroughput(nats.url, { processes: [1, 2, 4], perProcess: QUICK ? [2, 16] : [2, 8, 32], serviceMs: 1000, waves: QUICK ? 3 : 6, deadline: Math.min(deadline - 15_000, Date.now() + 150_000) }),
  );
  v1 = await part('(f) V1 on the simulator', 60_000, () =>
    measureV1(nats.url, { novels: QUICK ? ['austen_persuasion.txt'] : ['austen_persuasion.txt', 'austen_emma.txt'], slots: [8, 32], tailRate: 0.05, tailSlots: 32, tailSeeds: QUICK ? [11] : [11, 12, 13], deadline: deadline - 60_000 }),
  );
} finally {
  await nats.stop();
}

// ---- ratios ---------------------------------------------------------------------------------
const lines: string[] = [];
if (a) {
  lines.push(`(a) orchestration / raw JetStream    per task one at a time ${f(a.cluster.runPerTaskMs)} / ${f(a.raw.rttMeanMs)} ms = ${f(a.ratios.latency)}×    fanned out ${f(a.cluster.mapPerTaskMs)} / ${f(a.raw.batchPerMsgMs)} ms = ${f(a.ratios.amortised)}×`);
  lines.push(`(a) the protocol by hand / raw        one at a time ${f(a.floor.stepMs)} ms = ${f(a.floor.stepMs / a.raw.rttMeanMs)}×    fanned out ${f(a.floor.batchPerTaskMs, 3)} ms = ${f(a.floor.batchPerTaskMs / a.raw.batchPerMsgMs)}×    (cluster / by hand ${f(a.cluster.runPerTaskMs / a.floor.stepMs)}× and ${f(a.cluster.mapPerTaskMs / a.floor.batchPerTaskMs)}×)`);
  lines.push(`(a) dependent-step dispatch           p50 ${f(a.dispatch.p50Ms)} ms, p99 ${f(a.dispatch.p99Ms)} ms, max ${f(a.dispatch.maxMs)} ms over ${a.dispatch.n} steps (a step: ${f(a.steps.toWorkerMs)} ms to the worker, ${f(a.steps.toScriptMs)} ms from the stored result to the script)`);
}
if (b) {
  lines.push(`(b) V2 makespan / lower bound        ${f(b.makespanMs / 1000, 1)} / ${f(b.lowerBoundMs / 1000, 1)} s = ${f(b.ratio)}; stage-aware bound ${f(b.stageBoundMs / 1000, 1)} s, ratio ${f(b.stageRatio)}    (${b.calls} calls, critical path ${b.criticalPathCalls} calls, ${b.replicas * b.slots} slots, slot use ${f(100 * b.slotUtilisation, 0)}%)`);
}
const tp = (p: number, k: number) => c?.points.find((x) => x.processes === p && x.perProcess === k);
if (c && c.points.length) {
  const k = Math.max(...c.points.map((x) => x.perProcess));
  const one = tp(1, k);
  const four = tp(4, k) ?? tp(2, k);
  if (one && four) lines.push(`(c) throughput ${four.processes} processes / 1        ${f(four.tasksPerSec, 1)} / ${f(one.tasksPerSec, 1)} tasks/s = ${f(four.tasksPerSec / one.tasksPerSec)}× at ${k} in flight each (ideal ${four.processes}×); best efficiency ${f(100 * Math.max(...c.points.map((x) => x.efficiency)), 0)}% of in-flight / latency`);
}
if (d) lines.push(`(d) coordinator peak RSS             ${f(d.peakRssMB, 0)} MB on ${d.papers} papers (idle ${f(d.idleRssMB, 0)} MB; peak / idle = ${f(d.peakRssMB / d.idleRssMB)}×; job ${f(d.wallMs / 1000, 1)} s, ${d.tasks} tasks)`);
if (e) {
  lines.push(`(e) CLI start-up (--help)            ${f(e.help.bundle.wallP50Ms, 0)} ms wall p50, ${e.help.bundle.cpuMeanMs === null ? 'n/a' : f(e.help.bundle.cpuMeanMs, 0)} ms CPU (from source through tsx: ${f(e.help.source.wallP50Ms, 0)} ms wall, ${e.help.source.cpuMeanMs === null ? 'n/a' : f(e.help.source.cpuMeanMs, 0)} ms CPU); answer to exit ${f(e.shutdown.p50Ms, 0)} ms p50, ${f(e.shutdown.maxMs, 0)} ms max`);
}
if (g) {
  const m = g.runs[2];
  lines.push(`(g) V2 makespan / chain × L          ${f((m?.makespanMs ?? NaN) / 1000, 1)} / (${g.chain} × ${g.latencyMs} ms) = ${f(g.ratio)} on ${g.slots} slots (chain on ${g.slots} slots ${g.chainAtSlots}: ${f(g.ratioAtSlots)}); ${f(g.perStepMs, 0)} ms of orchestration per dependent step; no call at the model for ${f((m?.deadMs ?? NaN) / 1000, 1)} s`);
}
if (v1) {
  for (const r of v1.rows) lines.push(`(f) V1 ${r.novel.replace(/\.txt$/, '')} ${r.slots} slots          makespan / bound pipelined ${f(r.ratioPipelined)}, barrier ${f(r.ratioBarrier)} (bound ${f(r.boundMs / 1000, 1)} s; slot use ${f(100 * r.usePipelined, 0)}%)`);
  for (const t of v1.tails) lines.push(`(f) V1 ${t.novel.replace(/\.txt$/, '')} ${t.slots} slots, ${f(100 * t.tailRate, 0)}% calls 10× slower (summed over seeds)   backups cut the makespan by ${f(100 * t.cut, 0)}% (${f(t.offMs / 1000, 1)} → ${f(t.onMs / 1000, 1)} s) for ${f(100 * t.extraCalls, 1)}% extra calls (${t.sent} sent, ${t.won} won)`);
}
process.stdout.write(`\nperf ratios (${date})\n${lines.join('\n')}\n\n`);

// ---- report -----------------------------------------------------------------------------------
mkdirSync(OUT, { recursive: true });
const charts: Record<string, string> = {};
if (a) {
  charts.overhead = barChart({
    title: '(a) cost per task: cluster vs raw JetStream', yLabel: 'ms per task', labels: ['one at a time', 'fanned out'],
    series: [{ name: 'raw JetStream', values: [a.raw.rttMeanMs, a.raw.batchPerMsgMs] }, { name: 'cluster (no-op op)', values: [a.cluster.runPerTaskMs, a.cluster.mapPerTaskMs] }],
  });
}
if (b) {
  charts.makespan = barChart({
    title: `(b) V2 on ${b.papers} papers, ${b.replicas}×${b.slots} slots, ${b.latencyMs} ms per call`, yLabel: 'seconds',
    labels: ['critical path × L', 'calls × L / slots', 'stage-aware bound', 'makespan', 'unlimited slots'],
    series: [{ name: 'seconds', values: [(b.criticalPathCalls * b.latencyMs) / 1000, (b.calls * b.latencyMs) / (b.replicas * b.slots * 1000), b.stageBoundMs / 1000, b.makespanMs / 1000, b.calibrationMs / 1000] }],
    reference: { value: b.lowerBoundMs / 1000, label: 'lower bound' },
  });
}
if (c && c.points.length) {
  const ks = [...new Set(c.points.map((x) => x.perProcess))].sort((x, y) => x - y);
  const ps = [...new Set(c.points.map((x) => x.processes))].sort((x, y) => x - y);
  charts.throughput = lineChart({
    title: `(c) throughput, ${c.serviceMs} ms per simulated call`, yLabel: 'tasks per second', labels: ks.map((k) => `${k} in flight / process`),
    series: [
      ...ps.map((p, i) => ({ name: `${p} process${p > 1 ? 'es' : ''}`, color: i, values: ks.map((k) => tp(p, k)?.tasksPerSec ?? null) })),
      ...ps.map((p, i) => ({ name: `ideal, ${p}`, dashed: true, color: i, values: ks.map((k) => tp(p, k)?.idealPerSec ?? null) })),
    ],
  });
}
if (d) {
  charts.memory = barChart({
    title: `(d) coordinator memory, ${d.papers}-paper V2 job`, yLabel: 'MB', labels: ['idle RSS', 'VmHWM before job', 'VmHWM after job'],
    series: [{ name: 'coordinator', values: [d.idleRssMB, d.hwmBeforeMB, d.peakRssMB] }],
  });
}
for (const [name, svg] of Object.entries(charts)) writeFileSync(join(OUT, `${date}-${name}.svg`), svg);
const img = (name: string) => (charts[name] ? `\n![${name}](${date}-${name}.svg)\n` : '');
const md = [
  `# Performance report, ${date}`,
  '',
  `Machine: ${machine}. One private nats-server (file storage, loopback). Total ${f((Date.now() - started) / 1000, 0)} s.`,
  '',
  '## Ratios',
  '',
  '```',
  ...lines,
  '```',
  '',
  '## (a) Orchestration overhead per task',
  '',
  a
    ? `Raw JetStream: ${a.raw.n} round trips (publish awaiting the stream's ack, pull, ack awaiting confirmation): mean ${f(a.raw.rttMeanMs)} ms, p50 ${f(a.raw.rttP50Ms)}, p95 ${f(a.raw.rttP95Ms)}; ${a.raw.batch} messages published then consumed: ${f(a.raw.batchPerMsgMs, 3)} ms each. Cluster: a no-op op through a job script, ${a.cluster.n} × ctx.run one after another: ${f(a.cluster.runPerTaskMs)} ms per task; one ctx.map of ${a.cluster.batch}: ${f(a.cluster.mapPerTaskMs, 3)} ms per task.${img('overhead')}`
    : 'Not measured in this run.',
  '',
  '## (b) V2 makespan vs lower bound',
  '',
  b
    ? `${b.papers} papers (kv_cache), blocks 0, every simulated call ${b.latencyMs} ms, ${b.replicas} replicas × ${b.slots} slots. Calibration with unlimited slots took ${f(b.calibrationMs / 1000, 1)} s; its critical path is ${b.criticalPathCalls} rounds of calls. Lower bound max(${b.criticalPathCalls} × ${b.latencyMs} ms, ${b.calls} × ${b.latencyMs} ms / ${b.replicas * b.slots}) = ${f(b.lowerBoundMs / 1000, 1)} s; makespan ${f(b.makespanMs / 1000, 1)} s; ratio ${f(b.ratio)}. The stages are barriers: Σ over stages of max(the stage's critical path, ⌈stage calls / slots⌉) × L = ${f(b.stageBoundMs / 1000, 1)} s, ratio ${f(b.stageRatio)}. Slot use ${f(100 * b.slotUtilisation, 0)}%.${img('makespan')}`
    : 'Not measured in this run.',
  '',
  '## (c) Throughput',
  '',
  c && c.points.length
    ? ['| processes | in flight each | in flight | tasks | tasks/s | ideal | efficiency | mapper CPU ms/task | client+sim CPU ms/task |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...c.points.map((x) => `| ${x.processes} | ${x.perProcess} | ${x.inFlight} | ${x.tasks} | ${f(x.tasksPerSec, 1)} | ${f(x.idealPerSec, 1)} | ${f(100 * x.efficiency, 0)}% | ${f(x.workerCpuMsPerTask, 1)} | ${f(x.benchCpuMsPerTask, 1)} |`)].join('\n') + img('throughput')
    : 'Not measured in this run.',
  '',
  '## (g) V2 against its chain of dependent calls',
  '',
  g
    ? [`${g.papers} papers, blocks ${g.blocks}, every call ${g.latencyMs} ms (flat), model cache off. Chain = (M(2L) − M(L)) / L on unlimited slots: ${g.chain} calls; on ${g.slots} slots: ${g.chainAtSlots}.`, '',
      '| L (ms) | slots | makespan (s) | calls | no call at the model (s) | by stage (gaps, ms) |', '|---:|---:|---:|---:|---:|---|',
      ...g.runs.map((r) => `| ${r.latencyMs} | ${r.slots} | ${f(r.makespanMs / 1000, 1)} | ${r.calls} | ${f(r.deadMs / 1000, 1)} | ${Object.entries(r.deadByStage).map(([k, v]) => `${k} ${v.gaps}/${v.ms}`).join(', ')} |`)].join('\n')
    : 'Not measured in this run.',
  '',
  '## (d) Coordinator memory',
  '',
  d
    ? `${d.papers} papers (${f(d.inputMB, 1)} MB of input JSON), blocks ${d.blocks}, offline engine, ${d.tasks} tasks in ${f(d.wallMs / 1000, 1)} s. Coordinator process: idle RSS ${f(d.idleRssMB, 0)} MB, VmHWM before the job ${f(d.hwmBeforeMB, 0)} MB, after ${f(d.peakRssMB, 0)} MB (largest sampled RSS ${f(d.maxSampledRssMB, 0)} MB).${img('memory')}`
    : 'Not measured in this run.',
  '',
].join('\n');
const report = join(OUT, `${date}.md`);
writeFileSync(report, md);
say(`wrote ${report}${Object.keys(charts).length ? ` and ${Object.keys(charts).length} SVG chart(s)` : ''}`);
process.exit(0);

/**
 * `npm run conformance`: the model path against replies as imperfect as small local models
 * give. The fleet simulator answers from the prompt, a stated share of its replies is sloppy
 * (prose around JSON, cut off, unknown ids, one-section outlines, loops, another language…),
 * and a share of calls fail outright (5xx, hangs, garbled bodies). Every job runs through the
 * real cluster on the `openai` engine: V1 with every profile (qa_zh included), V2 with `--blocks 0` and
 * `--blocks 1` and model grouping, over several seeds. Prints jobs run / failed, and repairs
 * and fallbacks per op; exits 1 when a job failed or a survey falls short.
 *
 *   npm run conformance -- [--seeds 5] [--sloppy-rate 0.3] [--fault-rate 0.1] [--papers 67]
 *                          [--topic FILE] [--servers both|structured|plain] [--only v1|v2] [--blocks 0,1]
 *
 * `--servers both` (the default) runs every job twice: against a server with structured output
 * (guided decoding: only schema-valid corruptions get through) and one without (the schema is in
 * the prompt, and every kind of corruption reaches the parser).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFleetSim } from '../shared/sim/fleet.ts';
import { createRng } from '../shared/algo/rng.ts';
import { makeHaystack } from '../shared/algo/haystack.ts';
import { startRole, type RoleHandle } from '../services/role.ts';
import { submitJob, waitForJob, fetchResult } from '../shared/client/client.ts';
import { contentKey, newJobId } from '../shared/protocol/ids.ts';
import type { JobSpecInput, V1Profile } from '../shared/protocol/schemas.ts';
import { DATA, ROOT, openBus, perfEnv, say } from './perf-common.ts';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    'sloppy-rate': { type: 'string', default: '0.3' },
    'fault-rate': { type: 'string', default: '0.1' },
    papers: { type: 'string', default: '67' },
    topic: { type: 'string', default: join(DATA, 'v2', 'long_context_llm.jsonl') },
    servers: { type: 'string', default: 'both' },
    only: { type: 'string' },
    'latency-ms': { type: 'string', default: '5' },
    blocks: { type: 'string' },
  },
});
const SEEDS = Number(a.seeds);
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** One V1 question per profile, on real text (our own sources for `code`, a haystack for retrieval). */
function v1Cases(seed: number): { profile: V1Profile; doc: string; question: string }[] {
  const leval = (file: string) => JSON.parse(readFileSync(join(DATA, 'v1', 'leval', file), 'utf8').split('\n')[0]);
  const contract = leval('legal_contract_qa.jsonl');
  const report = leval('gov_report_summ.jsonl');
  const novel = readFileSync(join(DATA, 'text', 'austen_persuasion.txt'), 'utf8').slice(0, 60_000);
  const code = ['shared/algo/assemble.ts', 'shared/algo/grouping.ts', 'shared/algo/rng.ts', 'shared/protocol/ids.ts'].map((f) => `// file: ${f}\n${readFileSync(join(ROOT, f), 'utf8')}`).join('\n\n');
  const numbers = Array.from({ length: 4000 }, (_, i) => ((i * 7919 + seed * 104729) % 99991) + 7).join(', ');
  const hay = makeHaystack('passkey', 16_000, createRng(seed));
  return [
    { profile: 'qa', doc: contract.input, question: contract.instructions[0] },
    { profile: 'sum', doc: report.input, question: 'Summarise the report.' },
    { profile: 'mc', doc: novel, question: 'Which baronet is Anne Elliot\'s father?\nA. Sir Walter Elliot\nB. Sir Thomas Bertram\nC. Sir John Middleton\nD. Sir William Lucas' },
    { profile: 'code', doc: code, question: 'Which function turns a survey title into a file-name-safe slug, and what does it return for an empty title?' },
    { profile: 'math', doc: `The measurements, in order: ${numbers}.`, question: 'What is the largest number in the list?' },
    { profile: 'retrieval', doc: hay.context, question: 'What is the pass key?' },
    { profile: 'qa_zh', doc: ZH_DOC.repeat(6), question: '石桥是哪一年建成的？' },
  ];
}

/** A short Chinese text written for this benchmark (facts stated once per paragraph). */
const ZH_DOC = [
  '河谷小镇位于两座山之间，一条小河从镇中心流过。',
  '镇上最古老的建筑是一座石桥，石桥建成于一七八二年，由当地的石匠用青石砌成。',
  '每年秋天，镇上会举办丰收节，居民把新收的稻米和柿子摆在桥头出售。',
  '一九五六年，镇上建起了第一所中学，学校在河的东岸，现在有六百多名学生。',
  '小镇的主要产业是茶叶，山坡上的茶园每年春天采摘两次。',
  '近年来，越来越多的游客来到这里，他们最喜欢在傍晚的时候站在石桥上看日落。',
].join('\n');

function topic(papers: number): Record<string, unknown> {
  const rec = JSON.parse(readFileSync(a.topic!, 'utf8').split('\n').find((l) => l.trim())!);
  return { ...rec, papers: rec.papers.slice(0, papers) };
}

interface Outcome {
  kind: string;
  seed: number;
  ok: boolean;
  why?: string;
  byOp: Record<string, { repairs?: number; fallbacks?: number; calls?: number }>;
  detail?: string;
}

async function main() {
  const kinds = a.servers === 'both' ? [true, false] : [a.servers !== 'plain'];
  const all: Outcome[] = [];
  const sims: ReturnType<typeof sumStats>[] = [];
  for (const structured of kinds) {
    const r = await runKind(structured);
    all.push(...r.outcomes);
    sims.push(r.stats);
  }
  report(all, sims);
  process.exitCode = all.every((o) => o.ok) ? 0 : 1;
}

function sumStats(s: { requests: number; faults: Record<string, number>; sloppy?: Record<string, number> }, structured: boolean) {
  return { structured, requests: s.requests, faults: s.faults, sloppy: s.sloppy ?? {} };
}

async function runKind(structured: boolean): Promise<{ outcomes: Outcome[]; stats: ReturnType<typeof sumStats> }> {
  const server = structured ? 'structured' : 'plain';
  const sim = await startFleetSim({
    port: 0, replicas: 1, slots: 64, model: 'conformance-sim', baseLatencyMs: Number(a['latency-ms']), prefillTokensPerSec: 0, decodeTokensPerSec: 0, jitter: 0,
    faultRate: Number(a['fault-rate']), faults: { http5xx: 1, timeout: 0.3, malformed: 1, slow: 0 }, hangMs: 2_000, seed: 1,
    quality: 'sloppy', sloppyRate: Number(a['sloppy-rate']), structuredOutput: structured,
  } as Parameters<typeof startFleetSim>[0]);
  const env = perfEnv(natsUrl, `conf${Date.now().toString(36)}`, { OPENAI_BASE_URL: sim.url, LLM_MODEL: 'conformance-sim', LLM_TIMEOUT_MS: '10000', LLM_MAX_RETRIES: '4', MR_ACK_WAIT_MS: '20000', LOG_LEVEL: 'error' });
  const { nc, bus } = await openBus(env);
  const roles: RoleHandle[] = [];
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) roles.push(await startRole(r, { env }));
  say(`${server} server at ${sim.url}: sloppy ${a['sloppy-rate']}, faults ${a['fault-rate']}, structured output ${structured}; ${SEEDS} seed(s)`);
  const outcomes: Outcome[] = [];
  const run = async (kind: string, seed: number, spec: Omit<JobSpecInput, 'jobId'>, judge: (r: any) => string | undefined) => {
    const jobId = newJobId('conf');
    await submitJob(bus, { ...spec, jobId } as JobSpecInput);
    const st = await waitForJob(bus, jobId, { signal: AbortSignal.timeout(15 * 60_000) });
    const r = st.resultKey ? ((await fetchResult(bus, st).catch(() => null)) as any) : null;
    const why = st.state !== 'succeeded' ? `${st.state}: ${st.error}` : judge(r);
    outcomes.push({ kind: `${server} ${kind}`, seed, ok: !why, why, byOp: r?.usage?.byOp ?? {}, detail: r?.record?.counts ? `${(r.record.outline?.children ?? []).length} top-level / ${r.record.counts.sections} sections, ${r.record.counts.cited}/${r.record.counts.papers} cited, ${r.record.counts.words} words` : undefined });
    say(`${server} ${kind} seed ${seed}: ${why ? `FAILED (${why})` : 'ok'}${outcomes.at(-1)!.detail ? ` — ${outcomes.at(-1)!.detail}` : ''}`);
  };
  for (let seed = 1; seed <= SEEDS; seed++) {
    if (a.only !== 'v2')
      for (const c of v1Cases(seed)) {
        const docKey = contentKey('docs', c.doc, 'txt');
        await bus.putBlob(docKey, c.doc);
        await run(`v1 ${c.profile}`, seed, { pipeline: 'v1', engine: 'openai', seed, params: { docKey, question: c.question, profile: c.profile, window: 4000 } }, (r) =>
          typeof r?.answer === 'string' && r.answer.trim() ? undefined : 'empty answer',
        );
      }
    if (a.only !== 'v1') {
      const body = JSON.stringify(topic(Number(a.papers)));
      const inputKey = contentKey('inputs', body, 'json');
      await bus.putBlob(inputKey, body);
      for (const blocks of a.blocks ? a.blocks.split(',').map(Number) : [0, 1]) {
        await run(`v2 blocks ${blocks}`, seed, { pipeline: 'v2', engine: 'openai', seed, params: { inputKey, blocks, groupMode: 'llm' } }, (r) => {
          const c = r?.record?.counts;
          const top = (r?.record?.outline?.children ?? []).length;
          if (!c) return 'no record';
          if (top < 3) return `${top} top-level sections (want ≥ 3)`;
          if (c.cited < 0.9 * c.papers) return `${c.cited}/${c.papers} papers cited (want ≥ 90%)`;
          return undefined;
        });
      }
    }
  }
  const stats = sumStats(sim.stats() as never, structured);
  for (const r of roles.reverse()) await r.stop().catch(() => undefined);
  await nc.close();
  await sim.close();
  return { outcomes, stats };
}

/** Jobs run / failed, what the simulators did, and repairs and fallbacks per op over every job. */
function report(outcomes: Outcome[], sims: ReturnType<typeof sumStats>[]): void {
  const ops = new Map<string, { calls: number; repairs: number; fallbacks: number }>();
  for (const o of outcomes)
    for (const [op, u] of Object.entries(o.byOp)) {
      const t = ops.get(op) ?? { calls: 0, repairs: 0, fallbacks: 0 };
      t.calls += u.calls ?? 0;
      t.repairs += u.repairs ?? 0;
      t.fallbacks += u.fallbacks ?? 0;
      ops.set(op, t);
    }
  const lines = [
    '',
    `jobs run ${outcomes.length}, jobs failed ${outcomes.filter((o) => !o.ok).length}`,
    ...sims.map((s) => `${s.structured ? 'structured' : 'plain'} server: ${s.requests} requests, faults ${JSON.stringify(s.faults)}, sloppy replies ${JSON.stringify(s.sloppy)}`),
    '',
    `${'op'.padEnd(22)} ${'calls'.padStart(7)} ${'repairs'.padStart(8)} ${'fallbacks'.padStart(10)}`,
    ...[...ops].sort(([x], [y]) => x.localeCompare(y)).map(([op, t]) => `${op.padEnd(22)} ${String(t.calls).padStart(7)} ${String(t.repairs).padStart(8)} ${String(t.fallbacks).padStart(10)}`),
    ...outcomes.filter((o) => !o.ok).map((o) => `FAILED ${o.kind} seed ${o.seed}: ${o.why}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`conformance: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});

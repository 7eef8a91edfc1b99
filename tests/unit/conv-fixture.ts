/**
 * Test material for the convolution tests: a small synthetic survey (12 papers on three
 * subjects, an outline, digests) and a real, in-process JobContext that runs the ops' offline
 * implementations — it validates inputs and outputs with the ops' schemas, derives task ids
 * like the coordinator, memoizes results by id in a store that can outlive one context (so a
 * second context can resume a crashed run), and records the order of task starts and ends.
 */
import pino from 'pino';
import type { JobContext } from '../../shared/jobs/types.ts';
import { TaskFailedError } from '../../shared/jobs/types.ts';
import type { OpDef } from '../../shared/ops/op.ts';
import type { OutlineNode } from '../../shared/algo/outline.ts';
import type { DigestLike } from '../../shared/algo/entropy.ts';
import { taskId } from '../../shared/protocol/ids.ts';
import { createRng } from '../../shared/algo/rng.ts';

const SUBJECTS: Record<string, string[]> = {
  quantization: [
    'Quantization of the key value cache to four bits cuts cache memory by three quarters. Per-channel quantization of keys handles outlier channels. Perplexity rises by less than one percent.',
    'Key quantization per channel and value quantization per token keep accuracy at two bits. Outlier channels in keys dominate quantization error. Group-wise scales reduce the error further.',
    'Mixed precision quantization keeps salient tokens at eight bits and quantizes the remaining cache to two bits. Salient tokens are chosen by attention. Accuracy matches full precision on long context tasks.',
    'Residual vector quantization compresses the key value cache with learned codebooks. Codebook quantization beats scalar quantization at the same bit width. Decoding throughput improves.',
  ],
  eviction: [
    'Token eviction drops cache entries with low accumulated attention scores. Heavy hitter tokens receive most attention and are kept. Eviction bounds cache memory during generation.',
    'Attention sinks at the start of a sequence must never be evicted. Keeping sink tokens plus a recent window enables streaming generation. Eviction of middle tokens loses little accuracy.',
    'Adaptive eviction budgets per layer give layers with dispersed attention more cache. Eviction scores use attention from an observation window. Budgets are allocated by attention entropy.',
    'Eviction guided by value norms complements attention scores. Tokens with small values contribute little and are evicted first. The eviction policy is training free.',
  ],
  offloading: [
    'Offloading the key value cache to host memory over PCIe lets long sequences fit on one GPU. Prefetching cache blocks hides transfer latency. Offloading throughput depends on PCIe bandwidth.',
    'Paged memory management stores cache blocks in fixed pages. Paging removes fragmentation in serving systems. Block tables map logical cache blocks to physical pages.',
    'Disaggregated serving moves the cache between prefill machines and decode machines over the network. Cache transfer is pipelined with prefill. Network bandwidth bounds transfer time.',
    'Offloading cold cache blocks to SSD storage extends capacity for multi turn serving. Hot blocks stay in GPU memory. A block manager decides placement by reuse distance.',
  ],
};

export const PAPERS = Object.values(SUBJECTS)
  .flat()
  .map((text, i) => ({ id: `P${String(i + 1).padStart(3, '0')}`, text }));

const leaf = (id: string, title: string, construction: string, analysis: string): OutlineNode => ({ id, title, construction, analysis, children: [] });

export const TITLE = 'Key Value Cache Compression for Language Model Inference';

/** Three chapters, one of which fits every paper loosely; the others fit none. */
export const OUTLINE: OutlineNode = {
  id: 'S0',
  title: TITLE,
  construction: '',
  analysis: '',
  children: [
    leaf('S1', 'Cache Memory Reduction', 'From each paper, note how it reduces cache memory and what it costs in accuracy.', 'Compare the methods on memory saved and accuracy kept.'),
    leaf('S2', 'Hardware Accelerator Design', 'From each paper, note the accelerator architecture and its area.', 'Compare accelerator designs on area and power.'),
    leaf('S3', 'Benchmark Datasets', 'From each paper, note the evaluation datasets and metrics.', 'Compare the datasets on coverage of tasks.'),
  ],
};

/** Every paper filed under S1 only: a deliberately unbalanced starting point. */
export const DIGESTS_UNBALANCED: DigestLike[] = PAPERS.map((p) => ({ paperId: p.id, sections: { S1: `${p.text} [@${p.id}]` }, suggestion: '' }));

/** An outline with one leaf per subject and the digests filed accordingly. */
export const OUTLINE_SPREAD: OutlineNode = {
  id: 'S0',
  title: TITLE,
  construction: '',
  analysis: '',
  children: [
    leaf('S1', 'Quantization of the Cache', 'From each paper, note the bit width, the quantization grouping and the accuracy.', 'Compare [@P001; @P002; @P003; @P004] on bits and error.'),
    leaf('S2', 'Token Eviction', 'From each paper, note the eviction score and the budget.', 'Compare [@P005; @P006; @P007; @P008] on which tokens they keep.'),
    leaf('S3', 'Offloading and Paging', 'From each paper, note where cache blocks live and how they move.', 'Compare [@P009; @P010; @P011; @P012] on bandwidth and capacity.'),
  ],
};
export const DIGESTS_SPREAD: DigestLike[] = PAPERS.map((p, i) => ({ paperId: p.id, sections: { [`S${Math.floor(i / 4) + 1}`]: `${p.text} [@${p.id}]` }, suggestion: '' }));

/** Digest groups of three, mixing subjects as random grouping would. */
export const GROUPS: string[][] = [0, 1, 2, 3].map((g) => PAPERS.filter((_, i) => i % 4 === g).map((p) => p.id));

export interface TestCluster {
  /** Results by task id; share it between contexts to resume a crashed run. */
  store: Map<string, unknown>;
  blobs: Map<string, string>;
}

export interface TestContextOptions {
  seed?: number;
  cluster?: TestCluster;
  /** Milliseconds an op takes (default 0). */
  delay?: (op: string, input: any) => number;
  /** Make a task fail terminally. */
  fail?: (op: string, input: any) => boolean;
  /** Simulate a coordinator crash when this many tasks have been executed by this context. */
  crashAfter?: number;
}

export function newCluster(): TestCluster {
  return { store: new Map(), blobs: new Map() };
}

/** A JobContext that executes ops in-process with their offline implementations. */
export function testContext(opts: TestContextOptions = {}) {
  const cluster = opts.cluster ?? newCluster();
  const inflight = new Map<string, Promise<unknown>>();
  const order: string[] = [];
  const events: { type: string; stage?: string; message?: string; data?: Record<string, any> }[] = [];
  const executed: Record<string, number> = {};
  const executedIds: string[] = [];
  const abort = new AbortController();
  const env = {
    async blobText(k: string) {
      const t = cluster.blobs.get(k);
      if (t === undefined) throw new Error(`no blob ${k}`);
      return t;
    },
    signal: abort.signal,
  };
  const run = async <I, O>(op: OpDef<I, O>, input: I): Promise<O> => {
    if (abort.signal.aborted) throw new Error('the coordinator is gone');
    op.input.parse(input);
    const id = taskId('job-conv-test', op.name, input);
    if (cluster.store.has(id)) return cluster.store.get(id) as O;
    if (!inflight.has(id))
      inflight.set(
        id,
        (async () => {
          if (opts.crashAfter !== undefined && executedIds.length >= opts.crashAfter) {
            abort.abort();
            throw new Error('the coordinator crashed');
          }
          executedIds.push(id);
          executed[op.name] = (executed[op.name] ?? 0) + 1;
          const slot = (input as { slot?: string }).slot ?? '';
          order.push(`start ${op.name} ${slot}`);
          const ms = opts.delay?.(op.name, input) ?? 0;
          if (ms) await new Promise((r) => setTimeout(r, ms));
          if (opts.fail?.(op.name, input)) {
            order.push(`fail ${op.name} ${slot}`);
            throw new TaskFailedError(op.name, id, 'failed on purpose');
          }
          const out = op.output.parse(await op.extractive(op.input.parse(input), env));
          cluster.store.set(id, out);
          order.push(`done ${op.name} ${slot}`);
          return out;
        })(),
      );
    return inflight.get(id) as Promise<O>;
  };
  const ctx: JobContext = {
    jobId: 'job-conv-test',
    spec: { v: 1, jobId: 'job-conv-test', pipeline: 'v2', engine: 'extractive', params: { inputKey: 'none', blocks: 1, groupSize: 3, groupMode: 'random' } } as JobContext['spec'],
    rng: createRng(opts.seed ?? 1),
    log: pino({ level: 'silent' }),
    signal: abort.signal,
    run,
    map: (op, inputs) => Promise.all(inputs.map((i) => run(op, i))),
    runSettled: (op, input) =>
      run(op, input).then(
        (value) => ({ ok: true as const, value }),
        (e: Error) => ({ ok: false as const, error: e.message, taskId: (e as TaskFailedError).taskId ?? '' }),
      ),
    async mapSettled(op, inputs) {
      return Promise.all(
        inputs.map((i) =>
          run(op, i).then(
            (value) => ({ ok: true as const, value }),
            (e: Error) => ({ ok: false as const, error: e.message, taskId: (e as TaskFailedError).taskId ?? '' }),
          ),
        ),
      );
    },
    emit: (e) => void events.push(e),
    blobText: env.blobText,
    async putBlob(k, d) {
      cluster.blobs.set(k, typeof d === 'string' ? d : new TextDecoder().decode(d));
    },
    usage: () => ({ calls: 0, promptTokens: 0, completionTokens: 0, cachedCalls: 0, tasks: executedIds.length }),
  };
  return { ctx, order, events, executed, executedIds, cluster, env };
}

/**
 * Prometheus metrics of the fleet simulator under vLLM's own metric names, so that dashboards,
 * autoscalers and the endpoint pool read the simulator exactly like a vLLM server. Each
 * simulator has its own registry (several may run in one process).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface SimGaugeSource {
  running(): number;
  waiting(): number;
  totalSlots(): number;
}

export interface SimMetrics {
  registry: Registry;
  success(finishedReason: 'stop' | 'length', promptTokens: number, generationTokens: number, e2eSeconds: number, queueSeconds: number): void;
  rejected(): void;
  fault(kind: string): void;
  corruption(kind: string): void;
  text(): Promise<string>;
}

export function createSimMetrics(model: string, src: SimGaugeSource): SimMetrics {
  const registry = new Registry();
  const labels = { model_name: model };
  const success = new Counter({
    name: 'vllm:request_success_total',
    help: 'Requests that finished, by finish reason.',
    labelNames: ['model_name', 'finished_reason'],
    registers: [registry],
  });
  const promptTokens = new Counter({
    name: 'vllm:prompt_tokens_total',
    help: 'Prompt tokens processed (prefill).',
    labelNames: ['model_name'],
    registers: [registry],
  });
  const genTokens = new Counter({
    name: 'vllm:generation_tokens_total',
    help: 'Tokens generated (decode).',
    labelNames: ['model_name'],
    registers: [registry],
  });
  new Gauge({
    name: 'vllm:num_requests_running',
    help: 'Requests holding a slot right now.',
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      this.set(labels, src.running());
    },
  });
  new Gauge({
    name: 'vllm:num_requests_waiting',
    help: 'Requests queued for a slot right now.',
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      this.set(labels, src.waiting());
    },
  });
  new Gauge({
    name: 'vllm:gpu_cache_usage_perc',
    help: 'Share of slots in use (the simulator has no KV cache; slots stand in for it).',
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      const total = src.totalSlots();
      this.set(labels, total > 0 ? src.running() / total : 0);
    },
  });
  const buckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160];
  const e2e = new Histogram({
    name: 'vllm:e2e_request_latency_seconds',
    help: 'Time from arrival to the last token.',
    labelNames: ['model_name'],
    buckets,
    registers: [registry],
  });
  const queue = new Histogram({
    name: 'vllm:request_queue_time_seconds',
    help: 'Time spent waiting for a slot.',
    labelNames: ['model_name'],
    buckets,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'llmxmr_sim_rejected_total',
    help: 'Requests answered 429 because the queue was full.',
    labelNames: ['model_name'],
    registers: [registry],
  });
  const faults = new Counter({
    name: 'llmxmr_sim_faults_total',
    help: 'Injected faults by kind.',
    labelNames: ['model_name', 'kind'],
    registers: [registry],
  });
  const corruptions = new Counter({
    name: 'llmxmr_sim_corrupted_replies_total',
    help: 'Replies the sloppy mode corrupted, by kind.',
    labelNames: ['model_name', 'kind'],
    registers: [registry],
  });
  // Counters appear from the start (at zero), as on a fresh vLLM server.
  success.inc({ ...labels, finished_reason: 'stop' }, 0);
  promptTokens.inc(labels, 0);
  genTokens.inc(labels, 0);
  rejected.inc(labels, 0);

  return {
    registry,
    success(reason, p, g, e2eSeconds, queueSeconds) {
      success.inc({ ...labels, finished_reason: reason });
      promptTokens.inc(labels, p);
      genTokens.inc(labels, g);
      e2e.observe(labels, e2eSeconds);
      queue.observe(labels, queueSeconds);
    },
    rejected: () => rejected.inc(labels),
    fault: (kind) => faults.inc({ ...labels, kind }),
    corruption: (kind) => corruptions.inc({ ...labels, kind }),
    text: () => registry.metrics(),
  };
}

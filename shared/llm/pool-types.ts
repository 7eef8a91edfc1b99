/** Types of the endpoint pool (pool.ts). */

export type Outcome =
  /** `key` groups requests of one kind (the op) for the latency baseline. */
  | { kind: 'ok'; latencyMs: number; key?: string }
  /** 429 or 503: the endpoint is alive but full. */
  | { kind: 'overload' }
  /** Other 5xx, timeouts. */
  | { kind: 'error' }
  /** Connection refused or reset: nothing answers there. */
  | { kind: 'down' }
  /** Says nothing about the endpoint (4xx, cancelled, garbled body). */
  | { kind: 'neutral' };

export interface PoolTuning {
  /** Cap of a fresh endpoint (default min(32, maxInFlight)): model servers queue, so start wide and let pushback cut. */
  initialInFlight?: number;
  /** Consecutive failures (error/down) that take an endpoint out (default 3). */
  failuresToEject?: number;
  /** First probe delay after ejection (default 1000 ms), doubled up to probeMaxMs (default 15 s). */
  probeMs?: number;
  probeMaxMs?: number;
  /** Scrape vLLM /metrics every so often (0: never; default 1000 ms when the model asks for it). */
  metricsIntervalMs?: number;
  /** Latency EWMA above tolerance × baseline (per op) counts as congestion (0: off; default 2.5). */
  latencyTolerance?: number;
  /** Re-resolve `discovery: dns` endpoints this often (default 30 s). */
  discoveryMs?: number;
}

export interface PoolEndpoint {
  url: string;
  maxInFlight: number;
  initialInFlight?: number;
  discovery?: 'none' | 'dns';
}

export interface EndpointSnapshot {
  url: string;
  healthy: boolean;
  inFlight: number;
  cap: number;
  served: number;
  failures: number;
  ejections: number;
  serverWaiting: number;
  latencyMs: number;
}

export interface Lease {
  url: string;
  release(outcome: Outcome): void;
}

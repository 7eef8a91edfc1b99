/**
 * The endpoint pool of one model: several OpenAI-compatible base URLs (pods of a vLLM fleet,
 * gateways), each with an in-flight cap that adapts at run time.
 *
 * * Routing: least outstanding requests relative to the cap (plus the server's own queue when
 *   its /metrics are read), so load spreads in proportion to the room each endpoint has.
 * * Cap (AIMD): grows while the cap is what limits us and nothing signals congestion (by one per
 *   success until the first congestion, then by about one per round trip); shrinks on 429/503
 *   (halved), other 5xx and timeouts (×0.7), and latency growth over the endpoint's baseline
 *   for the same op (when metrics are not read). A decrease applies at most once per round
 *   trip: only requests sent after the last decrease count.
 * * With the server's metrics read (vllm:num_requests_waiting, num_requests_running), each
 *   reading sets the cap as pool-reading.ts describes: our share of a busy server's slots, never
 *   past the room its slots leave us beside other clients, half of its idle slots at once.
 * * Health: an endpoint with consecutive failures is taken out while another one is up, and
 *   probed back in (GET /health, else /v1/models) with growing intervals.
 * Callers wait in FIFO order when every usable endpoint is at its cap.
 */
import type { Logger } from 'pino';
import { TransientError } from './engine.ts';
import { fetchVllmLoad, probeEndpoint, startDiscovery, type Discovery } from './pool-io.ts';
import { afterReading } from './pool-reading.ts';
import type { EndpointSnapshot, Lease, Outcome, PoolEndpoint, PoolTuning } from './pool-types.ts';

export type { EndpointSnapshot, Lease, Outcome, PoolEndpoint, PoolTuning } from './pool-types.ts';
import type { ModelRoute } from './routing.ts';

interface Ep {
  url: string;
  max: number;
  initial: number;
  cap: number;
  /** The cap when the server's metrics were last read (Infinity before any reading). */
  capAtReading: number;
  /** The server's slots, learned from a reading with requests waiting (it then runs all it can). */
  slots?: number;
  slotsAt: number;
  /** What the server's slots leave us beside other clients' calls (Infinity until slots are known). */
  room: number;
  inFlight: number;
  slowStart: boolean;
  lastDecrease: number;
  healthy: boolean;
  removed: boolean;
  consecutive: number;
  probeDelay: number;
  probeTimer?: NodeJS.Timeout;
  served: number;
  failures: number;
  ejections: number;
  waiting: number;
  running: number;
  ewma: number;
  /** Latency per kind of request (the op): smoothed, and its slowly forgotten minimum. */
  lat: Map<string, { ewma: number; base: number; n: number }>;
  /** The `discovery: dns` URL this address was found behind. */
  origin?: string;
}

interface Waiter {
  resolve(l: Lease): void;
  reject(e: Error): void;
  cleanup(): void;
}

export class EndpointPool {
  private eps: Ep[] = [];
  private waiters: Waiter[] = [];
  private rr = 0;
  private timers: NodeJS.Timeout[] = [];
  private discoveries: Discovery[] = [];
  private closed = false;
  private readonly t: Required<PoolTuning>;

  constructor(
    readonly model: string,
    endpoints: PoolEndpoint[],
    tuning: PoolTuning & { readMetrics?: boolean } = {},
    private readonly log?: Logger,
    private readonly fetchFn: typeof fetch = fetch,
  ) {
    this.t = {
      initialInFlight: 32, failuresToEject: 3, probeMs: 1000, probeMaxMs: 15_000, latencyTolerance: 2.5, discoveryMs: 30_000,
      ...tuning,
      metricsIntervalMs: tuning.readMetrics ? (tuning.metricsIntervalMs ?? 1000) : 0,
    };
    if (endpoints.length === 0) throw new Error(`model ${model} has no endpoints`);
    const fixed = endpoints.filter((e) => e.discovery !== 'dns');
    for (const e of fixed) this.add(e.url, e);
    for (const e of endpoints.filter((x) => x.discovery === 'dns')) {
      this.add(e.url, e); // used until the first resolution answers
      this.discoveries.push(startDiscovery(e.url, this.t.discoveryMs, (urls) => this.replace(e, urls), log));
    }
    if (this.t.metricsIntervalMs > 0) {
      const t = setInterval(() => void this.scrape(), this.t.metricsIntervalMs);
      t.unref();
      this.timers.push(t);
      void this.scrape();
    }
  }

  private add(url: string, spec: PoolEndpoint, origin?: string): void {
    if (this.eps.some((e) => e.url === url && !e.removed)) return;
    const max = spec.maxInFlight;
    const cap = Math.min(max, spec.initialInFlight ?? this.t.initialInFlight);
    this.eps.push({ url, origin, max, initial: cap, cap, capAtReading: Infinity, slotsAt: 0, room: Infinity, inFlight: 0, slowStart: true, lastDecrease: 0, healthy: true, removed: false, consecutive: 0, probeDelay: this.t.probeMs, served: 0, failures: 0, ejections: 0, waiting: 0, running: 0, ewma: 0, lat: new Map() });
  }

  /** Discovery found `urls` behind `template`: add new ones, retire vanished ones. */
  private replace(spec: PoolEndpoint, urls: string[]): void {
    const template = spec.url;
    if (urls.length === 0) return;
    const keep = new Set(urls);
    for (const e of this.eps) if ((e.url === template || e.origin === template) && !keep.has(e.url)) e.removed = true;
    for (const u of urls) {
      const existing = this.eps.find((e) => e.url === u);
      if (existing) existing.removed = false;
      else this.add(u, spec, template);
    }
    this.eps = this.eps.filter((e) => !e.removed || e.inFlight > 0);
    this.drain();
  }

  /** A lease on the endpoint with the most room; waits (FIFO) while all are at their caps. */
  acquire(signal?: AbortSignal, deadline = Number.POSITIVE_INFINITY): Promise<Lease> {
    if (this.closed) return Promise.reject(new TransientError(`the endpoint pool of ${this.model} is closed`));
    if (signal?.aborted) return Promise.reject(new TransientError('the task was cancelled while waiting for a model endpoint'));
    if (this.waiters.length === 0) {
      const l = this.tryLease();
      if (l) return Promise.resolve(l);
    }
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = () => (remove(), reject(new TransientError('the task was cancelled while waiting for a model endpoint')));
      const timer = Number.isFinite(deadline)
        ? setTimeout(() => (remove(), reject(new TransientError(`no endpoint of ${this.model} had room within the time budget`))), Math.max(0, deadline - Date.now()))
        : undefined;
      const w: Waiter = { resolve, reject, cleanup: () => (clearTimeout(timer), signal?.removeEventListener('abort', onAbort)) };
      const remove = () => {
        w.cleanup();
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  private tryLease(): Lease | undefined {
    const live = this.eps.filter((e) => !e.removed);
    let pool = live.filter((e) => e.healthy);
    if (pool.length === 0) pool = live; // everything is out: keep trying rather than stall
    let best: Ep | undefined;
    let bestScore = Infinity;
    const n = pool.length;
    for (let k = 0; k < n; k++) {
      const e = pool[(this.rr + k) % n];
      if (e.inFlight >= Math.max(1, Math.floor(e.cap))) continue;
      const score = (e.inFlight + e.waiting) / e.cap;
      if (score < bestScore) (best = e), (bestScore = score);
    }
    if (!best) return undefined;
    this.rr = (this.rr + 1) % Math.max(1, n);
    return this.lease(best);
  }

  private lease(e: Ep): Lease {
    e.inFlight++;
    const sentAt = Date.now();
    let done = false;
    return {
      url: e.url,
      release: (outcome) => {
        if (done) return;
        done = true;
        e.inFlight--;
        this.settle(e, outcome, sentAt);
        this.drain();
      },
    };
  }

  private drain(): void {
    while (this.waiters.length > 0) {
      const l = this.tryLease();
      if (!l) return;
      const w = this.waiters.shift()!;
      w.cleanup();
      w.resolve(l);
    }
  }

  private decrease(e: Ep, factor: number, sentAt: number, why: string): void {
    if (sentAt < e.lastDecrease) return; // this round trip was already answered with a decrease
    const before = e.cap;
    e.cap = Math.max(1, e.cap * factor);
    e.lastDecrease = Date.now();
    e.slowStart = false;
    if (Math.floor(before) !== Math.floor(e.cap)) this.log?.debug({ endpoint: e.url, cap: Math.floor(e.cap), why }, 'endpoint cap lowered');
  }

  private settle(e: Ep, o: Outcome, sentAt: number): void {
    if (o.kind === 'neutral') return;
    if (o.kind === 'ok') {
      e.served++;
      e.consecutive = 0;
      e.probeDelay = this.t.probeMs;
      const ms = Math.max(1, o.latencyMs);
      e.ewma = e.served === 1 ? ms : 0.8 * e.ewma + 0.2 * ms;
      // Like is compared with like: each kind of request (op) has its own baseline.
      const key = o.key ?? '';
      const l = e.lat.get(key) ?? { ewma: ms, base: ms, n: 0 };
      l.n++;
      l.ewma = 0.8 * l.ewma + 0.2 * ms;
      l.base = Math.min(ms, l.base * 1.002); // slowly forgets an old minimum
      e.lat.set(key, l);
      // Latency is a proxy for queueing only when the server's own queue length is not read.
      const tol = this.t.metricsIntervalMs > 0 ? 0 : this.t.latencyTolerance;
      if (tol > 0 && l.n >= 8 && l.ewma > tol * l.base) {
        this.decrease(e, Math.max(0.5, Math.min(0.9, (tol * l.base) / l.ewma)), sentAt, 'latency grew');
        return;
      }
      const binding = e.inFlight + 1 >= Math.floor(e.cap) || this.waiters.length > 0;
      // With the server's queue in view, slow start at most doubles the cap between two readings.
      // Once the server's slots are known, never past what they leave us: a request waiting on
      // one server cannot move to another that frees a slot.
      const ceiling = this.t.metricsIntervalMs > 0 ? Math.min(e.max, 2 * e.capAtReading, e.room) : e.max;
      if (binding && e.waiting === 0) e.cap = Math.min(Math.max(e.cap, ceiling), e.cap + (e.slowStart ? 1 : 1 / e.cap), e.max);
      return;
    }
    e.failures++;
    if (o.kind === 'overload') return this.decrease(e, 0.5, sentAt, 'server busy (429/503)');
    this.decrease(e, 0.7, sentAt, o.kind === 'down' ? 'connection failed' : 'server error or timeout');
    e.consecutive++;
    const othersUp = this.eps.some((x) => x !== e && x.healthy && !x.removed);
    if (e.healthy && e.consecutive >= this.t.failuresToEject && othersUp) this.eject(e);
  }

  private eject(e: Ep): void {
    e.healthy = false;
    e.ejections++;
    this.log?.warn({ endpoint: e.url, failures: e.consecutive }, 'endpoint taken out of rotation; probing it');
    this.scheduleProbe(e);
  }

  private scheduleProbe(e: Ep): void {
    if (this.closed || e.removed) return;
    e.probeTimer = setTimeout(async () => {
      const ok = await probeEndpoint(e.url, this.fetchFn);
      if (this.closed) return;
      if (ok) {
        e.healthy = true;
        e.consecutive = 0;
        e.cap = Math.max(1, Math.min(e.cap, e.initial));
        e.slowStart = true;
        e.probeDelay = this.t.probeMs;
        this.log?.info({ endpoint: e.url }, 'endpoint answers again; back in rotation');
        this.drain();
      } else {
        e.probeDelay = Math.min(this.t.probeMaxMs, e.probeDelay * 2);
        this.scheduleProbe(e);
      }
    }, e.probeDelay);
    e.probeTimer.unref();
  }

  private async scrape(): Promise<void> {
    await Promise.all(
      this.eps.filter((e) => e.healthy && !e.removed).map(async (e) => {
        const load = await fetchVllmLoad(e.url, this.fetchFn);
        if (!load) return; // metrics are optional steering; call outcomes still drive the cap
        e.waiting = load.waiting;
        e.running = load.running;
        e.capAtReading = e.cap;
        const before = Math.floor(e.cap);
        Object.assign(e, afterReading(e, load, Date.now(), this.waiters.length > 0));
        if (Math.floor(e.cap) !== before) this.log?.debug({ endpoint: e.url, cap: Math.floor(e.cap), running: load.running, waiting: load.waiting }, 'endpoint cap set from the server metrics');
      }),
    );
    this.drain();
  }

  /** Callers waiting for an endpoint with room. */
  waitingCalls(): number {
    return this.waiters.length;
  }

  snapshot(): EndpointSnapshot[] {
    return this.eps.map((e) => ({
      url: e.url, healthy: e.healthy, inFlight: e.inFlight, cap: Math.floor(e.cap), served: e.served, failures: e.failures,
      ejections: e.ejections, serverWaiting: e.waiting, latencyMs: Math.round(e.ewma),
    }));
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const e of this.eps) clearTimeout(e.probeTimer);
    for (const d of this.discoveries) d.stop();
    for (const w of this.waiters.splice(0)) w.cleanup(), w.reject(new TransientError(`the endpoint pool of ${this.model} is closed`));
  }
}

/** Endpoint pools by model and endpoint list, so engines of one process share what they learn. */
export class PoolRegistry {
  private readonly pools = new Map<string, EndpointPool>();
  get(m: ModelRoute, tuning: PoolTuning = {}, log?: Logger): EndpointPool {
    const key = JSON.stringify([m.name, m.endpoints, m.metrics, tuning]);
    let p = this.pools.get(key);
    if (!p) this.pools.set(key, (p = new EndpointPool(m.name, m.endpoints, { ...tuning, readMetrics: m.metrics }, log)));
    return p;
  }
  /** Calls waiting for an endpoint with room, summed per model. */
  waitingCalls(): Map<string, number> {
    const out = new Map<string, number>();
    for (const p of this.pools.values()) out.set(p.model, (out.get(p.model) ?? 0) + p.waitingCalls());
    return out;
  }
  closeAll(): void {
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
  }
}

/**
 * The fetch tool's HTTP: bounded concurrency per host (per worker process), a timeout per
 * attempt, retries of 429/5xx/timeouts with backoff (Retry-After honoured, capped), redirects
 * followed by hand (loops and too many refused), robots.txt respected (cached per origin),
 * a size cap enforced while streaming, private addresses refused unless allowed.
 * Every failure is a reason string, never an exception the task would die of.
 */
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { parseRobots, robotsAllow, type RobotRules } from './robots.ts';
import type { SourcesEnv } from './config.ts';

export interface Fetched {
  ok: true;
  url: string;
  status: number;
  contentType: string;
  bytes: Uint8Array;
}
export type FetchResult = Fetched | { ok: false; url: string; reason: string; status?: number };

export interface FetchOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Skip robots.txt (APIs called by their documented endpoints). */
  api?: boolean;
  maxBytes?: number;
}

class Semaphore {
  private active = 0;
  private waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async take(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    return () => {
      this.active--;
      this.waiting.shift()?.();
    };
  }
}

const hosts = new Map<string, Semaphore>();
const robots = new Map<string, Promise<RobotRules | null>>();

/** Loopback, private, link-local and unspecified addresses (literal hosts only). */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal')) return true;
  if (isIP(h) === 4) {
    const [a, b] = h.split('.').map(Number);
    return a === 127 || a === 10 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (isIP(h) === 6) return h === '::1' || h === '::' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80') || h.startsWith('::ffff:');
  return false;
}

/**
 * Whether a host name resolves to a private address (a name pointing inside the network). The
 * fetch resolves again, so a name that changes its answer in between is not caught.
 */
async function resolvesPrivate(host: string): Promise<boolean> {
  if (isIP(host.replace(/^\[|\]$/g, ''))) return false;
  try {
    const addrs = await lookup(host, { all: true });
    return addrs.some((a) => isPrivateHost(a.address));
  } catch {
    return false; // unresolvable: the fetch reports it
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

async function readCapped(res: Response, max: number): Promise<Uint8Array | string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel().catch(() => undefined);
    return `${(declared / 1048576).toFixed(1)} MB is over the ${(max / 1048576).toFixed(1)} MB fetch limit`;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      return `more than ${(max / 1048576).toFixed(1)} MB (the fetch limit); stopped reading`;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * A signal that aborts after `ms` (as a TimeoutError) or with `other`. Made by hand because the
 * signal of `AbortSignal.any([AbortSignal.timeout(ms)])` holds its timeout only weakly: on
 * Node 20 the timeout could be collected before it fired, and a retried fetch of a server that
 * never answers waited forever (seen in the sources tests). Here the timer holds the controller.
 */
function deadline(ms: number, other?: AbortSignal): AbortSignal {
  const c = new AbortController();
  setTimeout(() => c.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms).unref();
  return other ? AbortSignal.any([c.signal, other]) : c.signal;
}

async function robotsFor(origin: string, cfg: SourcesEnv, signal?: AbortSignal): Promise<RobotRules | null> {
  let p = robots.get(origin);
  if (!p) {
    p = (async () => {
      try {
        const res = await fetch(`${origin}/robots.txt`, { headers: { 'user-agent': cfg.MR_FETCH_USER_AGENT }, redirect: 'follow', signal: deadline(Math.min(cfg.MR_FETCH_TIMEOUT_MS, 10_000), signal) });
        if (!res.ok) return null; // no robots.txt (or an error page): everything is allowed
        const body = await readCapped(res, 512 * 1024);
        return typeof body === 'string' ? null : parseRobots(Buffer.from(body).toString('utf8'), cfg.MR_FETCH_USER_AGENT);
      } catch {
        return null;
      }
    })();
    robots.set(origin, p);
  }
  return p;
}

/** Forget cached robots.txt files (tests that restart their fakes on a new port need not). */
export function clearRobotsCache(): void {
  robots.clear();
}

export async function fetchUrl(start: string, cfg: SourcesEnv, o: FetchOptions = {}): Promise<FetchResult> {
  const max = o.maxBytes ?? cfg.MR_FETCH_MAX_BYTES;
  let url = start;
  const seen = new Set<string>();
  for (let hop = 0; ; hop++) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return { ok: false, url, reason: 'not a valid URL' };
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, url, reason: `unsupported scheme ${u.protocol}` };
    if (!cfg.MR_FETCH_ALLOW_PRIVATE && (isPrivateHost(u.hostname) || (await resolvesPrivate(u.hostname))))
      return { ok: false, url, reason: 'a private or loopback address (set MR_FETCH_ALLOW_PRIVATE=1 to allow)' };
    if (seen.has(u.href)) return { ok: false, url: start, reason: `redirect loop at ${u.href}` };
    seen.add(u.href);
    if (!o.api) {
      const rules = await robotsFor(u.origin, cfg, o.signal);
      if (rules && !robotsAllow(rules, u.pathname + u.search)) return { ok: false, url, reason: 'disallowed by robots.txt' };
    }
    const sem = hosts.get(u.host) ?? hosts.set(u.host, new Semaphore(cfg.MR_FETCH_PER_HOST)).get(u.host)!;
    let res: Response | undefined;
    let lastReason = '';
    for (let attempt = 0; attempt <= cfg.MR_FETCH_RETRIES; attempt++) {
      if (o.signal?.aborted) return { ok: false, url, reason: 'cancelled' };
      const release = await sem.take();
      try {
        res = await fetch(u, {
          method: o.method ?? 'GET',
          headers: { 'user-agent': cfg.MR_FETCH_USER_AGENT, accept: '*/*', ...o.headers },
          ...(o.body ? { body: o.body } : {}),
          redirect: 'manual',
          signal: deadline(cfg.MR_FETCH_TIMEOUT_MS, o.signal),
        });
        if (res.status === 429 || res.status >= 500) {
          lastReason = `HTTP ${res.status}${res.status === 429 ? ' (rate limited)' : ''}`;
          const after = Number(res.headers.get('retry-after'));
          await res.body?.cancel().catch(() => undefined);
          res = undefined;
          if (attempt < cfg.MR_FETCH_RETRIES) await sleep(Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 10_000) : 250 * 2 ** attempt, o.signal);
          continue;
        }
        break;
      } catch (e) {
        const err = e as Error;
        lastReason = err.name === 'TimeoutError' ? `no answer within ${cfg.MR_FETCH_TIMEOUT_MS} ms` : `connection failed (${(err.cause as Error | undefined)?.message ?? err.message})`;
        res = undefined;
        if (o.signal?.aborted) return { ok: false, url, reason: 'cancelled' };
        if (attempt < cfg.MR_FETCH_RETRIES) await sleep(250 * 2 ** attempt, o.signal);
      } finally {
        release();
      }
    }
    if (!res) return { ok: false, url, reason: `${lastReason} after ${cfg.MR_FETCH_RETRIES + 1} attempt(s)` };
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      await res.body?.cancel().catch(() => undefined);
      if (hop >= cfg.MR_FETCH_MAX_REDIRECTS) return { ok: false, url: start, reason: `more than ${cfg.MR_FETCH_MAX_REDIRECTS} redirects` };
      url = new URL(res.headers.get('location')!, u).href;
      continue;
    }
    if (res.status >= 400) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: false, url, status: res.status, reason: `HTTP ${res.status}` };
    }
    let body: Uint8Array | string;
    try {
      body = await readCapped(res, max);
    } catch (e) {
      return { ok: false, url, reason: `the body could not be read (${(e as Error).name === 'TimeoutError' ? `no data within ${cfg.MR_FETCH_TIMEOUT_MS} ms` : (e as Error).message})` };
    }
    if (typeof body === 'string') return { ok: false, url, reason: body };
    return { ok: true, url: u.href, status: res.status, contentType: res.headers.get('content-type') ?? '', bytes: body };
  }
}

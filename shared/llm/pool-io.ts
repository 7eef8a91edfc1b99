/**
 * What the endpoint pool reads from outside: vLLM's Prometheus text (queue length and running
 * requests) and DNS (every address behind a headless Service becomes its own endpoint).
 */
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';

export interface VllmLoad {
  running: number;
  waiting: number;
}

/** Sum of vllm:num_requests_running / vllm:num_requests_waiting over their label sets. */
export function parseVllmLoad(text: string): VllmLoad | undefined {
  let running: number | undefined;
  let waiting: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^vllm:num_requests_(running|waiting)(?:\{[^}]*\})?\s+([0-9.eE+-]+|NaN)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (!Number.isFinite(v)) continue;
    if (m[1] === 'running') running = (running ?? 0) + v;
    else waiting = (waiting ?? 0) + v;
  }
  return running === undefined && waiting === undefined ? undefined : { running: running ?? 0, waiting: waiting ?? 0 };
}

const originOf = (url: string) => url.replace(/\/+$/, '').replace(/\/v1$/, '');

/** GET <origin>/health (vLLM), else <baseURL>/models (any OpenAI-compatible server). */
export async function probeEndpoint(url: string, fetchFn: typeof fetch = fetch): Promise<boolean> {
  for (const target of [`${originOf(url)}/health`, `${url.replace(/\/+$/, '')}/models`]) {
    try {
      const res = await fetchFn(target, { signal: AbortSignal.timeout(3000) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return true;
    } catch {
      // not answering; try the next target
    }
  }
  return false;
}

/** The server's load from <origin>/metrics, or undefined when it has none to give. */
export async function fetchVllmLoad(url: string, fetchFn: typeof fetch = fetch): Promise<VllmLoad | undefined> {
  try {
    const res = await fetchFn(`${originOf(url)}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return void (await res.arrayBuffer().catch(() => undefined));
    return parseVllmLoad(await res.text());
  } catch {
    return undefined;
  }
}

/** The URL with its host replaced by each address the host resolves to (IPv6 in brackets). */
export async function resolveEndpoint(url: string): Promise<string[]> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addrs = await lookup(host, { all: true });
  const seen = new Set<string>();
  const out: string[] = [];
  for (const a of addrs) {
    const v = new URL(url);
    v.hostname = a.family === 6 ? `[${a.address}]` : a.address;
    const s = v.toString().replace(/\/+$/, '');
    if (!seen.has(s)) seen.add(s), out.push(s);
  }
  return out;
}

export interface Discovery {
  stop(): void;
}

/** Resolve now and every `intervalMs`; `onUrls` gets the current address list (never empty). */
export function startDiscovery(url: string, intervalMs: number, onUrls: (urls: string[]) => void, log?: Logger): Discovery {
  let stopped = false;
  let warned = false;
  const run = async () => {
    try {
      const urls = await resolveEndpoint(url);
      if (!stopped && urls.length) onUrls(urls);
      warned = false;
    } catch (e) {
      if (!warned) log?.warn({ endpoint: url, err: (e as Error).message }, 'cannot resolve endpoint host; keeping the last known addresses');
      warned = true;
    }
  };
  void run();
  const t = setInterval(run, intervalMs);
  t.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(t);
    },
  };
}

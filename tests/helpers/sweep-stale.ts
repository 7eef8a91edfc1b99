/**
 * vitest global setup: remove what earlier, interrupted test runs left on the shared NATS
 * server. JetStream reserves every stream's max_bytes against the server's file store, so test
 * prefixes that were never deleted (a run killed half-way, a crashed test) would in time make
 * every new prefix fail with "insufficient storage resources". Only streams of the test
 * prefixes (`t` + 10 hex digits, see testEnv) older than an hour are touched, so a run going on
 * beside this one keeps its own.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

/** Streams, KV buckets and object stores of a testEnv() prefix. */
export const TEST_STREAM = /^(?:KV_|OBJ_)?t[0-9a-f]{10}_/i;
const STALE_MS = 60 * 60 * 1000;

export async function sweepStaleTestStreams(url: string, o: { now?: number; only?: (name: string) => boolean } = {}): Promise<string[]> {
  const now = o.now ?? Date.now();
  const nc = await connect({ servers: url, timeout: 3_000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    const stale: string[] = [];
    for await (const s of jsm.streams.list()) {
      if (TEST_STREAM.test(s.config.name) && (o.only?.(s.config.name) ?? true) && now - Date.parse(s.created) > STALE_MS) stale.push(s.config.name);
    }
    for (const name of stale) await jsm.streams.delete(name).catch(() => undefined);
    return stale;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

export default async function setup(): Promise<void> {
  const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const removed = await sweepStaleTestStreams(url).catch(() => []); // no server yet: the tests will say so
  if (removed.length) process.stderr.write(`test setup: removed ${removed.length} streams that interrupted test runs left on ${url}\n`);
}

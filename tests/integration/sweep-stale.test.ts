/** The test run's global setup removes streams of test prefixes older than an hour, and nothing else. */
import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { TEST_STREAM, sweepStaleTestStreams } from '../helpers/sweep-stale.ts';
import { testEnv } from '../helpers/cluster.ts';

describe('stale test streams', () => {
  it('names only testEnv prefixes', () => {
    const p = testEnv().MR_PREFIX;
    expect(TEST_STREAM.test(`${p.toUpperCase()}_TASKS`)).toBe(true);
    expect(TEST_STREAM.test(`KV_${p}_results`)).toBe(true);
    expect(TEST_STREAM.test(`OBJ_${p}_blobs`)).toBe(true);
    expect(TEST_STREAM.test('MR_TASKS')).toBe(false);
    expect(TEST_STREAM.test('KV_mr_jobs')).toBe(false);
    expect(TEST_STREAM.test('KV_team_results')).toBe(false);
  });

  it('removes a test prefix stream only once it is older than an hour', async () => {
    const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
    const name = `${testEnv().MR_PREFIX.toUpperCase()}_SWEEP`;
    const nc = await connect({ servers: url });
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.add({ name, subjects: [`sweep.${name}`], max_bytes: 1024 * 1024 });
      const mine = (n: string) => n === name; // never another test's streams, which run beside this one
      expect(await sweepStaleTestStreams(url, { only: mine })).not.toContain(name); // young: kept
      await jsm.streams.info(name);
      expect(await sweepStaleTestStreams(url, { now: Date.now() + 2 * 3600_000, only: mine })).toContain(name); // as seen two hours later
      await expect(jsm.streams.info(name)).rejects.toThrow(/not found/);
    } finally {
      await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
    }
  });
});

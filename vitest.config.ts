import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['tests/helpers/sweep-stale.ts'],
    // every test prefix reserves its stores' max_bytes on the shared nats-server: keep them small
    env: { MR_STORAGE_BYTES: '1GiB' },
  },
});

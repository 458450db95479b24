import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.test.ts'],
    exclude: ['node_modules/**'],
    pool: 'forks',
    // Most test time is spent waiting on other processes (engine doubles, shims, the CLI, Chromium), not on
    // this one: two files at a time on a 2-core machine, where vitest's default (cores − 1) would run one.
    maxWorkers: 2,
    setupFiles: ['test/setup/fast-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Each file gets its own database cloned from a migrated template and its own PostgREST.
    pool: 'forks',
    // Generous: tests wait for conditions, never for a time, and CI may share a slow machine.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

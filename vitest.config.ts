import { defineConfig } from 'vitest/config';

/**
 * Files that run clusters of real processes (nodes, HAProxy, a browser, federation peers) and
 * measure timing across them: they run one at a time, after the rest, so that they do not starve
 * each other of the machine's cores and report a slow machine as lost or reordered messages.
 */
const CLUSTERS = [
  'test/rolling/**/*.test.ts',
  'test/chaos/**/*.test.ts',
  'test/ordering/**/*.test.ts',
  'test/browser/**/*.test.ts',
  'test/s2s/**/*.test.ts',
  'test/muc/rolling-restart.test.ts',
  'test/muc/cluster.test.ts',
  'test/sm/cluster.test.ts',
  'test/helm/rollout.test.ts',
  'test/http/fuzz.test.ts',
  'test/push/parked-stream.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: CLUSTERS, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'clusters', include: CLUSTERS, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});

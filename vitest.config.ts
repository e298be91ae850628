import { defineConfig } from 'vitest/config';

// Projects split by I/O (style.md 13): unit tests are pure and need no daemon;
// integration tests use real SQLite files, real servers, real MQTT-TLS and a real Docker engine.
export default defineConfig({
  test: {
    // Most files wait on child processes, sockets and containers rather than compute: three forks on
    // two cores cut the unit + integration wall time from ~9.5 to ~6 min here, with no test timing-bound.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/build-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          env: { ORT_DISABLE_TELEMETRY: '1' },
        },
      },
      {
        // Real Docker engine + loopback registry from test/support/engine (started, or reused via
        // DOCKER_HOST / MODELPORT_KEEP_ENGINE=1); two files at a time: they mostly wait on containers,
        // and every file names its images, containers and agents after a random run id.
        test: {
          name: 'docker',
          include: ['test/docker/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/build-global-setup.ts', 'test/support/engine/global-setup.ts'],
          maxWorkers: 2,
          // Vitest runs projects with different worker counts as ordered groups: unit + integration
          // first (three forks), then these two at a time without them competing for the two cores.
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 300_000,
          env: { ORT_DISABLE_TELEMETRY: '1' },
        },
      },
    ],
  },
});

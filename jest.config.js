// Jest in two tiers: `unit` (pure code, models rendered and run on DuckDB, the workflow with mocked
// activities; nothing started before it, no S3 server, no browser) and `integration` (one real
// Temporal dev server and one S3 server for the run).
/**
 * The unit tier, by file. A file belongs here only if it starts no server, process or browser; the
 * workflow test alone starts a Temporal dev server of its own (see test/unit-tier.test.ts).
 */
const UNIT_TESTS = [
  'analytics-models.test.ts',
  'cli-docs.test.ts',
  'cli-options.test.ts',
  'client-sleep.test.ts',
  'dbt-layout.test.ts',
  'deployment.test.ts',
  'deterministic-analytics.test.ts',
  'generator.test.ts',
  'macros.test.ts',
  'master-model.test.ts',
  'month-tests.test.ts',
  'pipeline-workflow.test.ts',
  'progress-views.test.ts',
  'project.test.ts',
  'replay.test.ts',
  'run-grid.test.ts',
  'unit-tier.test.ts',
  'up-to-date.test.ts',
  'run-input.test.ts',
];

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    // NOTE: no globalSetup here, and test/unit-tier.test.ts keeps it so
    { ...shared, displayName: 'unit', testMatch: UNIT_TESTS.map((file) => `<rootDir>/test/${file}`) },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...UNIT_TESTS.map((file) => `<rootDir>/test/${file.replace(/\./g, '\\.')}$`)],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  testTimeout: 180_000,
  // the Temporal native runtime keeps a handle open after the last test
  forceExit: true,
  verbose: true,
};

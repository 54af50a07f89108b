// Jest in two tiers, by folder: test/unit (pure code, models rendered and run on DuckDB, recorded
// workflow histories replayed; no server, process or browser, and nothing started before it) and
// test/integration (the workflow with mocked activities, then the real thing, on one Temporal dev
// server, one S3 server and one PostgreSQL server for the run). test/unit/unit-tier.test.ts keeps the
// unit tier free of anything that starts a server.

const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    // NOTE: no globalSetup here, and test/unit/unit-tier.test.ts keeps it so
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'], testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  // every core for the unit tier (jest's default leaves one free: a single worker on 2 cores); the
  // integration tier runs in band (npm test, test:integration)
  maxWorkers: '100%',
  testTimeout: 180_000,
  // the Temporal native runtime keeps a handle open after the last test
  forceExit: true,
  verbose: true,
};

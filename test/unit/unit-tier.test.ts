// Keeps the unit tier fast and self-contained: no global set-up (which starts the Temporal and S3
// servers), nothing that has to run before it, and no unit test file importing what starts a server,
// a process or a browser (the workflow tests with mocked activities, which need a Temporal server, are
// in test/integration; the replay test here needs none).
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProjectConfig {
  displayName?: string;
  testMatch?: string[];
  globalSetup?: string;
  globalTeardown?: string;
  setupFiles?: string[];
  setupFilesAfterEach?: string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require('../../jest.config.js') as { projects: ProjectConfig[]; globalSetup?: string };
const unit = config.projects.find((project) => project.displayName === 'unit');
/** Every test file of the tier: the folder's, which its testMatch takes whole. */
const unitFiles = readdirSync(__dirname, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.test.ts'))
  .map((name) => path.join(__dirname, name));

/** Modules that start a Temporal server, an S3 server, a child process or Chromium: all of them, or the names given. */
const STARTS_SOMETHING: Readonly<Record<string, readonly string[] | 'all'>> = {
  'node:child_process': 'all',
  child_process: 'all',
  'playwright-core': 'all',
  '@temporalio/testing': 'all',
  // its quietTemporalLogs only sets the log level of the in-process runtime
  '../support/temporal': ['testServerAddress', 'connectToTestServer', 'startWorkers'],
  '../support/processes': 'all',
  '../../src/worker': 'all',
  '../../src/client': 'all',
  '../../src/temporal/dev-server': 'all',
  // finding the Temporal CLI may run python3, and pip to install it
  '../../src/temporal/cli-path': 'all',
  // its s3TestEnvironment is a plain function of an endpoint
  '../support/s3-server': ['startS3Server', 'createBucket'],
};

/** What a test file imports that would start something, as `module` or `module: name`. */
function startersImported(source: string): string[] {
  const found: string[] = [];
  for (const [, names, module] of source.matchAll(/(?:import\s+(?:type\s+)?([^;]*?)\s+from|import\(|require\()\s*'([^']+)'/g)) {
    const rule = STARTS_SOMETHING[module as string];
    if (rule === 'all') found.push(module as string);
    for (const name of rule === undefined || rule === 'all' ? [] : rule) {
      if (new RegExp(`\\b${name}\\b`).test(names ?? '')) found.push(`${module}: ${name}`);
    }
  }
  return found;
}

describe('the unit tier', () => {
  it('has no global set-up, so no server starts for it', () => {
    expect(unit).toBeDefined();
    expect(unit).not.toHaveProperty('globalSetup');
    expect(unit).not.toHaveProperty('globalTeardown');
    expect(unit).not.toHaveProperty('setupFiles');
    expect(config).not.toHaveProperty('globalSetup');
  });

  it('is the folder test/unit, each file of which imports nothing that starts a server, a process or a browser', async () => {
    expect(unit?.testMatch).toEqual(['<rootDir>/test/unit/**/*.test.ts']);
    expect(unitFiles.length).toBeGreaterThan(5);
    // this file's own examples below would match: it is the checker, and imports only fs and path
    for (const file of unitFiles.filter((name) => name !== __filename)) {
      expect(file).not.toMatch(/[*?]/);
      const starts = startersImported(await readFile(file, 'utf8'));
      expect({ file: path.basename(file), starts }).toEqual({ file: path.basename(file), starts: [] });
    }
  });

  it('would catch a file that starts a process or an S3 server, and lets a plain helper through', () => {
    expect(startersImported("import { spawn } from 'node:child_process';")).toEqual(['node:child_process']);
    expect(startersImported("import { createBucket, s3TestEnvironment } from '../support/s3-server';")).toEqual([
      '../support/s3-server: createBucket',
    ]);
    expect(startersImported("import { s3TestEnvironment } from '../support/s3-server';")).toEqual([]);
  });
});

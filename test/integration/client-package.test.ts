// The client package as another service uses it: `meterflow/client` resolved through package.json's
// exports, loading only the Temporal client and meterflow's own client code, and the README's example
// compiling with strict tsc against the built package's declarations.
import { execFile } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/config';
import { tempDir } from '../support/files';

const run = promisify(execFile);

/** Packages the client must never load: the warehouse, the charts, the worker and the test server. */
const FORBIDDEN = /node_modules\/(@duckdb\/|vega|@temporalio\/(worker|workflow|testing|core-bridge)\/|@aws-sdk\/|nunjucks\/)/;

/** The README's TypeScript example under "Calling it from another service". */
async function readmeExample(): Promise<string> {
  const readme = await readFile(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Calling it from another service'));
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!example) throw new Error('README.md has no ts example under "Calling it from another service"');
  return example;
}

describe('the client package', () => {
  let consumer: string;

  beforeAll(async () => {
    // a service of its own with meterflow installed: node_modules/meterflow is this (built) package
    consumer = await tempDir('client-consumer');
    await mkdir(path.join(consumer, 'node_modules'), { recursive: true });
    await symlink(PACKAGE_ROOT, path.join(consumer, 'node_modules', 'meterflow'), 'dir');
    await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  });

  it('loads only @temporalio/client and its own code, from meterflow/client and from meterflow', async () => {
    const script = path.join(consumer, 'check-loaded.cjs');
    await writeFile(
      script,
      [
        "const client = require('meterflow/client');",
        "const same = require('meterflow') === client;",
        'const loaded = Object.keys(require.cache);',
        'process.stdout.write(JSON.stringify({ same, exports: Object.keys(client), loaded }));',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [script], { cwd: consumer });
    const { same, exports, loaded } = JSON.parse(stdout) as { same: boolean; exports: string[]; loaded: string[] };
    expect(same).toBe(true);
    expect(exports).toEqual(expect.arrayContaining(['connectClient', 'startPipeline', 'waitForPipeline', 'PipelineFailedError']));
    expect(loaded.filter((file) => FORBIDDEN.test(file))).toEqual([]);
    expect(loaded.some((file) => file.includes('node_modules/@temporalio/client/'))).toBe(true);
    // and of meterflow's own code only the client, the contract and what they share (errors, config, the
    // password masking, the project's fingerprint, the installed packages it counts and its rule of which
    // files count: node built-ins and yaml only)
    const dist = path.join(PACKAGE_ROOT, 'dist');
    const own = loaded.filter((file) => file.startsWith(dist)).map((file) => path.relative(dist, file));
    const shared = /^(client|contract|temporal)\/|^(errors|config|secrets|project\/(fingerprint|packages|skipped-folders))\.js$/;
    expect(own.filter((file) => !shared.test(file))).toEqual([]);
    expect(own).not.toContain(path.join('temporal', 'dev-server.js'));
  });

  it("compiles the README's example with strict tsc against the built declarations", async () => {
    await writeFile(path.join(consumer, 'example.ts'), await readmeExample());
    await writeFile(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          // NOTE: @temporalio/common's own declarations import `ms`, which has none: every consumer skips lib checks
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(PACKAGE_ROOT, 'node_modules', '@types')],
        },
        files: ['example.ts'],
      }),
    );
    const tsc = path.join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer }).then(
      () => '',
      (err: { stdout?: string; message: string }) => err.stdout || err.message,
    );
    expect(compiled).toBe('');
  });
});

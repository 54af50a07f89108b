// The meterflow command as a user runs it: separate processes, the embedded Temporal server, exit codes.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/config';
import { writerQueueFor } from '../../src/contract/queues';
import { PIPELINE_WORKFLOW_TYPE, type PipelineInput } from '../../src/contract/run';
import { generateSampleData } from '../../src/generator/generate';
import { Warehouse } from '../../src/warehouse/warehouse';
import { createStorageResolver } from '../../src/storage';
import { queryFile, tempDir } from '../support/files';
import { createBucket } from '../support/s3-server';
import { connectToTestServer, startWorkers, testServerAddress } from '../support/temporal';

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function meterflow(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 150_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (text: string) => text.split('\n').filter((line) => line.trim().length > 0);

describe('the meterflow command', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('cli');
    await generateSampleData({ outDir: path.join(dir, 'sources'), meters: 10, from: '2023-02-01', to: '2023-02-15', seed: 11 });
  });

  it('generates the eight sources and reports its speed', async () => {
    const out = path.join(dir, 'generated');
    const { code, stdout } = await meterflow([
      'generate',
      '--out',
      out,
      '--meters',
      '5',
      '--from',
      '2023-01-01',
      '--to',
      '2023-01-08',
      '--seed',
      '3',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^wrote [\d,]+ readings of 5 meters in 8 files in [\d.]+s \([\d,]+ readings\/s\) to /);
  });

  it('runs the whole pipeline on an embedded Temporal server: a line per node on stderr as dbt prints, results on stdout, warehouse last', async () => {
    const sources = path.join(dir, 'sources');
    const db = path.join(dir, 'cli-warehouse');
    const out = path.join(dir, 'out');
    const { code, stdout, stderr } = await meterflow(['run', '--sources', sources, '--db', db, '--out', out]);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const output = lines(stdout);
    // dbt's closing count: each data test a node of its own, none failed or skipped
    expect(output[0]).toMatch(/^Done\. PASS=\d+ WARN=\d+ ERROR=0 SKIP=0 NO-OP=\d+ TOTAL=\d+ in \d+\.\d s$/);
    expect(output.some((line) => /^web ui: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/pipeline-/.test(line))).toBe(true);
    expect(output).toContain(`runs: ${path.join(out, 'index.html')}`);
    expect(output[output.length - 1]).toBe(`warehouse: ${db}`);
    expect(output[output.length - 2]).toMatch(/^report: .*\/runs\/pipeline-[^/]+\/report\.html$/);
    // after the start, a line per node as it starts and as it ends, numbered, in no colour (a pipe)
    const progress = lines(stderr);
    expect(progress[0]).toMatch(/^embedded Temporal dev server at 127\.0\.0\.1:\d+/);
    expect(progress[1]).toMatch(/^run pipeline-\S+ started/);
    expect(progress).toContainEqual(expect.stringMatching(/^ ?\d+ of \d+ START seed tariff_unit_rates \.{3,} \[RUN\]$/));
    expect(progress).toContainEqual(
      expect.stringMatching(/^\d+ of \d+ OK built model demand_price_elasticity \.{3,} \[OK in [\d.]+s, [\d,]+ rows\]$/),
    );
    expect(progress).toContainEqual(expect.stringMatching(/^\d+ of \d+ PASS tests on demand_price_elasticity \.{3,} \[PASS in [\d.]+s\]$/));
    for (const line of progress.slice(2))
      expect(line).toMatch(/^ ?\d+ of \d+ (START|OK|PASS|NO-OP) .* \[(RUN|OK in [\d.]+s(, [\d,]+ rows?)?|PASS in [\d.]+s|NO-OP)\]$/);
    const total = Number(/ of (\d+) /.exec(progress[2] as string)?.[1]);
    // every node ends once
    expect(progress.filter((line) => !line.includes(' START ')).slice(2)).toHaveLength(total);
    const [row] = await queryFile(db, 'select count(*)::integer as n from main.demand_price_elasticity');
    expect(row?.n).toBeGreaterThan(5_000);

    // a reader that stops reading (`| head -2`): a quiet end, no EPIPE stack (an operator probe found one)
    const child = spawn(
      process.execPath,
      [path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'), 'query', '--db', db, 'select * from main.demand_price_elasticity'],
      { env: { ...process.env, TEMPORAL_ADDRESS: undefined }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderrOfQuery = '';
    child.stderr.on('data', (chunk: Buffer) => (stderrOfQuery += chunk.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ exitCode, stderr: stderrOfQuery }).toEqual({ exitCode: 0, stderr: '' });
  });

  it('generates into S3 and runs from S3 to S3, as a user with an S3-compatible server would', async () => {
    await createBucket(process.env.METERFLOW_TEST_S3_ENDPOINT as string, 'cli-bucket');
    const generated = await meterflow([
      'generate',
      '--out',
      's3://cli-bucket/sources',
      '--meters',
      '6',
      '--from',
      '2023-05-01',
      '--to',
      '2023-05-08',
    ]);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toContain('to s3://cli-bucket/sources');
    const db = path.join(dir, 's3-warehouse');
    const { code, stdout, stderr } = await meterflow([
      'run',
      '--sources',
      's3://cli-bucket/sources',
      '--out',
      's3://cli-bucket/runs',
      '--db',
      db,
    ]);
    // on failure, show why
    expect({ code, error: code === 0 ? '' : stderr }).toEqual({ code: 0, error: '' });
    const output = lines(stdout);
    expect(output[output.length - 1]).toBe(`warehouse: ${db}`);
    expect(output[output.length - 2]).toMatch(/^report: s3:\/\/cli-bucket\/runs\/runs\/pipeline-.*\/report\.html$/);
    expect(output.find((line) => line.startsWith('lake version: '))).toMatch(/^lake version: \d+$/);
    const listed = await createStorageResolver().forUri('s3://cli-bucket/runs').list('s3://cli-bucket/runs');
    expect(listed.filter((o) => o.name.endsWith('/report.html'))).toHaveLength(1);
    expect(listed.filter((o) => /\/analytics\/\w+\.parquet$/.test(o.name))).toHaveLength(12);
  });

  it('exits 1 naming the failing node and reason on stderr when a source is missing, and prints no result', async () => {
    const db = path.join(dir, 'missing-warehouse');
    const { code, stdout, stderr } = await meterflow([
      'run',
      '--sources',
      path.join(dir, 'no-such-folder'),
      '--db',
      db,
      '--out',
      path.join(dir, 'out2'),
    ]);
    expect(code).toBe(1);
    const said = lines(stderr);
    expect(said.find((line) => line.startsWith('error: '))).toMatch(/failed at seed:\w+: source \w+: no Parquet files at .*no-such-folder/);
    // a failed run prints no result: its count, each error and where its report is go to stderr
    expect(said.find((line) => line.startsWith('Done.'))).toMatch(/^Done\. PASS=0 WARN=0 ERROR=8 SKIP=\d+ NO-OP=0 TOTAL=\d+ in \d+\.\d s$/);
    expect(said).toContain('Completed with 8 errors and 0 warnings:');
    expect(said).toContain('Error in seed tariff_unit_rates');
    expect(said).toContainEqual(expect.stringMatching(/^ {2}source tariff_unit_rates: no Parquet files at .*no-such-folder/));
    // the folder --sources names is not there: said with each source (an operator probe's mistyped --sources)
    expect(said).toContainEqual(
      expect.stringMatching(/^ {2}source tariff_unit_rates: .* \(no folder \S*no-such-folder either: is --sources right\?\)$/),
    );
    expect(said).toContainEqual(expect.stringMatching(/^\d+ of \d+ SKIP model demand_price_elasticity \.{3,} \[SKIP\]$/));
    expect(said).toContain(`runs: ${path.join(dir, 'out2', 'index.html')}`);
    const report = said.find((line) => line.startsWith('report: '))?.slice('report: '.length);
    expect(report).toMatch(/\/out2\/runs\/pipeline-[^/]+\/report\.html$/);
    expect(existsSync(report as string)).toBe(true);
    expect(stdout).toBe('');
    // from the error to the failing node's own log lines: one command, the server gone (an embedded run)
    const run = /run (pipeline-\S+) failed/.exec(stderr)?.[1] as string;
    const logs = await meterflow(['logs', run, 'seed:tariff_unit_rates', '--out', path.join(dir, 'out2')]);
    expect(logs.code).toBe(0);
    expect(lines(logs.stdout)).toContainEqual(
      expect.stringMatching(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ERROR \[seedSource tariff_unit_rates\] failed ms=\d+ error=source tariff_unit_rates: no Parquet files at /,
      ),
    );
    expect(logs.stdout).not.toContain('smart_meter_consumption_q1');
  });

  it('on a terminal: colour, the nodes in flight redrawn below the lines, the final frame true, nothing wider than the terminal', async () => {
    // a pseudo-terminal of 100 columns (util-linux's script), as a person's terminal would be
    const db = path.join(dir, 'tty-warehouse');
    const command = [
      process.execPath,
      path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'),
      'run',
      '--sources',
      path.join(dir, 'sources'),
      '--db',
      db,
      '--out',
      path.join(dir, 'tty-out'),
    ]
      .map((word) => `'${word}'`)
      .join(' ');
    const terminal = (env: NodeJS.ProcessEnv) =>
      new Promise<Finished>((resolve, reject) => {
        const child = spawn('script', ['-qec', `stty cols 100 rows 30; exec ${command}`, '/dev/null'], {
          env: { ...process.env, TEMPORAL_ADDRESS: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: 'xterm', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
      });
    const screen = await terminal({});
    expect(screen.code).toBe(0);
    const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
    expect(screen.stdout).toMatch(/\u001b\[32mOK\u001b\[39m built model demand_price_elasticity/);
    const text = screen.stdout.replace(ANSI, '').replace(/\r/g, '');
    // the nodes' lines and the live frames fit; addresses and paths are never cut
    const drawn = text.split('\n').filter((line) => /^( ?\d+ of \d+ |\d+ s: |[▶○] )/.test(line));
    expect(drawn.length).toBeGreaterThan(40);
    for (const line of drawn) expect(line.length).toBeLessThanOrEqual(100);
    // the frame left under the last node's line counts every node as it ended: no node pending or running
    const total = Number(/ of (\d+) /.exec(text)?.[1]);
    const afterLast = text.slice(text.lastIndexOf(`${total} of ${total} `)).split('\n');
    expect(afterLast[1]).toMatch(new RegExp(`^\\d+ s: ${total} succeeded · run pipeline-`));
    expect(afterLast[2]).toMatch(/^Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0 /);
    // NO_COLOR: the same lines without colour
    const plain = await terminal({ NO_COLOR: '1' });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/\d+ of \d+ NO-OP model demand_price_elasticity \.{3,} \[NO-OP\]/);
    expect(plain.stdout).not.toMatch(/\u001b\[(32|31|33|2)m/);
  });

  it('refuses to start a second writer on a warehouse another process holds', async () => {
    const db = path.join(dir, 'held-warehouse');
    const holder = await Warehouse.open(db);
    try {
      const { code, stderr } = await meterflow(
        ['worker', '--role', 'writer', '--db', db],
        { TEMPORAL_ADDRESS: testServerAddress() },
        60_000,
      );
      expect(code).toBe(1);
      expect(stderr).toContain(
        `meterflow: warehouse ${db} is already open by another process (pid ${process.pid}): only one writer worker may own a warehouse`,
      );
    } finally {
      holder.close();
    }
  });

  it('submits a run to TEMPORAL_ADDRESS for workers elsewhere, and shows it with status', async () => {
    const temporal = await connectToTestServer();
    const db = path.join(dir, 'remote-warehouse');
    const workers = await startWorkers(temporal, {
      label: 'remote',
      warehousePath: db,
      // the default queues: the warehouse's own writer queue, which a run naming it finds
      queues: { writer: writerQueueFor(db), analytics: 'meterflow-analytics', workflows: 'meterflow-workflows' },
    });
    try {
      const env = { TEMPORAL_ADDRESS: testServerAddress() };
      // (with --vars, which the run carries: its models read none of them)
      const run = await meterflow(
        [
          'run',
          '--sources',
          path.join(dir, 'sources'),
          '--db',
          db,
          '--out',
          path.join(dir, 'remote-out'),
          '--vars',
          '{region: north, cap: 3}',
        ],
        env,
      );
      expect(run.code).toBe(0);
      const output = lines(run.stdout);
      expect(output[output.length - 1]).toBe(`warehouse: ${db}`);
      const workflowId = /^run (pipeline-\S+) started/m.exec(run.stderr)?.[1];
      const status = await meterflow(['status', workflowId as string], env);
      expect(status.code).toBe(0);
      expect(lines(status.stdout)[0]).toMatch(new RegExp(`^run ${workflowId}: COMPLETED, logical date \\d{4}-\\d\\d-\\d\\dT`));
      // and the warehouse and project it named, the project with its content's hash
      expect(lines(status.stdout)[1]).toMatch(
        new RegExp(`^warehouse ${db}, project ${PACKAGE_ROOT}/models at [0-9a-f]{16}, vars \\{"region":"north","cap":3\\}$`),
      );
      expect(status.stdout).toMatch(/^model demand_price_elasticity\s+succeeded\s+[\d.]+\s+[\d,]+$/m);
      // and where its report is, which is there
      const report = path.join(dir, 'remote-out', 'runs', workflowId as string, 'report.html');
      expect(lines(status.stdout)).toContain(`report: ${report}`);
      expect(existsSync(report)).toBe(true);
      // its logs, found through the server: every attempt of the master's activities, on the workers that ran them
      const logs = await meterflow(['logs', workflowId as string, 'model:demand_price_elasticity'], env);
      expect(logs.code).toBe(0);
      expect(lines(logs.stdout)).toContainEqual(
        expect.stringMatching(/ INFO {2}\[buildMonth demand_price_elasticity\] built month .*rows=\d+/),
      );
      expect(lines(logs.stdout).every((line) => line.includes(' demand_price_elasticity] '))).toBe(true);
      const json = await meterflow(['logs', workflowId as string, '--json'], env);
      const parsed = lines(json.stdout).map((line) => JSON.parse(line) as { msg: string; workflowId?: string });
      expect(parsed.filter((line) => line.msg === 'started').every((line) => line.workflowId === workflowId)).toBe(true);
      expect(parsed.filter((line) => line.msg === 'finished').length).toBeGreaterThan(20);
      const none = await meterflow(['logs', workflowId as string, 'model:no_such_model'], env);
      expect({ code: none.code, stderr: none.stderr.trim() }).toEqual({
        code: 1,
        stderr: expect.stringMatching(/^meterflow: no log lines of model:no_such_model in run pipeline-\S+ at .*\/logs \(node ids as/),
      });

      // a run that fails: status exits 1, and `runs` lists it with the node it failed at
      const failed = await temporal.client.workflow.start(PIPELINE_WORKFLOW_TYPE, {
        args: [{ sourcesUri: 'relative/sources', outUri: path.join(dir, 'remote-out') } as PipelineInput],
        taskQueue: 'meterflow-workflows',
        workflowId: `pipeline-bad-input-${Date.now()}`,
      });
      await expect(failed.result()).rejects.toThrow();
      const failedStatus = await meterflow(['status', failed.workflowId], env);
      expect(failedStatus.code).toBe(1);
      expect(lines(failedStatus.stdout)[0]).toMatch(new RegExp(`^run ${failed.workflowId}: FAILED`));
      const listed = await meterflow(['runs', '--json', '--limit', '100'], env);
      expect(listed.code).toBe(0);
      const runs = JSON.parse(listed.stdout) as { workflowId: string; status: string; kind?: string; failedNode?: string }[];
      expect(runs.find((r) => r.workflowId === workflowId)).toMatchObject({ status: 'COMPLETED', kind: 'manual' });
      expect(runs.find((r) => r.workflowId === failed.workflowId)).toMatchObject({ status: 'FAILED', failedNode: 'run' });
      // newest first, filtered by state, as a table with a header
      const onlyFailed = await meterflow(['runs', '--state', 'failed', '--since', new Date(Date.now() - 3_600_000).toISOString()], env);
      expect(lines(onlyFailed.stdout)[0]).toMatch(/^run\s+kind\s+state\s+started\s+duration\s+failed at$/);
      expect(onlyFailed.stdout).toContain(failed.workflowId);
      expect(onlyFailed.stdout).not.toContain(`${workflowId} `);
      const bad = await meterflow(['runs', '--state', 'sideways'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--state "sideways" is not one of');

      // a run no worker serves (its workflow queue has none): status says so within seconds, not after 30
      const unserved = await temporal.client.workflow.start(PIPELINE_WORKFLOW_TYPE, {
        args: [{ sourcesUri: path.join(dir, 'sources'), outUri: path.join(dir, 'remote-out') } as PipelineInput],
        taskQueue: 'meterflow-no-worker-here',
        workflowId: `pipeline-unserved-${Date.now()}`,
      });
      const started = Date.now();
      const waiting = await meterflow(['status', unserved.workflowId], env);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(waiting.code).toBe(0);
      expect(waiting.stdout).toMatch(/^run pipeline-unserved-\d+: RUNNING/);
      expect(waiting.stdout).toContain("no worker answered for its nodes within 5 s: none of its queues' workers is running");
      await unserved.terminate('done with it');
      // a run that is not there: said in words, as logs says it
      const missing = await meterflow(['status', 'pipeline-no-such-run'], env);
      expect({ code: missing.code, stderr: missing.stderr.trim() }).toEqual({
        code: 1,
        stderr: `meterflow: no run pipeline-no-such-run at ${testServerAddress()} (meterflow runs lists them)`,
      });
    } finally {
      await workers.stop();
      await temporal.close();
    }
  });

  it('refuses malformed schedule values with exit 2, naming each, and says "no schedule X" for a missing one', async () => {
    const env = { TEMPORAL_ADDRESS: testServerAddress() };
    const cases: [string[], RegExp][] = [
      [['schedule', 'create', 'bad id/../x', '--cron', '0 3 * * *', '--sources', '/tmp/s'], /schedule id "bad id\/\.\.\/x": use letters/],
      [['schedule', 'create', 'ok-id', '--cron', 'every day', '--sources', '/tmp/s'], /--cron "every day" is not a cron expression/],
      [['schedule', 'create', 'ok-id', '--every', 'soon', '--sources', '/tmp/s'], /--every "soon" is not an interval/],
      // runs more often than a minute would fill --out with their reports and logs
      [['schedule', 'create', 'ok-id', '--every', '30s', '--sources', '/tmp/s'], /--every "30s" is shorter than a minute/],
      [['schedule', 'create', 'ok-id', '--cron', '@every 1s', '--sources', '/tmp/s'], /--cron @every "1s" is shorter than a minute/],
      [
        ['schedule', 'create', 'ok-id', '--cron', '*/10 * * * * * *', '--sources', '/tmp/s'],
        /--cron "\*\/10 \* \* \* \* \* \*" fires more often than once a minute/,
      ],
      // the project and the selection its runs will run, checked when it is made, not at its first run
      [
        ['schedule', 'create', 'ok-id', '--every', '1h', '--sources', '/tmp/s', '--project', '/nonexistent-project'],
        /--project \/nonexistent-project cannot be run: /,
      ],
      [
        ['schedule', 'create', 'ok-id', '--every', '1h', '--sources', '/tmp/s', '--select', 'no_such_model+'],
        /in the project \S+\/models, selector 'no_such_model\+' matches no model/,
      ],
      // (an @every of several units, as Temporal reads it, passes to the selector's check)
      [
        ['schedule', 'create', 'ok-id', '--cron', '@every 1h30m', '--sources', '/tmp/s', '--select', 'no_such_model+'],
        /selector 'no_such_model\+' matches no model/,
      ],
      // the vars its runs get: a YAML mapping, without meterflow's own names or what dbt_project.yml reads
      [
        ['schedule', 'create', 'ok-id', '--every', '1h', '--sources', '/tmp/s', '--vars', '[1, 2]'],
        /--vars.*give a YAML mapping of var names to values/,
      ],
      [['schedule', 'create', 'ok-id', '--every', '1h', '--sources', '/tmp/s', '--vars', '{a: [1'], /--vars.*not YAML: /],
      [
        ['schedule', 'create', 'ok-id', '--every', '1h', '--sources', '/tmp/s', '--vars', '{__meterflow_run_started_at: x}'],
        /__meterflow_run_started_at: names beginning __meterflow are meterflow's own/,
      ],
      [
        ['schedule', 'backfill', 'ok-id', '--from', '2024-02-01', '--to', '2024-01-01'],
        /--from 2024-02-01T00:00:00\.000Z is after --to 2024-01-01/,
      ],
    ];
    for (const [args, message] of cases) {
      const refused = await meterflow(args, env);
      expect({ args, code: refused.code }).toEqual({ args, code: 2 });
      expect(refused.stderr).toMatch(message);
    }
    const missing = await meterflow(['schedule', 'describe', 'no-such-schedule'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no schedule no-such-schedule at ${testServerAddress()} (namespace default)`);
  });

  it('manages a schedule with the schedule commands', async () => {
    const env = { TEMPORAL_ADDRESS: testServerAddress() };
    const id = `cli-schedule-${Date.now()}`;
    const created = await meterflow(
      [
        'schedule',
        'create',
        id,
        '--cron',
        '0 3 * * *',
        '--sources',
        path.join(dir, 'sources'),
        '--overlap',
        'buffer-one',
        '--vars',
        'region: north',
      ],
      env,
    );
    expect(created).toMatchObject({ code: 0, stdout: `schedule ${id} created\n` });
    // a table with a header: the cron as given, the next run, paused, the last run's state
    const listed = lines((await meterflow(['schedule', 'list'], env)).stdout);
    expect(listed[0]).toMatch(/^id\s+schedule\s+next run\s+paused\s+last run$/);
    expect(listed).toContainEqual(
      expect.stringMatching(new RegExp(`^${id}\\s+0 3 \\* \\* \\*\\s+\\d{4}-\\d\\d-\\d\\dT03:00:00.000Z\\s+no\\s+-$`)),
    );
    expect((await meterflow(['schedule', 'pause', id, '--note', 'maintenance'], env)).stdout).toBe(`schedule ${id} paused\n`);
    const described = JSON.parse((await meterflow(['schedule', 'describe', id], env)).stdout) as Record<string, unknown>;
    expect(described).toMatchObject({ cron: '0 3 * * *', paused: true, note: 'maintenance', overlap: 'BUFFER_ONE' });
    // and what each run is started with
    expect(described.input).toMatchObject({ sourcesUri: path.join(dir, 'sources'), vars: { region: 'north' } });
    expect(described).not.toHaveProperty('every');
    const badSelection = await meterflow(['schedule', 'update', id, '--exclude', 'no_such_model'], env);
    expect(badSelection.code).toBe(2);
    expect(badSelection.stderr).toContain("selector 'no_such_model' matches no model");
    expect((await meterflow(['schedule', 'update', id, '--every', '6h', '--select', 'tag:daily'], env)).code).toBe(0);
    const updated = JSON.parse((await meterflow(['schedule', 'describe', id], env)).stdout) as Record<string, unknown>;
    expect(updated).toMatchObject({ every: '6h', paused: true, input: { select: ['tag:daily'] } });
    expect(updated.input).not.toHaveProperty('exclude');
    // vars it was not given stay as they were; given, they replace the schedule's
    expect(updated.input).toMatchObject({ vars: { region: 'north' } });
    expect((await meterflow(['schedule', 'update', id, '--vars', '{}'], env)).code).toBe(0);
    expect(JSON.parse((await meterflow(['schedule', 'describe', id], env)).stdout)).toMatchObject({ input: { vars: {} } });
    expect(updated).not.toHaveProperty('cron');
    expect((await meterflow(['schedule', 'update', id, '--cron', '*/15 2-4 * * 1-5', '--timezone', 'Europe/London'], env)).code).toBe(0);
    expect(JSON.parse((await meterflow(['schedule', 'describe', id], env)).stdout)).toMatchObject({
      cron: '*/15 2-4 * * 1-5',
      timezone: 'Europe/London',
    });
    // trigger says which run it started (no worker polls these tests' default queue: it is then terminated)
    const triggered = await meterflow(['schedule', 'trigger', id], env);
    const runId = new RegExp(`^schedule ${id} triggered: run (pipeline-${id}-\\S+)$`).exec(triggered.stdout.trim())?.[1];
    expect({ stdout: triggered.stdout, runId }).toEqual({ stdout: triggered.stdout, runId: expect.any(String) });
    const temporal = await connectToTestServer();
    try {
      await temporal.client.workflow.getHandle(runId as string).terminate('test: nothing runs it');
    } finally {
      await temporal.close();
    }
    expect((await meterflow(['schedule', 'delete', id], env)).stdout).toBe(`schedule ${id} deleted\n`);
    const bad = await meterflow(['schedule', 'create', 'x', '--sources', 'y', '--overlap', 'sometimes'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--overlap <policy>' argument 'sometimes' is invalid");
  });
});

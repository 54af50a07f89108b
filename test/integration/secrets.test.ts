// A PostgreSQL password given in --db never leaves the process it was given to: not on stdout or
// stderr, not in a worker's identity, not in an activity's input or result, not in the history.
import path from 'node:path';
import { connectClient } from '../../src/client';
import { generateSampleData } from '../../src/generator/generate';
import { tempDir } from '../support/files';
import { createTestDatabase, testPostgres } from '../support/postgres-server';
import { spawnMeterflow, spawnWorker, type Child } from '../support/processes';
import { eventually, freshQueues, historyText, testServerAddress } from '../support/temporal';

const PASSWORD = 'S3cret-hunter2-xyzzy';

describe('a password in a PostgreSQL catalog conninfo', () => {
  const children: Child[] = [];

  afterAll(async () => {
    await Promise.all(children.map((child) => child.kill('SIGTERM')));
  });

  it('stays out of output, worker identities and the run history', async () => {
    testPostgres();
    const dir = await tempDir('secrets');
    const sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 3, from: '2023-05-30', to: '2023-06-02', seed: 21 });
    const catalog = `postgres:${await createTestDatabase('meterflow_secret')}`;
    const withPassword = `${catalog} password=${PASSWORD}`;
    const queues = freshQueues('secret');
    const env = { METERFLOW_LAKE_DATA: path.join(dir, 'lake') };
    const writer = spawnWorker({ role: 'writer', address: testServerAddress(), queues, db: withPassword, env });
    const analytics = spawnWorker({ role: 'analytics', address: testServerAddress(), queues });
    children.push(writer, analytics);
    await eventually(async () => [writer, analytics].every((worker) => /polling/.test(worker.output())), 60_000);

    const run = spawnMeterflow(['run', '--sources', sources, '--db', withPassword, '--out', path.join(dir, 'out')], {
      TEMPORAL_ADDRESS: testServerAddress(),
      METERFLOW_WORKFLOW_QUEUE: queues.workflows,
      METERFLOW_WRITER_QUEUE: queues.writer,
      METERFLOW_ANALYTICS_QUEUE: queues.analytics,
      ...env,
    });
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toMatch(new RegExp(`^warehouse: ${catalog}$`, 'm'));
    const workflowId = /^run (pipeline-\S+) started/m.exec(run.stderr())?.[1] as string;

    const client = await connectClient({ address: testServerAddress() });
    try {
      const history = historyText(await client.workflow.getHandle(workflowId).fetchHistory());
      expect(history).toContain('meterflow writer of postgres:'); // the writer's identity is there, without it
      expect(history).toContain(catalog);
      for (const text of [run.output(), writer.output(), analytics.output(), history]) expect(text).not.toContain(PASSWORD);
    } finally {
      await client.connection.close();
    }
  });
});

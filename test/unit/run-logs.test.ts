// A run's logs: each activity attempt's lines captured (whatever the logger's own level), kept as a
// file named by activity, subject and attempt, read back for the run or one node, and shown readably.
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/logger';
import { fileIsOfNode, readRunLogs, readableLogLine, subjectOf, withActivityLog } from '../../src/logs/run-logs';
import { createStorageResolver } from '../../src/storage';

const storage = createStorageResolver({
  s3: () => {
    throw new Error('no S3 in the unit tier');
  },
});

function quietLogger() {
  const console = new PassThrough();
  let text = '';
  console.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { logger: createLogger('worker', 'warn', { pretty: false, destination: console }), consoleText: () => text };
}

const attempt = (activity: string, input: unknown, n = 1) => ({ activity, input, attempt: n, activityId: '7', workflowId: 'pipeline-x' });

describe("an activity's log", () => {
  it('keeps every line logged from within the attempt at info or above, framed by start and end, whatever the console level', async () => {
    const logs = await mkdtemp(path.join(os.tmpdir(), 'run-logs-'));
    const { logger, consoleText } = quietLogger();
    const result = await withActivityLog(logs, attempt('buildModel', { model: 'stg_x' }), { logger, storage }, async () => {
      logger.info({ rows: 12 }, 'built model');
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.debug('too fine to keep');
      return 42;
    });
    expect(result).toBe(42);
    // lines logged outside any attempt are not kept in one
    logger.info('elsewhere');
    expect(await readdir(logs)).toEqual(['buildModel--stg_x--1--7.jsonl']);
    const lines = await readRunLogs(storage, logs);
    expect(lines.map((line) => line.msg)).toEqual(['started', 'built model', 'finished']);
    expect(lines[1]).toMatchObject({ activity: 'buildModel', subject: 'stg_x', attempt: 1, fields: { rows: 12 } });
    // the console kept its own level: warn and above only
    expect(consoleText()).toBe('');
  });

  it("keeps a failed attempt's error, and its outcome stands when the log cannot be kept", async () => {
    const logs = await mkdtemp(path.join(os.tmpdir(), 'run-logs-'));
    const { logger } = quietLogger();
    const failing = () => Promise.reject(new Error('Binder Error: no column y'));
    await expect(
      withActivityLog(logs, attempt('seedSource', { source: { name: 'tariffs' } }, 2), { logger, storage }, failing),
    ).rejects.toThrow('no column y');
    const [, failed] = await readRunLogs(storage, logs);
    expect(failed).toMatchObject({ level: 50, msg: 'failed', attempt: 2, fields: { error: 'Binder Error: no column y' } });
    // a logs folder that is a file: the activity's result is still its own
    const file = path.join(logs, 'a-file');
    await writeFile(file, 'x');
    await expect(withActivityLog(file, attempt('publishRun', {}), { logger, storage }, async () => 'published')).resolves.toBe('published');
  });
});

describe("a run's logs read back", () => {
  it('belong to a node by kind and name, or by name alone', () => {
    expect(fileIsOfNode('buildMonth--demand_price_elasticity--1--25.jsonl', 'model:demand_price_elasticity')).toBe(true);
    expect(fileIsOfNode('testMonth--demand_price_elasticity--1--27.jsonl', 'model:demand_price_elasticity')).toBe(false);
    expect(fileIsOfNode('testMonth--demand_price_elasticity--1--27.jsonl', 'test:demand_price_elasticity')).toBe(true);
    expect(fileIsOfNode('testMonth--demand_price_elasticity--1--27.jsonl', 'demand_price_elasticity')).toBe(true);
    expect(fileIsOfNode('seedSource--tariffs--1--3.jsonl', 'seed:tariff')).toBe(false);
    expect(subjectOf({ source: { name: 'q1' } })).toBe('q1');
    expect(subjectOf({ model: 'm', warehouse: 'w' })).toBe('m');
    expect(subjectOf({ warehouse: 'w' })).toBe('run');
  });

  it('are shown in local time with level, where, message and fields', () => {
    const time = new Date(2024, 0, 31, 2, 3, 4, 5).getTime();
    const line = {
      time,
      level: 40,
      msg: 'slow',
      activity: 'buildMonth',
      subject: 'm',
      attempt: 3,
      fields: { month: '2024-01', rows: 5 },
      raw: '',
    };
    expect(readableLogLine(line)).toBe('2024-01-31 02:03:04.005 WARN  [buildMonth m (attempt 3)] slow month=2024-01 rows=5');
  });
});

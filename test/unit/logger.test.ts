// The logs a person reads and the logs a collector reads: readable lines (local time, level, message,
// fields) for a terminal, JSON lines otherwise, and METERFLOW_LOG_FORMAT to choose.
import { PassThrough } from 'node:stream';
import { createLogger, prettyByDefault } from '../../src/logger';

/** What a logger wrote for one info line with a field. */
async function written(pretty: boolean): Promise<string> {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const logger = createLogger('worker', 'info', { pretty, destination: stream });
  logger.info({ model: 'demand_price_elasticity', rows: 1234 }, 'built model');
  logger.flush();
  await new Promise((resolve) => setImmediate(resolve));
  return text;
}

describe('the logs', () => {
  it('are readable lines for a person: local time, level, message and fields, no JSON', async () => {
    const line = await written(true);
    expect(line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] INFO \(worker\): built model\n/);
    expect(line).toContain('model: "demand_price_elasticity"');
    expect(line).toContain('rows: 1234');
    expect(line).not.toContain('{"level"');
  });

  it('are JSON lines for a collector', async () => {
    const [line] = (await written(false)).trim().split('\n');
    expect(JSON.parse(line as string)).toMatchObject({
      level: 30,
      name: 'worker',
      model: 'demand_price_elasticity',
      rows: 1234,
      msg: 'built model',
    });
  });

  it('are readable on a terminal and JSON when piped, unless METERFLOW_LOG_FORMAT says', () => {
    expect(prettyByDefault({}, true)).toBe(true);
    expect(prettyByDefault({}, false)).toBe(false);
    expect(prettyByDefault({ METERFLOW_LOG_FORMAT: 'json' }, true)).toBe(false);
    expect(prettyByDefault({ METERFLOW_LOG_FORMAT: 'pretty' }, false)).toBe(true);
  });
});

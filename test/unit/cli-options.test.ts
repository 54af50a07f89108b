// The run options of the meterflow command as parsed, without running anything (runCommand is replaced).
import { buildProgram } from '../../src/cli/main';
import { runCommand } from '../../src/cli/run';

jest.mock('../../src/cli/run', () => ({ runCommand: jest.fn(async () => ({ ok: true })) }));
const parsedRun = async (...args: string[]) => {
  const run = jest.mocked(runCommand);
  run.mockClear();
  const ended: boolean[] = [];
  // the run's end, as the command would end the process: here, noted
  await buildProgram({ exitAfterRun: (ok) => void ended.push(ok) }).parseAsync([
    'node',
    'meterflow',
    'run',
    '--sources',
    '/data/sources',
    ...args,
  ]);
  expect(ended).toEqual([true]);
  return run.mock.calls[0]?.[0];
};

describe('meterflow run options', () => {
  it('passes --verify on to the run', async () => {
    expect(await parsedRun('--verify')).toMatchObject({ sources: '/data/sources', verify: true });
  });

  it('leaves verify out without --verify, so a default run reads no unchanged file', async () => {
    expect(await parsedRun()).not.toHaveProperty('verify');
  });

  it('takes --verify with --full-refresh and a selection', async () => {
    expect(await parsedRun('--verify', '--full-refresh', '--select', 'staging.*')).toMatchObject({
      verify: true,
      fullRefresh: true,
      select: ['staging.*'],
    });
  });

  it('passes --sources-moved on to the run, and leaves it out otherwise', async () => {
    expect(await parsedRun('--sources-moved')).toMatchObject({ sourcesMoved: true });
    expect(await parsedRun()).not.toHaveProperty('sourcesMoved');
  });

  it('passes --force on to the run, and leaves it out otherwise', async () => {
    expect(await parsedRun('--force')).toMatchObject({ force: true });
    expect(await parsedRun()).not.toHaveProperty('force');
  });
});

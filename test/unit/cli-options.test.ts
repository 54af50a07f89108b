// The run options of the meterflow command as parsed, without running anything (runCommand is replaced).
import { buildProgram } from '../../src/cli/main';
import { runCommand } from '../../src/cli/run';
import { targetOption, varsOption } from '../../src/cli/vars-option';
import { pipelineInputProblems } from '../../src/contract/validate';

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

describe('meterflow run --vars', () => {
  it('passes the vars on to the run, read as dbt reads --vars (YAML, JSON too)', async () => {
    expect(await parsedRun('--vars', '{region: north, cap: 3, strict: yes, since: 2024-01-01, tags: [a, b]}')).toMatchObject({
      vars: { region: 'north', cap: 3, strict: true, since: '2024-01-01', tags: ['a', 'b'] },
    });
    expect(await parsedRun('--vars', '{"region": "south", "limits": {"low": 0.5}}')).toMatchObject({
      vars: { region: 'south', limits: { low: 0.5 } },
    });
    expect(await parsedRun('--vars', 'region: west')).toMatchObject({ vars: { region: 'west' } });
    expect(await parsedRun()).not.toHaveProperty('vars');
  });

  it('refuses what is no mapping of vars, naming what it got', () => {
    expect(() => varsOption('[1, 2]')).toThrow(/give a YAML mapping of var names to values, e\.g\. .*, not a list$/);
    expect(() => varsOption('north')).toThrow(/not the text "north"$/);
    expect(() => varsOption('')).toThrow(/not nothing$/);
    expect(() => varsOption('{a: [1')).toThrow(/^not YAML: .*; give a mapping/);
    expect(() => varsOption('{a: 1, a: 2}')).toThrow(/^not YAML: /);
  });

  it("refuses meterflow's own var names and numbers a run's JSON input cannot hold", () => {
    expect(() => varsOption('{__meterflow_run_started_at: x}')).toThrow(
      "__meterflow_run_started_at: names beginning __meterflow are meterflow's own",
    );
    expect(() => varsOption('{limits: {high: .inf}}')).toThrow("limits.high is Infinity, which a run's input (JSON) cannot hold");
    expect(() => varsOption('{xs: [1, .nan]}')).toThrow('xs[1] is NaN');
  });

  it("refuses meterflow's own var names from the client SDK and `temporal workflow start` too", () => {
    const input = { sourcesUri: '/s', outUri: '/o', vars: { region: 'north', __meterflow_invocation_id: 'x' } };
    expect(pipelineInputProblems(input)).toEqual([
      `vars must not set "__meterflow_invocation_id": names beginning __meterflow are meterflow's own`,
    ]);
  });
});

describe('meterflow run --target', () => {
  it("passes the target's name on to the run, and leaves it out without --target", async () => {
    expect(await parsedRun('--target', 'prod')).toMatchObject({ target: 'prod' });
    expect(await parsedRun()).not.toHaveProperty('target');
  });

  it('refuses what is no plain name, on the command line and from the client SDK', () => {
    expect(targetOption('prod-eu.2')).toBe('prod-eu.2');
    expect(() => targetOption('prod; rm')).toThrow("'prod; rm' is no target name: give letters, digits, '_', '-' or '.'");
    expect(() => targetOption('')).toThrow(/is no target name/);
    expect(pipelineInputProblems({ sourcesUri: '/s', outUri: '/o', target: '' })).toEqual([
      `target must be a target's name (letters, digits, '_', '-' or '.'), as dbt's --target takes it, not ""`,
    ]);
    expect(pipelineInputProblems({ sourcesUri: '/s', outUri: '/o', target: 'prod' })).toEqual([]);
  });
});

// The run's lines as dbt prints them: a line per node, the closing Done count, the error summary; in
// colour only where asked. Pure: hand-made nodes.
import type { DataTestOutcome, NodeKind, NodeProgress, NodeState } from '../../src/contract/run';
import { colourWanted, doneCounts, doneLine, endLines, errorSummary, startLine } from '../../src/cli/run-lines';
import { plainProgressPrinter } from '../../src/cli/progress';

const T0 = Date.UTC(2024, 0, 31, 2, 0, 0);
const plain = { colour: false };
const ESC = '\u001b[';

function node(kind: NodeKind, name: string, state: NodeState, extra: Partial<NodeProgress> = {}): NodeProgress {
  return { id: `${kind}:${name}`, kind, name, dependsOn: [], state, ...extra };
}
const ran = (ms: number, rows?: number) => ({ startedAt: T0, finishedAt: T0 + ms, ...(rows === undefined ? {} : { rows }) });

describe("a node's line", () => {
  it('says what started and what ended, with its time and rows, the result in brackets at one column', () => {
    const seed = node('seed', 'tariff_unit_rates', 'succeeded', ran(512, 1234));
    const start = startLine(seed, ' 3 of 41', false, plain);
    expect(start).toMatch(/^ 3 of 41 START seed tariff_unit_rates \.{3,} \[RUN\]$/);
    const [done] = endLines(seed, ' 3 of 41', false, [], plain);
    expect(done).toMatch(/^ 3 of 41 OK loaded seed tariff_unit_rates \.{3,} \[OK in 0\.5s, 1,234 rows\]$/);
    // the dots fill each line to the same width, as dbt's do
    expect([start.length, done?.length]).toEqual([78, 78]);
    expect(endLines(node('model', 'm', 'failed', ran(1200)), '5 of 9', false, [], plain)).toEqual([
      expect.stringMatching(/^5 of 9 ERROR building model m \.{3,} \[ERROR in 1\.2s\]$/),
    ]);
    expect(endLines(node('model', 'm', 'unchanged', { note: 'up to date' }), '5 of 9', false, [], plain)[0]).toMatch(
      /^5 of 9 NO-OP model m \.+ \[NO-OP\]$/,
    );
    expect(endLines(node('model', 'm', 'skipped'), '5 of 9', false, [], plain)[0]).toMatch(/^5 of 9 SKIP model m \.+ \[SKIP\]$/);
  });

  it("puts a node's warnings under its OK line", () => {
    const warning = "s3://b/q1/x.parquet has a column 'note' that source q1's columns (each with a data_type) do not list: not loaded";
    const seed = node('seed', 'q1', 'succeeded', { ...ran(100, 3), warnings: [warning] });
    expect(endLines(seed, '1 of 2', false, [], plain)).toEqual([
      expect.stringMatching(/^1 of 2 OK loaded seed q1 \.+ \[OK in 0\.1s, 3 rows\]$/),
      `    WARN ${warning}`,
    ]);
  });

  it("gives a model's tests PASS, WARN n or FAIL n (failing rows, as dbt counts them) and a line for each that did not pass", () => {
    const outcomes: DataTestOutcome[] = [
      { target: 'customers', test: 'unique_customers_id', status: 'pass', failures: 0 },
      { target: 'customers', test: 'accepted_values_customers_tier', status: 'warn', failures: 2 },
    ];
    expect(endLines(node('test', 'customers', 'succeeded', ran(300)), '2 of 4', false, outcomes, plain)).toEqual([
      expect.stringMatching(/^2 of 4 WARN 2 tests on customers \.{3,} \[WARN 2 in 0\.3s\]$/),
      '    WARN 2 accepted_values_customers_tier',
    ]);
    const failing = [...outcomes, { target: 'customers', test: 'not_null_customers_id', status: 'fail' as const, failures: 5 }];
    expect(endLines(node('test', 'customers', 'failed', ran(300)), '2 of 4', false, failing, plain)).toEqual([
      expect.stringMatching(/^2 of 4 FAIL 5 tests on customers \.{3,} \[FAIL 5 in 0\.3s\]$/),
      '    WARN 2 accepted_values_customers_tier',
      '    FAIL 5 not_null_customers_id',
    ]);
    // a singular test is its own node: no second line naming it again
    const singular = [{ target: 'assert_x', test: 'assert_x', status: 'fail' as const, failures: 3 }];
    expect(endLines(node('test', 'assert_x', 'failed', ran(100)), '7 of 9', true, singular, plain)).toEqual([
      expect.stringMatching(/^7 of 9 FAIL 3 test assert_x \.{3,} \[FAIL 3 in 0\.1s\]$/),
    ]);
  });

  it('fits a terminal: the name is cut, the result never', () => {
    const long = node('analytics', 'a_very_long_analytics_model_name_that_goes_on_and_on', 'succeeded', ran(1500, 96));
    const [line] = endLines(long, '31 of 48', false, [], { colour: false, columns: 60 });
    expect(line?.length).toBeLessThan(60);
    expect(line).toMatch(/^31 of 48 OK computed analytics a.*… \.\.\. \[OK in 1\.5s, 96 rows\]$/);
    // piped, it is never cut
    expect(endLines(long, '31 of 48', false, [], plain)[0]).toContain('goes_on_and_on');
  });

  it('is in colour only when asked: a terminal, not NO_COLOR (nor TERM=dumb), or FORCE_COLOR', () => {
    const ok = node('seed', 's', 'succeeded', ran(100, 1));
    expect(endLines(ok, '1 of 1', false, [], { colour: true })[0]).toContain(`${ESC}32mOK${ESC}39m`);
    expect(endLines(ok, '1 of 1', false, [], plain)[0]).not.toContain(ESC);
    expect(colourWanted({ isTTY: true }, {})).toBe(true);
    expect(colourWanted({ isTTY: false }, {})).toBe(false);
    expect(colourWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colourWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(colourWanted({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
  });
});

describe('the lines of a run printed to a pipe', () => {
  it('start and end each node once, in the order they ended; a stopped run ends the rest as skipped', () => {
    const lines: string[] = [];
    const printer = plainProgressPrinter((line) => lines.push(line));
    const base = { workflowId: 'w', startedAt: T0, logicalDate: '2024-01-31T00:00:00.000Z', done: false };
    printer.update({ ...base, nodes: [node('seed', 'a', 'running', { startedAt: T0 }), node('model', 'b', 'pending')] });
    printer.update({
      ...base,
      nodes: [node('seed', 'a', 'succeeded', ran(1500, 10)), node('model', 'b', 'running', { startedAt: T0 + 1500 })],
    });
    printer.finish({
      ...base,
      nodes: [node('seed', 'a', 'succeeded', ran(1500, 10)), node('model', 'b', 'running', { startedAt: T0 + 1500 })],
    });
    expect(lines.map((line) => line.replace(/ \.+ /, ' … '))).toEqual([
      '1 of 2 START seed a … [RUN]',
      '1 of 2 OK loaded seed a … [OK in 1.5s, 10 rows]',
      '2 of 2 START model b … [RUN]',
      '2 of 2 SKIP model b … [SKIP]',
    ]);
  });
});

describe('the Done line', () => {
  it('counts as dbt: each test a node (a failing one an ERROR, its model still a PASS), up-to-date nodes NO-OP, what never ran SKIP', () => {
    const nodes = [
      node('seed', 'q1', 'succeeded'),
      node('model', 'stg', 'succeeded'),
      node('test', 'stg', 'failed'),
      node('seed', 'q2', 'unchanged'),
      node('model', 'master', 'skipped'),
      node('test', 'master', 'skipped'),
    ];
    const tests: DataTestOutcome[] = [
      { target: 'stg', test: 'not_null_stg_id', status: 'pass', failures: 0 },
      { target: 'stg', test: 'unique_stg_id', status: 'fail', failures: 2 },
      { target: 'stg', test: 'accepted_values_stg_kind', status: 'warn', failures: 1 },
    ];
    expect(doneCounts(nodes, tests)).toEqual({ PASS: 3, WARN: 1, ERROR: 1, SKIP: 2, 'NO-OP': 1, TOTAL: 8 });
    expect(doneLine(nodes, tests, 19_340)).toBe('Done. PASS=3 WARN=1 ERROR=1 SKIP=2 NO-OP=1 TOTAL=8 in 19.3 s');
  });
});

describe('the error summary', () => {
  it("names each failed node and its file, a failed test's failing rows and SQL, then each warning", () => {
    const nodes = [
      node('model', 'stg', 'succeeded'),
      node('test', 'stg', 'failed', { error: 'data tests of stg failed' }),
      node('model', 'x', 'failed', { error: 'Binder Error: no column y\nLINE 1: select y' }),
    ];
    const failure = {
      node: 'test:stg',
      reason: 'data tests of stg failed',
      tests: [
        {
          id: 'unique_stg_id',
          severity: 'error' as const,
          status: 'fail' as const,
          failures: 2,
          samples: [{ id: 7 }],
          sql: 'select id from stg group by id having count(*) > 1\n',
        },
      ],
    };
    const warned = [{ target: 'stg', test: 'accepted_values_stg_kind', status: 'warn' as const, failures: 1 }];
    const files = new Map([
      ['test:stg', 'models/stg.sql'],
      ['model:x', 'models/x.sql'],
    ]);
    expect(errorSummary(nodes, warned, failure, (n) => files.get(n.id), plain)).toEqual([
      'Completed with 2 errors and 1 warning:',
      '',
      'Failure in tests on stg (models/stg.sql)',
      '  unique_stg_id: 2 failing rows (fail)',
      '    {"id":7}',
      '    sql (its rows are the failures):',
      '      select id from stg group by id having count(*) > 1',
      '',
      'Error in model x (models/x.sql)',
      '  Binder Error: no column y',
      '  LINE 1: select y',
      '',
      'Warning in accepted_values_stg_kind on stg: 1 failing row',
    ]);
  });

  it("says the run's own failure when no node holds it", () => {
    expect(
      errorSummary([node('seed', 'a', 'skipped')], [], { reason: 'bad input: sourcesUri is relative' }, () => undefined, plain),
    ).toEqual(['Completed with 1 error and 0 warnings:', '', 'Error: bad input: sourcesUri is relative']);
  });
});

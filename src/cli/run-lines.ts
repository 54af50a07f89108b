// A run's lines as dbt prints them: one per node as it starts and as it ends (`3 of 41 OK loaded seed
// x ..... [OK in 0.5s, 1,234 rows]`), the closing `Done. PASS=…` counted as dbt counts (each data test
// a node of its own; a failing test fails itself, not its model) and, after a failure, a summary of each
// error. Pure text: colour is a choice passed in (a terminal, not NO_COLOR).
import { createColors } from 'picocolors';
import type { RunFailure } from '../contract/activities';
import type { DataTestOutcome, NodeProgress } from '../contract/run';

export interface LineStyle {
  readonly colour: boolean;
  /** A terminal's width: lines are cut to fit it. Absent (a pipe, a file): lines are never cut. */
  readonly columns?: number;
}

/** Colour on a terminal unless NO_COLOR is set (https://no-color.org); FORCE_COLOR turns it on anywhere. */
export function colourWanted(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** dbt's lines put the result in brackets from about this column on. */
const RESULT_COLUMN = 78;

const plural = (count: number, word: string) => `${count.toLocaleString('en-GB')} ${word}${count === 1 ? '' : 's'}`;

type Tone = 'good' | 'warn' | 'bad' | 'quiet';

function paint(style: LineStyle, tone: Tone, text: string): string {
  const colours = createColors(style.colour);
  const by: Record<Tone, (text: string) => string> = { good: colours.green, warn: colours.yellow, bad: colours.red, quiet: colours.dim };
  return by[tone](text);
}

function seconds(node: NodeProgress): string {
  return node.startedAt !== undefined && node.finishedAt !== undefined ? `${((node.finishedAt - node.startedAt) / 1000).toFixed(1)}s` : '';
}

/** What a node is, in words: `seed x`, `model x`, `tests on x` (a model's) or `test x` (a singular test). */
export function nodeSubject(node: NodeProgress, singular: boolean): string {
  switch (node.kind) {
    case 'test':
      return singular ? `test ${node.name}` : `tests on ${node.name}`;
    case 'analytics':
      return `analytics ${node.name}`;
    case 'snapshot':
      return 'pin of the lake version';
    case 'publish':
    case 'report':
      return node.kind;
    default:
      return `${node.kind} ${node.name}`;
  }
}

/** What a node that succeeded did, in words. */
function doneText(node: NodeProgress, what: string): string {
  switch (node.kind) {
    case 'seed':
      return `loaded ${what}`;
    case 'model':
      return `built ${what}`;
    case 'analytics':
      return `computed ${what}`;
    case 'snapshot':
      return `pinned ${node.note ?? 'the lake version'}`;
    case 'publish':
      return "published the run's tables";
    case 'report':
      return 'wrote the report';
    default:
      return `ran ${what}`;
  }
}

const FAILED_VERB: Partial<Record<NodeProgress['kind'], string>> = {
  seed: 'loading',
  model: 'building',
  analytics: 'computing',
  snapshot: 'making',
  publish: 'making',
  report: 'writing',
};

/** `<n> of <total> <STATUS> <what> ..... [<result>]`, the dots filling to dbt's column, cut to a terminal's width. */
function layout(style: LineStyle, position: string, status: { text: string; tone: Tone }, what: string, result: string): string {
  const bracket = `[${result}]`;
  let left = `${position} ${status.text} ${what}`;
  const room = style.columns === undefined ? Infinity : style.columns - 1 - bracket.length - 5;
  if (left.length > room) left = `${left.slice(0, Math.max(position.length + status.text.length + 2, room - 1))}…`;
  const dots = '.'.repeat(
    Math.max(
      3,
      Math.min(RESULT_COLUMN - left.length - bracket.length - 2, (style.columns ?? Infinity) - 1 - left.length - bracket.length - 2),
    ),
  );
  const painted = left.replace(` ${status.text} `, ` ${paint(style, status.tone, status.text)} `);
  return `${painted} ${paint(style, 'quiet', dots)} [${paint(style, status.tone, result)}]`;
}

/** The line of a node that starts. */
export function startLine(node: NodeProgress, position: string, singular: boolean, style: LineStyle): string {
  return layout(style, position, { text: 'START', tone: 'quiet' }, nodeSubject(node, singular), 'RUN');
}

/** A test node's verdict from its tests' outcomes: PASS, WARN n or FAIL n (n: failing rows, as dbt counts them). */
function testVerdict(node: NodeProgress, outcomes: readonly DataTestOutcome[]): { text: string; tone: Tone } {
  const failing = (status: DataTestOutcome['status']) =>
    outcomes.filter((o) => o.status === status).reduce((sum, o) => sum + o.failures, 0);
  if (node.state === 'failed') {
    const rows = failing('fail');
    return { text: outcomes.length > 0 ? `FAIL ${rows}` : 'ERROR', tone: 'bad' };
  }
  return outcomes.some((o) => o.status === 'warn') ? { text: `WARN ${failing('warn')}`, tone: 'warn' } : { text: 'PASS', tone: 'good' };
}

/**
 * The lines of a node that has ended: its own, then (a test node) one per test that warned or failed.
 * `outcomes` are the node's data tests, when it is a test node and the run reported them.
 */
export function endLines(
  node: NodeProgress,
  position: string,
  singular: boolean,
  outcomes: readonly DataTestOutcome[],
  style: LineStyle,
): string[] {
  const what = nodeSubject(node, singular);
  const took = seconds(node);
  const rows = node.rows === undefined || node.rows === null ? '' : `, ${plural(node.rows, 'row')}`;
  switch (node.state) {
    case 'skipped':
    case 'pending':
    case 'running':
      return [layout(style, position, { text: 'SKIP', tone: 'warn' }, what, 'SKIP')];
    case 'unchanged':
      // why it was up to date is in the report and `status`; dbt's NO-OP lines say no more
      return [layout(style, position, { text: 'NO-OP', tone: 'quiet' }, what, 'NO-OP')];
    case 'failed':
    case 'succeeded': {
      if (node.kind === 'test') {
        const verdict = testVerdict(node, outcomes);
        const tests = outcomes
          // a singular test is its node: its verdict says it all
          .filter((o) => o.status !== 'pass' && o.test !== node.name)
          .map((o) => `    ${paint(style, o.status === 'fail' ? 'bad' : 'warn', `${o.status.toUpperCase()} ${o.failures}`)} ${o.test}`);
        return [layout(style, position, verdict, what, `${verdict.text} in ${took}`), ...tests];
      }
      if (node.state === 'failed') {
        return [
          layout(style, position, { text: 'ERROR', tone: 'bad' }, `${FAILED_VERB[node.kind] ?? 'running'} ${what}`, `ERROR in ${took}`),
        ];
      }
      const warnings = (node.warnings ?? []).map((warning) => `    ${paint(style, 'warn', 'WARN')} ${warning}`);
      return [layout(style, position, { text: 'OK', tone: 'good' }, doneText(node, what), `OK in ${took}${rows}`), ...warnings];
    }
  }
}

export interface DoneCounts {
  PASS: number;
  WARN: number;
  ERROR: number;
  SKIP: number;
  'NO-OP': number;
  TOTAL: number;
}

/**
 * Counted as dbt counts: each data test is a node of its own (pass, warn, fail as ERROR), as is each seed
 * and model; an up-to-date node is a NO-OP; what never ran (its input failed, the run stopped) a SKIP.
 * A test node whose tests the run did not report counts once.
 */
export function doneCounts(nodes: readonly NodeProgress[], dataTests: readonly DataTestOutcome[]): DoneCounts {
  const counts: DoneCounts = { PASS: 0, WARN: 0, ERROR: 0, SKIP: 0, 'NO-OP': 0, TOTAL: 0 };
  for (const node of nodes) {
    const outcomes = node.kind === 'test' ? dataTests.filter((t) => t.target === node.name) : [];
    if (outcomes.length > 0 && (node.state === 'succeeded' || node.state === 'failed')) {
      for (const o of outcomes) counts[o.status === 'pass' ? 'PASS' : o.status === 'warn' ? 'WARN' : 'ERROR'] += 1;
      continue;
    }
    if (node.state === 'succeeded') counts.PASS += 1;
    else if (node.state === 'failed') counts.ERROR += 1;
    else if (node.state === 'unchanged') counts['NO-OP'] += 1;
    else counts.SKIP += 1;
  }
  counts.TOTAL = counts.PASS + counts.WARN + counts.ERROR + counts.SKIP + counts['NO-OP'];
  return counts;
}

/** `Done. PASS=40 WARN=1 ERROR=0 SKIP=0 NO-OP=3 TOTAL=44 in 12.3 s` */
export function doneLine(nodes: readonly NodeProgress[], dataTests: readonly DataTestOutcome[], elapsedMs: number): string {
  const counts = doneCounts(nodes, dataTests);
  const text = Object.entries(counts)
    .map(([name, count]) => `${name}=${count}`)
    .join(' ');
  return `Done. ${text} in ${(elapsedMs / 1000).toFixed(1)} s`;
}

/** A failed run's failure as the client reads it: the node, why, and a failed test's samples and SQL. */
export interface FailureSummary {
  readonly node?: string;
  readonly reason: string;
  readonly tests?: RunFailure['tests'];
}

/** Each failed test's failing rows (a sample) and the SQL whose rows they are. */
export function failedTestLines(tests: RunFailure['tests'] = []): string[] {
  const lines: string[] = [];
  for (const test of tests) {
    lines.push(`${test.id}: ${test.failures.toLocaleString('en-GB')} failing ${test.failures === 1 ? 'row' : 'rows'} (${test.status})`);
    for (const row of test.samples ?? []) lines.push(`  ${JSON.stringify(row)}`);
    if (test.sql)
      lines.push(
        '  sql (its rows are the failures):',
        ...test.sql
          .trimEnd()
          .split('\n')
          .map((sqlLine) => `    ${sqlLine}`),
      );
  }
  return lines;
}

/**
 * After a failed run, as dbt ends one: each error (the node, its file, its message and, for a failed
 * test, its failing rows and SQL), then each warning. `fileOf` names a node's file in the project.
 */
export function errorSummary(
  nodes: readonly NodeProgress[],
  dataTests: readonly DataTestOutcome[],
  failure: FailureSummary | undefined,
  fileOf: (node: NodeProgress) => string | undefined,
  style: LineStyle,
): string[] {
  const failed = nodes.filter((node) => node.state === 'failed');
  const warned = dataTests.filter((test) => test.status === 'warn');
  const lines = [`Completed with ${plural(Math.max(failed.length, 1), 'error')} and ${plural(warned.length, 'warning')}:`];
  const singular = singularTests(nodes);
  for (const node of failed) {
    const file = fileOf(node);
    const title = `${node.kind === 'test' ? 'Failure in' : 'Error in'} ${nodeSubject(node, singular.has(node.id))}${file ? ` (${file})` : ''}`;
    lines.push('', paint(style, 'bad', title));
    const tests = failure?.node === node.id ? (failure.tests ?? []) : [];
    const message = tests.length > 0 ? undefined : (node.error ?? (failure?.node === node.id ? failure.reason : undefined));
    if (message) lines.push(...message.split('\n').map((line) => `  ${line}`));
    lines.push(...failedTestLines(tests).map((line) => `  ${line}`));
  }
  // a failure no node holds (the run's input, a workflow error)
  if (failed.length === 0 || (failure?.node !== undefined && !failed.some((node) => node.id === failure.node))) {
    lines.push('', paint(style, 'bad', `Error${failure?.node ? ` at ${failure.node}` : ''}: ${failure?.reason ?? 'the run failed'}`));
  }
  for (const test of warned) {
    lines.push('', paint(style, 'warn', `Warning in ${test.test} on ${test.target}: ${plural(test.failures, 'failing row')}`));
  }
  return lines;
}

/** The ids of test nodes that are singular tests (no other node of their name), not a model's tests. */
export function singularTests(nodes: readonly NodeProgress[]): Set<string> {
  const named = new Set(nodes.filter((node) => node.kind !== 'test').map((node) => node.name));
  return new Set(nodes.filter((node) => node.kind === 'test' && !named.has(node.name)).map((node) => node.id));
}

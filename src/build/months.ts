// Per-month builds of the big models on the build queue: any number of build workers, on any machine,
// each reading the lake's committed version (this run's unpublished upstream tables included) and
// writing one month's Parquet file into the lake's data path. They commit nothing: the writer makes
// the run's files current in one commit (commitBuiltMonths).
import type { DuckDBConnection } from '@duckdb/node-api';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type {
  BuildModelInput,
  BuildMonthInput,
  BuildMonthResult,
  DataTestResult,
  EventWindow,
  RunSingularTestInput,
  TestMonthInput,
} from '../contract/activities';
import { monthWindow, monthsBetween } from '../contract/time';
import { ModelBuildError, ProjectError, SourceDataError } from '../errors';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { DataTest, ModelNode } from '../project/types';
import type { RelationResolver } from '../project/render';
import { quotedString } from '../duckdb/sql';
import { withWarehouseReader, type DuckdbSettings } from '../warehouse/warehouse';
import { lakeDataPath } from './month-files';
import { uninterruptible, type Interruptible } from './context';
import { buildKey } from './housekeeping';
import { runDataTests } from '../warehouse/data-tests';
import { MODEL_SCHEMA, findModel, holdsWithinWindow, modelSqlError, renderModelSql, warehouseResolver } from './model-sql';
import { singularTestResult } from './model-tests';

/** What a build worker's month builds are given. */
export interface MonthContext {
  readonly project: LoadedProject;
  readonly logger: Logger;
  /** The build workers' DuckDB: bounded memory by default, like the writer's. */
  readonly duckdb: DuckdbSettings;
  /** A cancelled activity interrupts its DuckDB work; by default nothing does. */
  readonly interruptible?: Interruptible;
}

/**
 * Refs and sources of a model (or singular test) as one month of it reads them: this run's unpublished
 * versions of the models it rebuilt (their changed rows alone where rebuilt over the same window), the
 * published ones otherwise, and every input with an event time within the month's window only.
 */
const monthResolver = (
  project: LoadedProject,
  { buildId, pendingRefs = [], windowRefs = [] }: BuildModelInput | RunSingularTestInput,
  window: EventWindow,
): RelationResolver => warehouseResolver(project, { buildId, models: pendingRefs }, { window, windowRefs });

/** A model's tests that a month's rows decide alone: those an incremental build runs on its window, bar relationships. */
const isMonthLocal = (test: DataTest, eventTime: string) => test.kind !== 'relationships' && holdsWithinWindow(test, eventTime);

const EVERYTHING = { from: '0001-01-01 00:00:00', to: '9999-12-31 23:59:59.999999' };

/** The inputs of a model or singular test that have an event time, as a month build reads them (window aside). */
function timedInputs(
  project: LoadedProject,
  node: { refs: readonly string[]; sources: readonly string[] },
  input: BuildModelInput | RunSingularTestInput,
): { sql: string; column: string }[] {
  const resolver = monthResolver(project, input, input.window ?? EVERYTHING);
  return [
    ...node.refs.flatMap((ref) => {
      const column = project.plan.models.find((m) => m.name === ref)?.eventTime;
      return column ? [{ sql: resolver.ref(ref), column }] : [];
    }),
    ...project.plan.sources
      .filter((s) => s.eventTime && node.sources.includes(s.name))
      .map((s) => ({ sql: resolver.source(s.sourceName, s.name), column: s.eventTime as string })),
  ];
}

/**
 * More months than this in one build is a run gone wrong (readings dated 1900 or 2200 that a wide
 * event-time window let in, say), not data. The run's pending month activities are bounded anyway
 * (workflows/slots.ts), but each month adds events to the run's history, which Temporal caps (51,200
 * events): fifty years of several per-month models stays well inside it.
 * METERFLOW_MAX_BUILD_MONTHS raises it for a lake that really spans more.
 */
export const MAX_BUILD_MONTHS = 600;

function maxBuildMonths(env: NodeJS.ProcessEnv = process.env): number {
  const limit = Number(env.METERFLOW_MAX_BUILD_MONTHS);
  return Number.isInteger(limit) && limit > 0 ? limit : MAX_BUILD_MONTHS;
}

/** Each input's first and last event time, with the source files that hold them (raw tables know their files). */
async function eventTimeExtremes(connection: DuckDBConnection, inputs: readonly { sql: string; column: string }[]): Promise<string[]> {
  const lines: string[] = [];
  for (const { sql, column } of inputs) {
    const byFile = `select _source_file as file, min(${column}) as first, max(${column}) as last from ${sql} group by all`;
    const extremes = await connection
      .runAndReadAll(
        `select arg_min(file, first), strftime(min(first), '%Y-%m-%d %H:%M:%S'), arg_max(file, last), strftime(max(last), '%Y-%m-%d %H:%M:%S') from (${byFile})`,
      )
      .then((reader) => reader.getRows()[0])
      .catch(() => undefined);
    if (extremes) lines.push(`${sql} from ${extremes[1]} (${extremes[0]}) to ${extremes[3]} (${extremes[2]})`);
  }
  return lines;
}

/** Every month between the first and last event time of the inputs (min and max only are read). */
async function monthsOf(
  warehouse: string,
  duckdb: DuckdbSettings,
  inputs: { sql: string; column: string }[],
  what: string,
): Promise<string[]> {
  if (inputs.length === 0) return [];
  const bounds = inputs
    .map(({ sql, column }) => `select min(${column}) as first, max(${column}) as last from ${sql}`)
    .join('\nunion all\n');
  return withWarehouseReader(warehouse, { settings: duckdb }, (reader) =>
    reader.withConnection(async (connection) => {
      const row = (
        await connection.runAndReadAll(
          `select strftime(min(first), '%Y-%m-%d %H:%M:%S'), strftime(max(last), '%Y-%m-%d %H:%M:%S') from (${bounds})`,
        )
      ).getRows()[0];
      const [first, last] = [row?.[0], row?.[1]] as [string | null, string | null];
      const months = first && last ? monthsBetween(first, last) : [];
      if (months.length > maxBuildMonths()) {
        const extremes = await eventTimeExtremes(connection, inputs);
        throw new SourceDataError(
          `${what} would be built over ${months.length} months, ${months[0]} to ${months[months.length - 1]}, more than the ` +
            `${maxBuildMonths()} a run builds (METERFLOW_MAX_BUILD_MONTHS): event times out of the data's years? ` +
            `${extremes.join('; ')}. Fix or remove those files, then run again`,
          what,
        );
      }
      return months;
    }),
  );
}

/** Where a month's file goes: the model's folder, a year=/month= folder, named by execution and month. */
export function monthFile(dataPath: string, model: string, month: string, fileKey: string): string {
  const [year, index] = month.split('-');
  const base = dataPath.endsWith('/') ? dataPath : `${dataPath}/`;
  return `${base}${MODEL_SCHEMA}/${model}/year=${year}/month=${Number(index)}/${model}-${buildKey(fileKey)}-${month}.parquet`;
}

/**
 * The months a model's build covers: every month between the first and last event time of its
 * inputs that have one (within the window, for an incremental build). Reads min and max only.
 */
export async function planBuildMonths({ project, duckdb }: MonthContext, input: BuildModelInput): Promise<{ months: string[] }> {
  const model = findModel(project, input.model);
  const inputs = timedInputs(project, model, input);
  if (inputs.length === 0 || !model.eventTime) {
    throw new ModelBuildError(
      `model ${model.name} (${model.file}): built per month, but none of its inputs has an event_time`,
      model.name,
      model.file,
    );
  }
  return { months: await monthsOf(input.warehouse as string, duckdb, inputs, `model ${model.name}`) };
}

/** The months a singular test over inputs that all have an event time reads (within the window, if any). */
export async function planTestMonths({ project, duckdb }: MonthContext, input: RunSingularTestInput): Promise<{ months: string[] }> {
  const test = project.plan.singularTests.find((t) => t.name === input.test);
  if (!test) throw new ProjectError(`no singular test named '${input.test}' in ${project.dir}`);
  return { months: await monthsOf(input.warehouse as string, duckdb, timedInputs(project, test, input), `test ${test.name}`) };
}

/**
 * One month of a singular test, on a build worker: its inputs read within the month (and the run's
 * window). Returns its result, a failing one included.
 */
export async function testMonth(
  { project, duckdb, interruptible = uninterruptible }: MonthContext,
  input: TestMonthInput,
): Promise<DataTestResult> {
  const window = monthWindow(input.month, input.window);
  const test = project.plan.singularTests.find((t) => t.name === input.test);
  if (!window) return { id: input.test, severity: test?.severity ?? 'error', failures: 0, status: 'pass' };
  const resolver = monthResolver(project, input, window);
  return withWarehouseReader(input.warehouse as string, { settings: duckdb }, (reader) =>
    reader.withConnection((connection) => interruptible(connection, () => singularTestResult(connection, project, input.test, resolver))),
  );
}

/** A month's rows written to its file, and the tests that judge a month's rows alone run on it. */
async function writeMonth(
  connection: DuckDBConnection,
  dataPath: string,
  model: ModelNode,
  { month, fileKey }: BuildMonthInput,
  sql: string,
): Promise<{ file: string; rows: number; tests: (DataTestResult | null)[] }> {
  const file = monthFile(dataPath, model.name, month, fileKey);
  if (!file.startsWith('s3://')) await mkdir(path.dirname(file), { recursive: true });
  try {
    const copied = await connection.runAndReadAll(`copy (${sql}) to ${quotedString(file)} (format parquet)`);
    const rows = Number(copied.getRows()[0]?.[0] ?? 0);
    // the tests that judge a month's rows alone, on the file just written, in the same worker
    const local = model.eventTime ? model.tests.filter((t) => isMonthLocal(t, model.eventTime as string)) : [];
    const tested =
      rows > 0 && local.length > 0
        ? await runDataTests(connection, local, `read_parquet(${quotedString(file)})`, () => {
            throw new Error('relationships tests are run on the whole table');
          })
        : { results: local.map((t) => ({ id: t.id, severity: t.severity, failures: 0, status: 'pass' as const })) };
    let next = 0;
    const tests = model.tests.map((t) => (local.includes(t) ? (tested.results[next++] ?? null) : null));
    return { file, rows, tests };
  } catch (err) {
    throw modelSqlError(err, model, ` (building month ${month})`);
  }
}

/**
 * Build one month of a model: its rows for the month's event times (within the run's window, for an
 * incremental build), written to one Parquet file in the lake's data path. A retry overwrites its own
 * file; nothing is committed here.
 */
export async function buildMonth(
  { project, logger, duckdb, interruptible = uninterruptible }: MonthContext,
  input: BuildMonthInput,
): Promise<BuildMonthResult> {
  const { model: name, month } = input;
  const started = Date.now();
  const model = findModel(project, name);
  const window = monthWindow(month, input.window);
  if (!window) return { model: name, month, files: [], rows: 0, durationMs: Date.now() - started };
  const sql = renderModelSql(project, model, monthResolver(project, input, window), input.vars);
  const rows = await withWarehouseReader(input.warehouse as string, { settings: duckdb }, (reader) =>
    reader.withConnection((connection) =>
      interruptible(connection, async () => writeMonth(connection, await lakeDataPath(connection, reader.alias), model, input, sql)),
    ),
  );
  logger.info({ model: name, month, rows: rows.rows, file: rows.file }, 'built month');
  // an empty month's file is left to maintenance (an orphan): nothing refers to it
  return {
    model: name,
    month,
    files: rows.rows > 0 ? [{ path: rows.file, rows: rows.rows }] : [],
    rows: rows.rows,
    durationMs: Date.now() - started,
    tests: rows.tests,
  };
}

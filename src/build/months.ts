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
  BuildMonthsPlan,
  DataTestResult,
  EventWindow,
  MonthPart,
  RunSingularTestInput,
  TestMonthInput,
} from '../contract/activities';
import { partLabel } from '../contract/activities';
import { monthWindow, monthsBetween } from '../contract/time';
import { ModelBuildError, ProjectError, SourceDataError } from '../errors';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { tableOf, type DataTest, type ModelNode } from '../project/types';
import type { RelationResolver } from '../project/render';
import { quotedIdentifier, quotedString, readParquet, relation } from '../duckdb/sql';
import type { DuckdbSettings } from '../duckdb/settings';
import { filesOf, relationsOf } from '../duckdb/lake-tables';
import { countRows, existingKind, rowCounter, type CountRows } from './relations';
import { withWarehouseReader } from '../warehouse/warehouse';
import { lakeDataPath } from './month-files';
import { uninterruptible, type Interruptible } from './context';
import { buildKey } from './housekeeping';
import { columnTypesOf, runDataTests } from '../warehouse/data-tests';
import { boundsFromFooters } from './key-statistics';
import { fileStatistics } from '../warehouse/file-statistics';
import {
  findModel,
  holdsWithinWindow,
  inPart,
  modelSqlError,
  refTable,
  seedRelation,
  warehouseResolver,
  type SplitPart,
} from './model-sql';
import { modelSqlToRun } from './render-answered';
import { singularTestResult } from './model-tests';
import { inputColumns } from './columns';
import { refuseRowsOutsideWindow } from './window-rows';
import { fullestMonthRows, type MonthRowsInput } from './month-rows';

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
  part?: SplitPart,
): RelationResolver => warehouseResolver(project, { buildId, models: pendingRefs }, { window, windowRefs, ...(part ? { part } : {}) });

/** A model's tests that a month's rows decide alone: those an incremental build runs on its window, bar relationships. */
const isMonthLocal = (test: DataTest, eventTime: string) => test.kind !== 'relationships' && holdsWithinWindow(test, eventTime);

/**
 * The model's tests a file of its rows decides alone: a month's, or a part's of a month (those that
 * also hold within a slice of the split column: row by row, or uniqueness on keys that hold it).
 */
function fileLocalTests(model: ModelNode, part: SplitPart | undefined): DataTest[] {
  const eventTime = model.eventTime;
  if (!eventTime) return [];
  return model.tests.filter((t) => isMonthLocal(t, eventTime) && (!part || holdsWithinWindow(t, part.column)));
}

const EVERYTHING = { from: '0001-01-01 00:00:00', to: '9999-12-31 23:59:59.999999' };

/**
 * Every input of a model or singular test as a month build reads it (those with an event time within
 * the window, if any), with its event time where it has one and, read whole, its lake table: the
 * table's file statistics can then stand for its rows.
 */
function planInputs(
  project: LoadedProject,
  node: { refs: readonly string[]; sources: readonly string[] },
  input: BuildModelInput | RunSingularTestInput,
): PlanInput[] {
  const resolver = monthResolver(project, input, input.window ?? EVERYTHING);
  const whole = (table: { schema: string; name: string }) => (input.window ? {} : { table });
  const pending = { buildId: input.buildId, models: input.pendingRefs ?? [] };
  const timed = (column: string | undefined) => (column ? { column } : {});
  return [
    ...node.refs.map((ref) => ({
      sql: resolver.ref(ref),
      ...timed(project.plan.models.find((m) => m.name === ref)?.eventTime),
      ...(seedRelation(project, ref) ? {} : whole(refTable(findModel(project, ref), pending, input.windowRefs ?? []))),
    })),
    ...project.plan.sources
      .filter((s) => node.sources.includes(s.name))
      .map((s) => ({
        sql: resolver.source(s.sourceName, s.name),
        files: relation(s.schema, s.name),
        ...timed(s.eventTime),
        ...whole({ schema: s.schema, name: s.name }),
      })),
  ];
}

/** An input of a month plan: its event time, if it has one. */
type PlanInput = Omit<MonthRowsInput, 'column'> & {
  readonly column?: string;
  /** A source's raw table, whose rows know their files: the extremes of a run gone wrong name them. */
  readonly files?: string;
};

/** The inputs that have an event time, of those planInputs gives. */
const timedOf = (inputs: readonly PlanInput[]): (MonthRowsInput & { files?: string })[] =>
  inputs.filter((input): input is MonthRowsInput & { files?: string } => input.column !== undefined);

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
async function eventTimeExtremes(
  connection: DuckDBConnection,
  inputs: readonly { sql: string; column: string; files?: string }[],
): Promise<string[]> {
  const lines: string[] = [];
  for (const { sql, column, files } of inputs) {
    const byFile = `select _source_file as file, min(${column}) as first, max(${column}) as last from ${files ?? sql} group by all`;
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
async function monthsWithin(
  connection: DuckDBConnection,
  inputs: { sql: string; column: string; files?: string }[],
  what: string,
): Promise<string[]> {
  if (inputs.length === 0) return [];
  const bounds = inputs
    .map(({ sql, column }) => `select min(${column}) as first, max(${column}) as last from ${sql}`)
    .join('\nunion all\n');
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
}

/**
 * A Parquet row of a model whose size is not known yet (never built), for choosing its parts: a little
 * over the shipped master's 21 bytes, so a first build errs towards smaller parts.
 */
export const UNKNOWN_BYTES_PER_ROW = 32;

/** Bytes per row of the model's published table (its files over its rows); undefined when it has none. */
async function publishedBytesPerRow(connection: DuckDBConnection, alias: string, model: ModelNode): Promise<number | undefined> {
  const table = tableOf(model);
  if ((await existingKind(connection, table)) !== 'table') return undefined;
  const bytes = (await filesOf(connection, alias, table.name, table.schema)).reduce((sum, file) => sum + file.sizeBytes, 0);
  const rows = await countRows(connection, relation(table.schema, table.name));
  return rows > 0 && bytes > 0 ? bytes / rows : undefined;
}

/** How many parts a month's Parquet of `rows` rows is cut into so that each stays under the target size. */
export function partsFor(rows: number, bytesPerRow: number, targetMb: number): number {
  return Math.max(1, Math.ceil((rows * bytesPerRow) / (targetMb * 1024 * 1024)));
}

/**
 * The parts of a split model's months: its inputs' rows in their fullest month (inputs added up, from
 * their files' statistics where those decide it: month-rows.ts), at the model's published bytes per
 * row, cut to the model's target part size. One N for every month.
 */
async function partsOf(
  connection: DuckDBConnection,
  alias: string,
  model: ModelNode,
  inputs: readonly MonthRowsInput[],
  count: CountRows,
): Promise<number> {
  if (!model.split) return 1;
  const rows = await fullestMonthRows(connection, alias, inputs, count);
  const bytesPerRow = (await publishedBytesPerRow(connection, alias, model)) ?? UNKNOWN_BYTES_PER_ROW;
  return partsFor(rows, bytesPerRow, model.split.targetMb);
}

/**
 * The split key's bounds between `parts` parts holding about as many keys each: quantiles of the
 * distinct keys of an input that has the column, ascending in `keyType` (the key's type in the
 * model's rows, where a part's range is compared), without repeats, so possibly fewer; written as
 * text, which a part's range compares as that type again. A lake table read whole gives them from its
 * files' footers where its row groups hardly overlap (sorted by the key: key-statistics.ts), without
 * reading its keys. The first input that gives every bound is taken, or else the one that gives most;
 * undefined when no input has the column: the parts are then cut by hash.
 */
export async function splitBounds(
  connection: DuckDBConnection,
  column: string,
  inputs: readonly { sql: string; table?: { schema: string; name: string } }[],
  parts: number,
  keyType: string,
  alias?: string,
): Promise<string[] | undefined> {
  const key = quotedIdentifier(column);
  const fractions = Array.from({ length: parts - 1 }, (_, i) => (i + 1) / parts);
  let best: string[] | undefined;
  for (const { sql, table } of inputs) {
    if (!(await columnTypesOf(connection, sql)).has(column)) continue;
    // a lake table read whole: from its files' footers where they cut it well (key-statistics.ts)
    const fromFooters = alias && table ? await boundsFromFooters(connection, alias, table, column, parts, keyType) : undefined;
    // NOTE: ordered as the type the parts compare in, then written as text: ordered as text, the
    // bounds of a numeric key (99 and 100, -5 and -10) came out of order, and the parts overlapped.
    // An input's key that the model's type cannot hold gives no bound (try_cast).
    const bounds =
      fromFooters ??
      (
        await connection.runAndReadAll(
          `select bound::varchar from (select distinct try_cast(q as ${keyType}) as bound ` +
            `from (select unnest(quantile_disc(${key}, [${fractions.join(', ')}])) as q ` +
            `from (select distinct ${key} from ${sql} where ${key} is not null))) where bound is not null order by bound`,
        )
      )
        .getRows()
        .map(([bound]) => String(bound));
    if (!best || bounds.length > best.length) best = bounds;
    if (bounds.length === fractions.length) break;
  }
  return best;
}

/**
 * The split key's type in a model's rows, after checking that every ref split by the same column has
 * it too: such a ref is read part by part (its rows in the part's range), and a range compared in
 * another type (text against numbers, say) would not cut it as the model's rows are cut.
 */
export function splitKeyType(
  model: ModelNode,
  column: string,
  rowsType: string | undefined,
  refTypes: ReadonlyMap<string, string | undefined>,
): string {
  const where = `model ${model.name} (${model.file})`;
  if (rowsType === undefined)
    throw new ModelBuildError(
      `${where}: meta.meterflow.split_by '${column}', but its rows have no column '${column}'`,
      model.name,
      model.file,
    );
  for (const [ref, type] of refTypes) {
    if (type !== rowsType)
      throw new ModelBuildError(
        `${where}: split_by '${column}' is ${rowsType} in its rows but ${type ?? 'absent'} in '${ref}', which is split by '${column}' too and read part by part: ` +
          `give '${column}' one type in both, or drop split_by from one of them`,
        model.name,
        model.file,
      );
  }
  return rowsType;
}

/** The split key's type in the model's rows, described (not run), checked against the refs split by it too (splitKeyType). */
async function describeSplitKey(
  connection: DuckDBConnection,
  project: LoadedProject,
  model: ModelNode,
  input: BuildModelInput,
  column: string,
): Promise<string> {
  const resolver = monthResolver(project, input, input.window ?? EVERYTHING);
  const sql = await modelSqlToRun(connection, project, model, resolver, input.vars);
  const rows = await columnTypesOf(connection, `(\n${sql}\n)`);
  const refTypes = new Map<string, string | undefined>();
  for (const ref of model.refs) {
    if (project.plan.models.find((m) => m.name === ref)?.split?.column !== column) continue;
    refTypes.set(ref, (await columnTypesOf(connection, resolver.ref(ref))).get(column));
  }
  return splitKeyType(model, column, rows.get(column), refTypes);
}

/**
 * Inputs in the order their keys are looked at for a split's bounds: lake tables read whole first,
 * fewest rows first (counted from the catalog), then the others in their order. At 2,000 meters the
 * master's keys from its segments' table take milliseconds, from the readings 0.15 s.
 */
async function fewestRowsFirst(connection: DuckDBConnection, inputs: readonly PlanInput[], count: CountRows): Promise<PlanInput[]> {
  const tables = new Set((await relationsOf(connection)).filter((r) => r.kind === 'table').map((r) => `${r.schema}.${r.name}`));
  const sized: { input: PlanInput; rows: number }[] = [];
  const rest: PlanInput[] = [];
  for (const input of inputs) {
    if (input.table && tables.has(`${input.table.schema}.${input.table.name}`))
      sized.push({ input, rows: await count(relation(input.table.schema, input.table.name)) });
    else rest.push(input);
  }
  return [...sized.sort((a, b) => a.rows - b.rows).map(({ input }) => input), ...rest];
}

/**
 * Whether any input that has the split key holds a NULL key. split_by declares that a row with a key
 * is computed from its inputs' rows with that key: with none NULL, no part needs to hold NULL keys.
 */
export async function hasNullKeys(connection: DuckDBConnection, column: string, inputs: readonly { sql: string }[]): Promise<boolean> {
  const key = quotedIdentifier(column);
  for (const { sql } of inputs) {
    // an input that cannot be described here (an ephemeral model, say) may hold NULL keys
    const columns = await columnTypesOf(connection, sql).catch(() => undefined);
    if (!columns) return true;
    if (!columns.has(column)) continue;
    // NOTE: no footers needed: DuckDB skips every row group whose statistics count no NULL in the key
    // (a quarter of raw readings at 2,000 meters: 6 ms)
    const nulls = await connection.runAndReadAll(`select exists (select 1 from ${sql} where ${key} is null)`);
    if (nulls.getRows()[0]?.[0] !== false) return true;
  }
  return false;
}

/** A split model's parts: how many, the key's bounds between them (none: by hash), and whether NULL keys occur. */
async function splitPlan(
  connection: DuckDBConnection,
  alias: string,
  model: ModelNode,
  inputs: readonly MonthRowsInput[],
  everyInput: readonly PlanInput[],
  keyType: () => Promise<string>,
): Promise<Pick<BuildMonthsPlan, 'parts' | 'bounds' | 'nullKeys'>> {
  // a table's rows are counted once for the plan: the statistics' check and the inputs' order both ask
  const count = rowCounter(connection);
  const parts = await partsOf(connection, alias, model, inputs, count);
  if (parts <= 1 || !model.split) return {};
  const type = await keyType();
  const ordered = await fewestRowsFirst(connection, everyInput, count);
  const bounds = await splitBounds(connection, model.split.column, ordered, parts, type, alias);
  if (bounds === undefined) return { parts };
  // a few keys give fewer distinct bounds: as many parts as they cut, one at least
  if (bounds.length === 0) return {};
  return { parts: bounds.length + 1, bounds, nullKeys: await hasNullKeys(connection, model.split.column, everyInput) };
}

/** Where a month's file goes: the model's folder, a year=/month= folder, named by execution and month. */
export function monthFile(
  dataPath: string,
  model: Pick<ModelNode, 'name' | 'table'>,
  month: string,
  fileKey: string,
  part?: MonthPart,
): string {
  const [year, index] = month.split('-');
  const base = dataPath.endsWith('/') ? dataPath : `${dataPath}/`;
  const name = `${model.name}-${buildKey(fileKey)}-${month}${part ? `-part${part.index + 1}of${part.of}` : ''}`;
  return `${base}${tableOf(model).schema}/${model.name}/year=${year}/month=${Number(index)}/${name}.parquet`;
}

/**
 * A build of a microbatch model with a `begin` as dbt builds it: over the event times from its begin
 * on (within the run's window, if any); undefined when the window ends before it.
 */
function fromBegin<T extends { window?: EventWindow }>(model: ModelNode, input: T): T | undefined {
  if (!model.begin) return input;
  const { from, to } = input.window ?? EVERYTHING;
  return to < model.begin ? undefined : { ...input, window: { from: from > model.begin ? from : model.begin, to } };
}

/**
 * The months a model's build covers: every month between the first and last event time of its
 * inputs that have one (within the window, for an incremental build). Reads min and max only.
 */
export async function planBuildMonths({ project, duckdb }: MonthContext, asked: BuildModelInput): Promise<BuildMonthsPlan> {
  const model = findModel(project, asked.model);
  const input = fromBegin(model, asked);
  if (input === undefined) return { months: [] };
  const everyInput = planInputs(project, model, input);
  const inputs = timedOf(everyInput);
  if (inputs.length === 0 || !model.eventTime) {
    throw new ModelBuildError(
      `model ${model.name} (${model.file}): built per month, but none of its inputs has an event_time`,
      model.name,
      model.file,
    );
  }
  return withWarehouseReader(input.warehouse as string, { settings: duckdb }, (reader) =>
    reader.withConnection(async (connection) => {
      const months = await monthsWithin(connection, inputs, `model ${model.name}`);
      // a model split by a key is built in parts of a bounded size; the others a month at a time
      if (months.length === 0) return { months };
      const keyType = () => describeSplitKey(connection, project, model, input, model.split?.column as string);
      return { months, ...(await splitPlan(connection, reader.alias, model, inputs, everyInput, keyType)) };
    }),
  );
}

/** The months a singular test over inputs that all have an event time reads (within the window, if any). */
export async function planTestMonths({ project, duckdb }: MonthContext, input: RunSingularTestInput): Promise<{ months: string[] }> {
  const test = project.plan.singularTests.find((t) => t.name === input.test);
  if (!test) throw new ProjectError(`no singular test named '${input.test}' in ${project.dir}`);
  const inputs = timedOf(planInputs(project, test, input));
  const months = await withWarehouseReader(input.warehouse as string, { settings: duckdb }, (reader) =>
    reader.withConnection((connection) => monthsWithin(connection, inputs, `test ${test.name}`)),
  );
  return { months };
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
    reader.withConnection((connection) => interruptible(connection, () => singularTestResult(connection, project, input, resolver))),
  );
}

/** A month's (or a part's) rows written to its file, and the tests that judge that file's rows alone run on it. */
async function writeMonth(
  connection: DuckDBConnection,
  dataPath: string,
  model: ModelNode,
  { month, fileKey }: BuildMonthInput,
  window: EventWindow,
  sql: string,
  part: SplitPart | undefined,
): Promise<{ file: string; rows: number; tests: (DataTestResult | null)[] }> {
  const file = monthFile(dataPath, model, month, fileKey, part);
  if (!file.startsWith('s3://')) await mkdir(path.dirname(file), { recursive: true });
  try {
    // the file's column statistics come back with it: they decide some of its tests without a read
    const copied = await connection.runAndReadAll(`copy (${sql}) to ${quotedString(file)} (format parquet, return_stats true)`);
    const [written] = copied.getRowObjectsJson();
    const rows = Number(written?.count ?? 0);
    const statistics = fileStatistics(written?.column_statistics);
    if (rows > 0) {
      const timeStatistics = statistics.get(model.eventTime as string);
      await refuseRowsOutsideWindow(connection, readParquet([file]), model, `its rows for ${month}`, window, timeStatistics);
    }
    // the tests that judge the file's rows alone, on the file just written, in the same worker
    const local = fileLocalTests(model, part);
    const tested =
      rows > 0 && local.length > 0
        ? await runDataTests(
            connection,
            local,
            readParquet([file]),
            () => {
              throw new Error('relationships tests are run on the whole table');
            },
            statistics,
          )
        : { results: local.map((t) => ({ id: t.id, severity: t.severity, failures: 0, status: 'pass' as const })) };
    let next = 0;
    const tests = model.tests.map((t) => (local.includes(t) ? (tested.results[next++] ?? null) : null));
    return { file, rows, tests };
  } catch (err) {
    throw modelSqlError(err, model, ` (building month ${month}${part ? `, ${partLabel(part)}` : ''})`);
  }
}

/** The part a month build is asked for, with the model's split column; undefined for a whole month. */
function splitPartOf(model: ModelNode, part: MonthPart | undefined): SplitPart | undefined {
  if (!part || part.of <= 1) return undefined;
  if (!model.split)
    throw new ModelBuildError(
      `model ${model.name}: asked for ${partLabel(part)}, but it has no meta.meterflow.split_by`,
      model.name,
      model.file,
    );
  return { ...part, column: model.split.column };
}

/**
 * A part's rows: the model over its inputs split by the same column read as the part's range, kept
 * within the range, whatever the model reads besides. A first part planned without NULL keys (no input
 * split by the key holds one) is a plain range, so that DuckDB carries it to every input; it also keeps
 * the rows the model gives a NULL key all the same (a left join's unmatched rows, say), computed again
 * with those inputs read as their NULL keys, none. Without them such rows were in no part.
 */
async function partSql(
  project: LoadedProject,
  input: BuildMonthInput,
  window: EventWindow,
  part: SplitPart,
  sqlOf: (resolver: RelationResolver) => Promise<string>,
): Promise<string> {
  const rowsOf = async (of: SplitPart) =>
    `select * from (\n${await sqlOf(monthResolver(project, input, window, of))}\n) where ${inPart(of)}`;
  return part.nullKeys === false ? `${await rowsOf(part)}\nunion all\n${await rowsOf({ ...part, nullsOnly: true })}` : rowsOf(part);
}

/**
 * Build one month of a model (or one part of it, for a split model): its rows for the month's event
 * times (within the run's window, for an incremental build), written to one Parquet file in the
 * lake's data path. A retry overwrites its own file; nothing is committed here.
 */
export async function buildMonth(
  { project, logger, duckdb, interruptible = uninterruptible }: MonthContext,
  input: BuildMonthInput,
): Promise<BuildMonthResult> {
  const { model: name, month } = input;
  const started = Date.now();
  const model = findModel(project, name);
  const scoped = fromBegin(model, input);
  const window = scoped && monthWindow(month, scoped.window);
  if (!window) return { model: name, month, files: [], rows: 0, durationMs: Date.now() - started };
  const part = splitPartOf(model, input.part);
  const rows = await withWarehouseReader(input.warehouse as string, { settings: duckdb }, (reader) =>
    reader.withConnection((connection) =>
      interruptible(connection, async () => {
        const columns = await inputColumns(connection, project, model, monthResolver(project, input, window));
        const sqlOf = (resolver: RelationResolver) => modelSqlToRun(connection, project, model, resolver, input.vars, { columns });
        const sql = part ? await partSql(project, input, window, part, sqlOf) : await sqlOf(monthResolver(project, input, window));
        return writeMonth(connection, await lakeDataPath(connection, reader.alias), model, input, window, sql, part);
      }),
    ),
  );
  logger.info({ model: name, month, ...(part ? { part: partLabel(part) } : {}), rows: rows.rows, file: rows.file }, 'built month');
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

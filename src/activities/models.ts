// Building models in the warehouse: each model replaces its table or view in one transaction, so a
// failed build leaves the previous version readable.
import type { DuckDBConnection } from '@duckdb/node-api';
import { ForeignTableError, ModelBuildError, ProjectError } from '../errors';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { renderModel, type RelationResolver } from '../project/render';
import { relationKind, type DataTest, type ModelNode } from '../project/types';
import { duckdbMessage, isPermanentDuckdbError, quotedIdentifier, quotedString, relation } from '../duckdb/sql';
import { failOnErrors } from './data-tests';
import { runDataTests } from '../warehouse/data-tests';
import type { Warehouse } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import { createHash } from 'node:crypto';
import { selectModels } from '../project/select';
import { readBuiltStates, recordBuiltStates, type BuiltState } from '../warehouse/state';
import { buildKey, dropLeftovers, dropRelations, foreignTables, pendingRelations } from './housekeeping';
import { periodStartsOf } from './periods';
import type {
  BuildIdentity,
  BuildModelInput,
  BuildModelResult,
  CommitBuiltMonthsInput,
  DataTestResult,
  DataTestResults,
  EventWindow,
  PlannedRun,
  PlanRunInput,
  PublishRunInput,
  PublishRunResult,
  RunSingularTestInput,
  TestModelInput,
} from '../contract/activities';
import { SAMPLE_ROWS } from '../contract/activities';
import { pathList } from '../duckdb/sql';
import { filesOf } from '../lake/lake';
import { intoTableFolder, lakeDataPath } from './month-files';
import type { StorageResolver } from '../storage';

/** Where a model's new version waits for its tests before it is swapped in: one per model and run. */
export function pendingName(model: string, buildId: string): string {
  return `__meterflow_pending_${model}__${buildKey(buildId)}`;
}

/** Where an incremental model's rebuilt rows for the changed window wait, beside its pending version. */
export function deltaName(model: string, buildId: string): string {
  return pendingName(`${model}__delta`, buildId);
}

/** SQL for "the event time lies in the window", both ends included. */
export function inWindow(column: string, window: EventWindow): string {
  return `${quotedIdentifier(column)} between ${quotedString(window.from)}::timestamp and ${quotedString(window.to)}::timestamp`;
}

/** A model's pending version as a relation. */
const pendingRelationOf = (model: string, buildId: string) => relation(MODEL_SCHEMA, pendingName(model, buildId));

/** The rows of each of these tables of the models' schema, in one query. */
async function countRowsOf(connection: DuckDBConnection, names: readonly string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const reader = await connection.runAndReadAll(
    names
      .map((name) => `select ${quotedString(name)} as name, count(*)::bigint as n from ${relation(MODEL_SCHEMA, name)}`)
      .join('\nunion all\n'),
  );
  return new Map(reader.getRows().map(([name, n]) => [String(name), Number(n)]));
}

/** A relation's row count. */
async function countRows(connection: DuckDBConnection, target: string): Promise<number> {
  return Number((await connection.runAndReadAll(`select count(*)::bigint as n from ${target}`)).getRows()[0]?.[0] ?? 0);
}

/**
 * A singular test's result on a connection: its failing rows counted (a sample of them, and its SQL,
 * when there are any), its refs and sources read through `resolver`. An error in its SQL names the test.
 */
export async function singularTestResult(
  connection: DuckDBConnection,
  project: LoadedProject,
  name: string,
  resolver: RelationResolver,
): Promise<DataTestResult> {
  const test = project.plan.singularTests.find((t) => t.name === name);
  if (!test) throw new ProjectError(`no singular test named '${name}' in ${project.dir}`);
  const sql = renderModel({
    file: test.file,
    template: project.templates.get(`test:${name}`) ?? '',
    resolver: inliningEphemerals(project, resolver, project.plan.vars),
    vars: project.plan.vars,
    self: name,
  }).sql;
  let failures: number;
  try {
    failures = await countRows(connection, `(${sql})`);
  } catch (err) {
    if (!isPermanentDuckdbError(err)) throw err;
    throw new ModelBuildError(`singular test ${name} (${test.file}): ${duckdbMessage(err)}`, name, test.file);
  }
  if (failures === 0) return { id: name, severity: test.severity, failures, status: 'pass' };
  const samples = (await connection.runAndReadAll(`select * from (${sql}) limit ${SAMPLE_ROWS}`)).getRowObjectsJson();
  return { id: name, severity: test.severity, failures, status: test.severity === 'warn' ? 'warn' : 'fail', sql, samples };
}

/**
 * An error from a model's SQL: a permanent DuckDB error becomes a ModelBuildError naming the model and
 * its file (and `context`, e.g. the month); anything else (a lost connection, say) is left as it is.
 */
export function modelSqlError(err: unknown, model: ModelNode, context = ''): unknown {
  if (!isPermanentDuckdbError(err)) return err;
  return new ModelBuildError(`model ${model.name} (${model.file}): ${duckdbMessage(err)}${context}`, model.name, model.file);
}

/** Drop what an earlier attempt of this run left of a model's new version: its pending and delta relations. */
async function dropOwnVersions(connection: DuckDBConnection, model: string, buildId: string): Promise<void> {
  for (const leftover of [pendingName(model, buildId), deltaName(model, buildId)]) {
    const leftoverKind = await existingKind(connection, leftover);
    if (leftoverKind) await connection.run(`drop ${leftoverKind} ${relation(MODEL_SCHEMA, leftover)}`);
  }
}

/**
 * The new version of a model rebuilt over a window: the published rows outside the window and the
 * rebuilt ones, a view until publishing replaces the window's rows in place. Returns its rows.
 */
async function createWindowedVersion(
  connection: DuckDBConnection,
  model: ModelNode,
  window: EventWindow,
  rebuilt: string,
  buildId: string,
): Promise<number> {
  const pending = pendingRelationOf(model.name, buildId);
  await connection.run(
    `create view ${pending} as\nselect * from ${relation(MODEL_SCHEMA, model.name)} where not (${inWindow(model.eventTime as string, window)})\nunion all\nselect * from ${rebuilt}`,
  );
  return countRows(connection, pending);
}

/** A build's result: the model's new, pending version and what the build counted. */
function builtResult(
  model: ModelNode,
  buildId: string,
  built: { rows: number | null; windowRows?: number },
  started: number,
): BuildModelResult {
  return {
    model: model.name,
    relation: `${MODEL_SCHEMA}.${pendingName(model.name, buildId)}`,
    materialized: model.materialized,
    ...built,
    durationMs: Date.now() - started,
  };
}

/** The schema models are built in: dbt's default, so dbt-duckdb and meterflow agree on names. */
export const MODEL_SCHEMA = 'main';

export interface ModelDependencies {
  readonly warehouse: Warehouse;
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

/**
 * Resolve refs and sources to warehouse relations. Refs to models this run has rebuilt but not yet
 * published resolve to their new versions, so the run's models read each other's new versions.
 * With a window (an incremental build, or one month of a per-month build), inputs that have an
 * event_time are read within it only, as dbt's microbatch does, and upstream models rebuilt over the
 * run's window (`windowRefs`) are read as their changed rows (within the window too: a month of them).
 */
export function warehouseResolver(
  project: LoadedProject,
  pending: { buildId: string; models: readonly string[] } = { buildId: '', models: [] },
  windowed?: { window: EventWindow; windowRefs: readonly string[] },
): RelationResolver {
  const within = (name: string, eventTime: string | undefined) =>
    windowed && eventTime ? `(select * from ${name} where ${inWindow(eventTime, windowed.window)})` : name;
  return {
    ref: (model) => {
      const seed = seedRelation(project, model);
      if (seed) return seed;
      const name = windowed?.windowRefs.includes(model)
        ? deltaName(model, pending.buildId)
        : pending.models.includes(model)
          ? pendingName(model, pending.buildId)
          : model;
      return within(relation(MODEL_SCHEMA, name), project.plan.models.find((m) => m.name === model)?.eventTime);
    },
    source: (sourceName, table) => {
      const source = project.plan.sources.find((s) => s.sourceName === sourceName && s.name === table);
      return within(relation(source?.schema ?? sourceName, table), source?.eventTime);
    },
  };
}

/**
 * A dbt seed as models read it: its table without the column meterflow keeps each row's file in.
 * Undefined when `name` is no seed of the project.
 */
export function seedRelation(project: LoadedProject, name: string): string | undefined {
  const seed = project.plan.sources.find((source) => source.seed && source.name === name);
  return seed ? `(select * exclude (_source_file) from ${relation(seed.schema, seed.name)})` : undefined;
}

/**
 * Tests whose failures are rows of the changed window alone, so an incremental build tests its
 * rebuilt rows only: row-by-row checks, and uniqueness on keys that include the event time.
 */
export function holdsWithinWindow(test: DataTest, eventTime: string): boolean {
  // a threshold (warn_if, error_if, limit) judges the whole table's failing rows, not a window's
  if (test.warnIf !== undefined || test.errorIf !== undefined || test.limit !== undefined) return false;
  switch (test.kind) {
    case 'not_null':
    case 'accepted_values':
    case 'expression_is_true':
    case 'relationships':
    case 'accepted_range':
    case 'on_time_grid':
    case 'all_finite':
      return true;
    case 'unique_combination_of_columns':
      return (test.args.combination_of_columns as unknown[]).includes(eventTime);
    case 'unique':
      return test.column === eventTime;
    default:
      return false;
  }
}

export function findModel(project: LoadedProject, name: string): ModelNode {
  const model = project.plan.models.find((candidate) => candidate.name === name);
  if (!model) throw new ProjectError(`no model named '${name}' in ${project.dir}`);
  return model;
}

/**
 * A resolver that inlines the project's ephemeral models, as dbt does: a ref to one is its own SQL,
 * rendered with the same resolver, as a subquery. Every other ref and source goes to `resolver`.
 */
export function inliningEphemerals(
  project: LoadedProject,
  resolver: RelationResolver,
  vars: Readonly<Record<string, unknown>>,
): RelationResolver {
  const ephemerals = new Map((project.plan.ephemerals ?? []).map((model) => [model.name, model]));
  if (ephemerals.size === 0) return resolver;
  const inlining: RelationResolver = {
    ref: (name) => {
      const ephemeral = ephemerals.get(name);
      if (!ephemeral) return resolver.ref(name);
      const template = project.templates.get(name) ?? '';
      return `(${renderModel({ file: ephemeral.file, template, resolver: inlining, vars, self: name }).sql})`;
    },
    source: (sourceName, table) => resolver.source(sourceName, table),
  };
  return inlining;
}

/** Render a model's SQL for the given resolver, with the run's vars over the project's. */
export function renderModelSql(
  project: LoadedProject,
  model: ModelNode,
  resolver: RelationResolver,
  vars: Readonly<Record<string, unknown>> = {},
): string {
  const allVars = { ...project.plan.vars, ...vars };
  return renderModel({
    file: model.file,
    template: project.templates.get(model.name) ?? '',
    resolver: inliningEphemerals(project, resolver, allVars),
    vars: allVars,
    self: relation(MODEL_SCHEMA, model.name),
  }).sql;
}

/** Every table and view of the models' schema in the connection's current database, with its kind. */
export async function existingKinds(connection: DuckDBConnection): Promise<Map<string, 'table' | 'view'>> {
  const reader = await connection.runAndReadAll(
    `select table_name, table_type from information_schema.tables where table_catalog = current_database() and table_schema = $schema`,
    { schema: MODEL_SCHEMA },
  );
  return new Map(reader.getRows().map(([name, type]) => [String(name), String(type) === 'VIEW' ? 'view' : 'table']));
}

/** Whether a relation in the model schema is a table, a view, or absent. */
export async function existingKind(connection: DuckDBConnection, name: string): Promise<'table' | 'view' | undefined> {
  return (await existingKinds(connection)).get(name);
}

export function createModelActivities({ warehouse, project, storage, logger }: ModelDependencies) {
  return {
    /**
     * The project's sources and models in build order (the DAG the workflow runs), the selection,
     * and which models the warehouse holds out of date.
     */
    async planRun({ vars = {}, select, exclude, buildId, force = false }: PlanRunInput): Promise<PlannedRun> {
      return activityFrame('plan', async () => {
        const selected = selectModels(project.plan.models, select, exclude);
        const hash = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
        const stateHashes: Record<string, string> = {};
        for (const model of project.plan.models) {
          const { usedVars } = renderModel({
            file: model.file,
            template: project.templates.get(model.name) ?? '',
            resolver: warehouseResolver(project),
            vars: { ...project.plan.vars, ...vars },
            self: relation(MODEL_SCHEMA, model.name),
          });
          // and the ephemeral models it inlines (only where it inlines any: other hashes stay as they were)
          const inlined = (model.inlines ?? []).map((name) => project.templates.get(name));
          stateHashes[model.name] = hash([
            project.templates.get(model.name),
            model.materialized,
            usedVars,
            model.tests,
            ...(inlined.length > 0 ? [inlined] : []),
          ]);
        }
        for (const test of project.plan.singularTests) {
          stateHashes[`test:${test.name}`] = hash([project.templates.get(`test:${test.name}`), test.severity]);
        }
        return warehouse.withConnection(async (connection) => {
          const states = await readBuiltStates(connection);
          const kinds = await existingKinds(connection);
          const built: Record<string, BuiltState> = {};
          for (const model of project.plan.models) {
            const state = states.get(model.name);
            if (state && kinds.has(model.name)) built[model.name] = state;
          }
          for (const test of project.plan.singularTests) {
            const state = states.get(`test:${test.name}`);
            if (state) built[`test:${test.name}`] = state;
          }
          const foreign = await foreignTables(connection, project, selected, states);
          if (foreign.length > 0 && !force) {
            throw new ForeignTableError(
              `the warehouse ${warehouse.path} holds ${foreign.join(', ')}, which meterflow did not create; ` +
                'it will not replace them: move them elsewhere, or run with --force to replace them',
              foreign,
            );
          }
          const droppedLeftovers = buildId ? await dropLeftovers(connection, buildId) : [];
          if (droppedLeftovers.length > 0)
            logger.warn({ dropped: droppedLeftovers }, 'dropped unpublished versions left by runs that ended');
          return {
            plan: project.plan,
            selected,
            stateHashes,
            built,
            droppedLeftovers,
            warehousePath: warehouse.path,
          };
        });
      });
    },

    /**
     * Build one model's new version beside the published one (`__meterflow_pending_<model>`), so its
     * tests can run before anyone reads it; promoteModel swaps it in.
     */
    async buildModel({
      model: name,
      vars,
      buildId,
      pendingRefs = [],
      window,
      windowRefs = [],
    }: BuildModelInput): Promise<BuildModelResult> {
      return activityFrame(`model ${name}`, async () => {
        const started = Date.now();
        const model = findModel(project, name);
        const kind = relationKind(model.materialized);
        const pending = relation(MODEL_SCHEMA, pendingName(model.name, buildId));
        const delta = relation(MODEL_SCHEMA, deltaName(model.name, buildId));
        const create = async (connection: DuckDBConnection, target: string, sql: string, partitioned = false) => {
          try {
            if (kind === 'table' && partitioned && model.eventTime) {
              // the lake writes one folder of Parquet files per month of the event time, so a later run
              // that changes one month rewrites that month's files only
              await connection.run(`create table ${target} as\nselect * from (\n${sql}\n) limit 0`);
              const column = quotedIdentifier(model.eventTime);
              await connection.run(`alter table ${target} set partitioned by (year(${column}), month(${column}))`);
              await connection.run(`insert into ${target}\n${sql}`);
            } else {
              await connection.run(`create ${kind} ${target} as\n${sql}`);
            }
          } catch (err) {
            throw modelSqlError(err, model);
          }
        };
        const built = await warehouse.transaction(async (connection) =>
          interruptOnCancel(connection, async () => {
            await dropOwnVersions(connection, model.name, buildId);
            const published = await existingKind(connection, model.name);
            if (model.materialized === 'incremental' && model.eventTime && window && published === 'table') {
              // only the window's rows are rebuilt; the new version is the published rows outside it
              // and the rebuilt ones, a view until publishing replaces the window's rows in place
              const sql = renderModelSql(
                project,
                model,
                warehouseResolver(project, { buildId, models: pendingRefs }, { window, windowRefs }),
                vars,
              );
              await create(connection, delta, sql);
              return {
                rows: await createWindowedVersion(connection, model, window, delta, buildId),
                windowRows: await countRows(connection, delta),
              };
            }
            await create(
              connection,
              pending,
              renderModelSql(project, model, warehouseResolver(project, { buildId, models: pendingRefs }), vars),
              true,
            );
            if (kind === 'view') {
              // a view is checked by running it once, so a bad column fails here, not in its readers
              await connection.run(`select * from ${pending} limit 0`);
              return { rows: null };
            }
            return { rows: await countRows(connection, pending) };
          }),
        );
        logger.info({ model: model.name, ...built }, 'built model');
        return builtResult(model, buildId, built, started);
      });
    },

    /**
     * The writer's half of a per-month build: the files the build workers wrote become this run's new
     * version of the model (or, for an incremental build, its rebuilt rows beside the published ones)
     * in one commit, with ducklake_add_data_files: no row is read or written again. A retry after the
     * commit finds the same files in place and commits nothing twice.
     */
    async commitBuiltMonths({
      model: name,
      vars,
      buildId,
      pendingRefs = [],
      window,
      windowRefs = [],
      files,
    }: CommitBuiltMonthsInput): Promise<BuildModelResult> {
      return activityFrame(`commit ${name}`, async () => {
        const started = Date.now();
        const model = findModel(project, name);
        if (!model.eventTime) throw new ModelBuildError(`model ${name}: built per month, but it has no event_time`, name, model.file);
        const rows = files.reduce((sum, file) => sum + file.rows, 0);
        const built = await warehouse.transaction(async (connection) =>
          interruptOnCancel(connection, async () => {
            const published = await existingKind(connection, model.name);
            const windowed = window !== undefined && published === 'table';
            const targetName = windowed ? deltaName(model.name, buildId) : pendingName(model.name, buildId);
            const target = relation(MODEL_SCHEMA, targetName);
            // in the table's folder, so that the catalog records them relative to it (see month-files.ts)
            const dataPath = await lakeDataPath(connection, warehouse.alias);
            const paths = (
              await intoTableFolder(
                dataPath,
                MODEL_SCHEMA,
                model.name,
                targetName,
                files.map((file) => file.path),
              )
            ).sort();
            if ((await existingKind(connection, targetName)) === 'table') {
              const committed = (await filesOf(connection, warehouse.alias, targetName, MODEL_SCHEMA)).map((f) => f.dataFile).sort();
              // an earlier attempt committed these very files: dropping its table would delete them later
              if (JSON.stringify(committed) === JSON.stringify(paths))
                return windowed
                  ? { rows: await countRows(connection, pendingRelationOf(model.name, buildId)), windowRows: rows }
                  : { rows };
            }
            await dropOwnVersions(connection, model.name, buildId);
            const sql = renderModelSql(
              project,
              model,
              warehouseResolver(project, { buildId, models: pendingRefs }, windowed && window ? { window, windowRefs } : undefined),
              vars,
            );
            try {
              await connection.run(`create table ${target} as\nselect * from (\n${sql}\n) limit 0`);
              // NOTE: the files are added before the table is partitioned: DuckLake 1.5.5's
              // ducklake_add_data_files refuses a year()/month() partitioned table. Each file holds one
              // month (so reads of a month still skip the others, by the files' statistics); rows a
              // later incremental run inserts go to partitioned files.
              if (paths.length > 0) {
                await connection.run(
                  `call ducklake_add_data_files(${quotedString(warehouse.alias)}, ${quotedString(targetName)}, [${paths.map(quotedString).join(', ')}], schema => ${quotedString(MODEL_SCHEMA)})`,
                );
              }
              const column = quotedIdentifier(model.eventTime as string);
              await connection.run(`alter table ${target} set partitioned by (year(${column}), month(${column}))`);
            } catch (err) {
              throw modelSqlError(err, model);
            }
            if (!windowed) return { rows };
            return { rows: await createWindowedVersion(connection, model, window as EventWindow, target, buildId), windowRows: rows };
          }),
        );
        logger.info({ model: model.name, files: files.length, ...built }, 'committed built months');
        return builtResult(model, buildId, built, started);
      });
    },

    /** Run a model's YAML tests on its new, not yet published version. */
    async testModel({ model: name, buildId, pendingRefs = [], monthTests }: TestModelInput): Promise<DataTestResults> {
      return activityFrame(`tests of ${name}`, async () => {
        const model = findModel(project, name);
        const resolver = warehouseResolver(project, { buildId, models: pendingRefs });
        const resolveRef = (ref: string) => resolver.ref(ref);
        const pending = relation(MODEL_SCHEMA, pendingName(model.name, buildId));
        const outcome = await warehouse.withConnection((connection) =>
          interruptOnCancel(connection, async () => {
            if (monthTests?.length === model.tests.length) {
              // tested month by month where they built it: only what needs the whole table is left
              const rest = await runDataTests(
                connection,
                model.tests.filter((_test, i) => !monthTests[i]),
                pending,
                resolveRef,
              );
              let next = 0;
              const results = model.tests.map((_test, i) => monthTests[i] ?? (rest.results[next++] as DataTestResult));
              return { results, rows: results.filter((r) => r.status !== 'pass').length };
            }
            const eventTime = model.eventTime;
            if (!eventTime || !(await existingKind(connection, deltaName(model.name, buildId)))) {
              return runDataTests(connection, model.tests, pending, resolveRef);
            }
            // rebuilt over a window: what can only fail on the rebuilt rows is tested on them alone
            const local = model.tests.filter((test) => holdsWithinWindow(test, eventTime));
            const whole = model.tests.filter((test) => !holdsWithinWindow(test, eventTime));
            const onDelta = await runDataTests(connection, local, relation(MODEL_SCHEMA, deltaName(model.name, buildId)), resolveRef);
            const onWhole = await runDataTests(connection, whole, pending, resolveRef);
            const results = model.tests.map(
              (test) => (onDelta.results.find((r) => r.id === test.id) ?? onWhole.results.find((r) => r.id === test.id)) as DataTestResult,
            );
            return { results, rows: onDelta.rows + onWhole.rows };
          }),
        );
        return failOnErrors(model.name, outcome);
      });
    },

    /**
     * Run a singular test (a SQL file under tests/ whose rows are failures) against the warehouse, on
     * this run's new versions of the models it refs.
     */
    async runSingularTest({
      test: name,
      buildId,
      pendingRefs = [],
      window,
      windowRefs = [],
    }: RunSingularTestInput): Promise<DataTestResults> {
      return activityFrame(`test ${name}`, async () => {
        // with a window, only the rows of the event times that changed are checked again
        const resolver = warehouseResolver(project, { buildId, models: pendingRefs }, window ? { window, windowRefs } : undefined);
        const result = await warehouse.withConnection(async (connection) =>
          interruptOnCancel(connection, () => singularTestResult(connection, project, name, resolver)),
        );
        return failOnErrors(name, { results: [result], rows: result.status === 'pass' ? 0 : 1 });
      });
    },

    /**
     * Publish a run: swap every rebuilt model's tested new version in and load every analytics result,
     * all in one transaction, so readers see the run's whole output or none of it. Views are created
     * anew over the published names. A retry after a commit finds the models already in place.
     */
    async publishRun({ buildId, models, analytics, tests = [], run, vars }: PublishRunInput): Promise<PublishRunResult> {
      return activityFrame('publish run', async () => {
        const started = Date.now();
        const analyticsFiles: string[] = [];
        for (const result of analytics) {
          const store = storage.forUri(result.outputUri);
          const object = await store.stat(result.outputUri);
          if (!object) throw new ProjectError(`analytics result of ${result.model} is missing at ${result.outputUri}`);
          analyticsFiles.push(await store.localPath(object));
        }
        const published = await warehouse.transaction(async (connection) =>
          interruptOnCancel(connection, async () => {
            // the commit names the run, so `meterflow query --at <run>` finds its version
            await connection.run(`call lake.set_commit_message('meterflow', $message, extra_info => $info)`, {
              message: `publish ${run ?? buildId}`,
              info: JSON.stringify({ run: run ?? null, build: buildId }),
            });
            const states = await readBuiltStates(connection);
            // what the schema holds, read once and kept as the transaction changes it
            const kinds = await existingKinds(connection);
            const drop = async (name: string) => {
              const current = kinds.get(name);
              if (current) await connection.run(`drop ${current} ${relation(MODEL_SCHEMA, name)}`);
              kinds.delete(name);
            };
            /** Each published relation, and whether its rows are counted (after the commit, all at once). */
            const published: { model: string; counted: boolean }[] = [];
            const built: { node: string; state: BuiltState }[] = [];
            for (const { model: name, state, window } of models) {
              const model = findModel(project, name);
              const pendingRelation = relation(MODEL_SCHEMA, pendingName(name, buildId));
              const pending = kinds.get(pendingName(name, buildId));
              const delta = relation(MODEL_SCHEMA, deltaName(name, buildId));
              if (pending && kinds.has(deltaName(name, buildId))) {
                // an incremental model rebuilt over a window: its rows there are replaced in place
                if (!window || !model.eventTime)
                  throw new ModelBuildError(`model ${name}: rebuilt over a window, but none given to publish`, name, model.file);
                const target = relation(MODEL_SCHEMA, name);
                await drop(pendingName(name, buildId));
                await connection.run(`delete from ${target} where ${inWindow(model.eventTime, window)}`);
                await connection.run(`insert into ${target} select * from ${delta}`);
                await drop(deltaName(name, buildId));
                published.push({ model: name, counted: true });
                built.push({ node: name, state });
                continue;
              }
              if (!pending) {
                if (state.version !== undefined && states.get(name)?.version === state.version) continue; // published by an earlier attempt
                throw new ModelBuildError(`model ${name}: no new version to publish (build it first)`, name, model.file);
              }
              await drop(name);
              if (pending === 'view') {
                await drop(pendingName(name, buildId));
                await connection.run(
                  `create view ${relation(MODEL_SCHEMA, name)} as\n${renderModelSql(project, model, warehouseResolver(project), vars)}`,
                );
                kinds.set(name, 'view');
                published.push({ model: name, counted: false });
              } else {
                await connection.run(`alter table ${pendingRelation} rename to ${quotedIdentifier(name)}`);
                kinds.delete(pendingName(name, buildId));
                kinds.set(name, 'table');
                published.push({ model: name, counted: true });
              }
              built.push({ node: name, state });
            }
            for (const [index, result] of analytics.entries()) {
              const target = relation(MODEL_SCHEMA, result.model);
              const file = pathList([analyticsFiles[index] as string]);
              const current = kinds.get(result.model);
              const model = findModel(project, result.model);
              if (result.window && current === 'table' && model.period && model.eventTime) {
                // computed for the periods holding the master's changed window: those periods' rows are replaced
                await connection.run(`delete from ${target} where ${periodStartsOf(model.eventTime, model.period, result.window)}`);
                await connection.run(`insert into ${target} select * from read_parquet(${file})`);
              } else if (result.window) {
                throw new ModelBuildError(
                  `analytics model ${result.model}: computed over a window, but it has no published table or period to replace`,
                  result.model,
                  model.file,
                );
              } else {
                await drop(result.model);
                await connection.run(`create table ${target} as select * from read_parquet(${file})`);
                kinds.set(result.model, 'table');
              }
              built.push({ node: result.model, state: result.state });
              published.push({ model: result.model, counted: true });
            }
            await recordBuiltStates(connection, [...built, ...tests.map(({ test, state }) => ({ node: `test:${test}`, state }))]);
            return published;
          }),
        );
        // the published tables' rows, counted on the committed version: the lake's file statistics answer
        // most of it, where a count inside the transaction read each table's uncommitted rows
        const counted = published.filter((table) => table.counted).map((table) => table.model);
        const rows = await warehouse.withConnection((connection) => countRowsOf(connection, counted));
        const tables = published.map(({ model, counted }) => ({ model, rows: counted ? (rows.get(model) ?? 0) : null }));
        // one writer: the latest snapshot is the commit above
        const snapshotVersion = await warehouse.currentSnapshot();
        logger.info({ tables: tables.length, snapshotVersion }, 'published run');
        return {
          tables,
          snapshotVersion,
          warehousePath: warehouse.path,
          rows: tables.reduce((sum, t) => sum + (t.rows ?? 0), 0),
          durationMs: Date.now() - started,
        };
      });
    },

    /** Drop this run's unpublished new versions (a failed or cancelled run leaves none behind). */
    async discardPending({ buildId }: BuildIdentity): Promise<{ dropped: number }> {
      return activityFrame('discard pending', async () =>
        warehouse.withConnection(async (connection) => {
          const own = (await pendingRelations(connection, MODEL_SCHEMA)).filter((pending) => pending.key === buildKey(buildId));
          await dropRelations(connection, own, MODEL_SCHEMA);
          return { dropped: own.length };
        }),
      );
    },
  };
}

// Running one analytics model: it reads the lake read-only at the version the run pinned (in its own
// DuckDB instance, in any process), writes its result as Parquet to the run's output location, with
// `test` runs its YAML tests on its new version, and uploads a result that passed them.
import type { DuckDBConnection } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProjectError } from '../errors';
import type { LoadedProject } from '../project/load';
import type { ModelNode } from '../project/types';
import { quotedIdentifier, quotedString } from '../duckdb/sql';
import { runDataTests } from '../warehouse/data-tests';
import type { AnalyticsModelResult, AnalyticsOutput, DataTestResults, RunAnalyticsModelInput } from '../contract/activities';
import type { AnalyticsContext } from './context';
import { analyticsModelSql, analyticsResolver, testRefRelation, withPublishedRest } from './model-sql';
import { inputColumns } from '../build/columns';
import { findModel, publishedTableOf } from '../build/model-sql';
import { renderAnswered } from '../build/render-answered';
import { existingKind } from '../build/relations';

/** A result file of this run on this machine (downloaded when it is elsewhere). */
async function localResult({ storage }: AnalyticsContext, output: AnalyticsOutput, model: ModelNode): Promise<string> {
  const store = storage.forUri(output.outputUri);
  const object = await store.stat(output.outputUri);
  if (!object) throw new ProjectError(`${model.file}: the result of ${output.model} is missing at ${output.outputUri}`, model.file);
  return store.localPath(object);
}

/** What the model computed into its result file: its rows, and with `test` its tests' results. */
interface Computed {
  readonly rows: number;
  readonly tests: DataTestResults | undefined;
}

/**
 * The model's SQL copied to `resultFile` on a connection to the lake at the pinned version, and with
 * `test` its YAML tests run on its new version.
 */
async function computeResult(
  connection: DuckDBConnection,
  project: LoadedProject,
  model: ModelNode,
  input: RunAnalyticsModelInput,
  work: { readonly sql: string; readonly resultFile: string; readonly upstreamFiles: ReadonlyMap<string, string> },
): Promise<Computed> {
  const { model: name, snapshot, window, test = false } = input;
  const { sql, resultFile, upstreamFiles } = work;
  const at = `${snapshot.warehouse} at version ${snapshot.version}`;
  for (const ref of model.refs.filter((r) => snapshot.relations[r] === undefined && !upstreamFiles.has(r))) {
    if (await existingKind(connection, publishedTableOf(project, ref))) continue;
    throw new ProjectError(
      `${model.file}: ${name} merges ${ref}, which is not in ${at} and not computed by this run: ` +
        `select it too (e.g. --select +${name})`,
      model.file,
    );
  }
  const copied = await connection.runAndReadAll(`copy (${sql}) to ${quotedString(resultFile)} (format parquet, compression zstd)`);
  const count = Number(copied.getRows()[0]?.[0] ?? 0);
  if (!test) return { rows: count, tests: undefined };
  // the tests see the new version whole: with a window, the published rows of the other periods too
  const target = quotedIdentifier(`meterflow_result_${name}`);
  await connection.run(`create or replace temporary view ${target} as select * from ${withPublishedRest(model, resultFile, window)}`);
  try {
    const outcome = await runDataTests(connection, model.tests, target, (ref) =>
      testRefRelation(project, model, ref, input, upstreamFiles),
    );
    return { rows: count, tests: outcome };
  } finally {
    await connection.run(`drop view if exists ${target}`);
  }
}

/**
 * Run one analytics model over a snapshot, write its result to outputUri as Parquet and (with `test`)
 * run its YAML tests on its new version first: a result whose error-severity tests fail is not
 * uploaded, and the results (samples and SQL included) are returned with what it computed.
 */
export async function runAnalyticsModel(context: AnalyticsContext, input: RunAnalyticsModelInput): Promise<AnalyticsModelResult> {
  const { project, storage, logger, withPinnedReader, interruptible = (_connection, work) => work() } = context;
  const { model: name, snapshot, outputUri, window, upstream = [] } = input;
  const started = Date.now();
  const model = findModel(project, name);
  if (window && (!model.period || !model.eventTime)) {
    throw new ProjectError(`${model.file}: ${name} has no meta.period, so it cannot be computed over a window`, model.file);
  }
  const upstreamFiles = new Map<string, string>();
  for (const output of upstream) upstreamFiles.set(output.model, await localResult(context, output, model));
  const workDir = await mkdtemp(path.join(os.tmpdir(), `meterflow-${name}-`));
  try {
    const resultFile = path.join(workDir, `${name}.parquet`);
    // the lake attached read-only at the pinned version: what the writer commits meanwhile is not seen
    const { rows, tests } = await withPinnedReader(snapshot, (reader) =>
      reader.withConnection((connection) =>
        interruptible(connection, async () => {
          // rendered on the pinned version, where a model that asks finds its inputs' columns
          const columns = await inputColumns(connection, project, model, analyticsResolver(project, model, input, upstreamFiles));
          const sql = await renderAnswered(connection, model.file, (queries) =>
            analyticsModelSql(project, model, input, upstreamFiles, { columns, queries }),
          );
          return computeResult(connection, project, model, input, { sql, resultFile, upstreamFiles });
        }),
      ),
    );
    // a result whose error-severity tests failed is not uploaded: the run stops on its test node
    const failed = tests?.results.some((result) => result.status === 'fail') ?? false;
    if (!failed) await storage.forUri(outputUri).upload(resultFile, outputUri);
    logger.info({ model: name, rows, outputUri, version: snapshot.version, window }, 'ran analytics model');
    const computed = { model: name, outputUri, rows, ...(window ? { window } : {}), durationMs: Date.now() - started };
    return { ...computed, ...(tests ? { tests } : {}) };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

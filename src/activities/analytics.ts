// Analytics: each model reads the lake read-only at the version the run pinned (in its own DuckDB
// instance, in any process), writes its result as Parquet to the run's output location, and the
// writer publishes them.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProjectError } from '../errors';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { StorageResolver } from '../storage';
import { pathList, quotedIdentifier, quotedString, relation } from '../warehouse/sql';
import { withScratchDuckdb, withWarehouseReader, type DuckdbSettings } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import { MODEL_SCHEMA, findModel, renderModelSql } from './models';
import { failOnErrors, runDataTests } from './data-tests';
import type { AnalyticsModelResult, DataTestResults, RunAnalyticsModelInput, TestAnalyticsResultInput } from '../contract/activities';

export interface AnalyticsDependencies {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
}

export function createAnalyticsActivities({ project, storage, logger, duckdb }: AnalyticsDependencies) {
  return {
    /** Run one analytics model over a snapshot and write its result to outputUri as Parquet. */
    async runAnalyticsModel({ model: name, snapshot, outputUri, vars }: RunAnalyticsModelInput): Promise<AnalyticsModelResult> {
      return activityFrame(`analytics model ${name}`, async () => {
        const started = Date.now();
        const model = findModel(project, name);
        const at = `${snapshot.warehouse} at version ${snapshot.version}`;
        const sql = renderModelSql(
          project,
          model,
          {
            ref: (ref) => {
              const pinned = snapshot.relations[ref];
              if (pinned === undefined) {
                throw new ProjectError(`${model.file}: ref('${ref}') is not in the snapshot of ${at}`, model.file);
              }
              return relation(MODEL_SCHEMA, pinned);
            },
            source: (sourceName, table) => {
              throw new ProjectError(
                `${model.file}: analytics models read the snapshot only, not source('${sourceName}', '${table}')`,
                model.file,
              );
            },
          },
          vars,
        );
        const workDir = await mkdtemp(path.join(os.tmpdir(), `meterflow-${name}-`));
        try {
          const resultFile = path.join(workDir, `${name}.parquet`);
          // the lake attached read-only at the pinned version: what the writer commits meanwhile is not seen
          const rows = await withWarehouseReader(snapshot.warehouse, { snapshotVersion: snapshot.version, settings: duckdb }, (reader) =>
            reader.withConnection((connection) =>
              interruptOnCancel(connection, async () => {
                const copied = await connection.runAndReadAll(
                  `copy (${sql}) to ${quotedString(resultFile)} (format parquet, compression zstd)`,
                );
                return Number(copied.getRows()[0]?.[0] ?? 0);
              }),
            ),
          );
          await storage.forUri(outputUri).upload(resultFile, outputUri);
          logger.info({ model: name, rows, outputUri, version: snapshot.version }, 'ran analytics model');
          return { model: name, outputUri, rows, durationMs: Date.now() - started };
        } finally {
          await rm(workDir, { recursive: true, force: true });
        }
      });
    },
  };
}

export function createAnalyticsTestActivities({ project, storage, duckdb }: AnalyticsDependencies) {
  return {
    /** Run an analytics model's YAML tests on its result file, before the writer loads it. */
    async testAnalyticsResult({ model: name, outputUri }: TestAnalyticsResultInput): Promise<DataTestResults> {
      return activityFrame(`tests of ${name}`, async () => {
        const model = findModel(project, name);
        const store = storage.forUri(outputUri);
        const object = await store.stat(outputUri);
        if (!object) throw new ProjectError(`analytics result of ${name} is missing at ${outputUri}`);
        const file = await store.localPath(object);
        const outcome = await withScratchDuckdb(duckdb, async (connection) => {
          await connection.run(`create view ${quotedIdentifier(name)} as select * from read_parquet(${pathList([file])})`);
          return runDataTests(connection, model.tests, quotedIdentifier(name), (ref) => {
            throw new ProjectError(`${model.file}: a relationships test on an analytics model cannot ref ${ref}`, model.file);
          });
        });
        return failOnErrors(name, outcome);
      });
    },
  };
}

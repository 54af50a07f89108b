// Analytics: each model runs in its own in-memory DuckDB over the published snapshot (never the
// warehouse file), writes its result as Parquet to the run's output location, and the writer loads them.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProjectError } from '../errors';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { joinUri, type StorageResolver } from '../storage';
import { pathList, quotedIdentifier, quotedString } from '../warehouse/sql';
import { withScratchDuckdb, type DuckdbSettings } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import { findModel, renderModelSql } from './models';
import { loadManifest } from './snapshot';
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
    async runAnalyticsModel({ model: name, snapshotUri, outputUri, vars }: RunAnalyticsModelInput): Promise<AnalyticsModelResult> {
      return activityFrame(`analytics model ${name}`, async () => {
        const started = Date.now();
        const model = findModel(project, name);
        const manifest = await loadManifest(storage, snapshotUri);
        const published = new Set(manifest.tables.map((table) => table.name));
        const sql = renderModelSql(
          project,
          model,
          {
            ref: (ref) => {
              if (!published.has(ref)) {
                throw new ProjectError(`${model.file}: ref('${ref}') is not in the snapshot at ${snapshotUri}`, model.file);
              }
              return quotedIdentifier(ref);
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
          const rows = await withScratchDuckdb(duckdb, async (connection) =>
            interruptOnCancel(connection, async () => {
              for (const table of manifest.tables.filter((t) => model.refs.includes(t.name))) {
                const localFiles: string[] = [];
                for (const file of table.files) {
                  const uri = joinUri(snapshotUri, ...file.path.split('/'));
                  const store = storage.forUri(uri);
                  const object = await store.stat(uri);
                  if (!object) throw new ProjectError(`snapshot ${snapshotUri} lists ${file.path}, which is missing`);
                  localFiles.push(await store.localPath(object));
                }
                await connection.run(`create view ${quotedIdentifier(table.name)} as select * from read_parquet(${pathList(localFiles)})`);
              }
              const copied = await connection.runAndReadAll(
                `copy (${sql}) to ${quotedString(resultFile)} (format parquet, compression zstd)`,
              );
              return Number(copied.getRows()[0]?.[0] ?? 0);
            }),
          );
          await storage.forUri(outputUri).upload(resultFile, outputUri);
          logger.info({ model: name, rows, outputUri }, 'ran analytics model');
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

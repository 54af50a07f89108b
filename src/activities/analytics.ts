// Analytics: each model reads the lake read-only at the version the run pinned (in its own DuckDB
// instance, in any process), writes its result as Parquet to the run's output location, tests it,
// and the writer publishes them. A model with one row per period recomputes, when the master changed
// over a window only, just the periods holding it; a model that refs another analytics model (per-
// month partial aggregates it merges) reads that model's result as this run computed it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProjectError } from '../errors';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { runsOnOf, type ModelNode } from '../project/types';
import type { StorageResolver } from '../storage';
import { pathList, quotedIdentifier, quotedString, relation } from '../duckdb/sql';
import { pinnedReaders, withScratchDuckdb, type DuckdbSettings, type WithPinnedReader } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import { MODEL_SCHEMA, existingKind, findModel, renderModelSql, seedRelation } from './models';
import { failOnErrors } from './data-tests';
import { runDataTests } from '../warehouse/data-tests';
import { periodSpanOf, periodStartsOf } from './periods';
import type {
  AnalyticsModelResult,
  AnalyticsOutput,
  DataTestResults,
  RunAnalyticsModelInput,
  TestAnalyticsResultInput,
} from '../contract/activities';

export interface AnalyticsDependencies {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
  /** The worker's attachments of pinned versions, shared with its report (one made here otherwise). */
  readonly withPinnedReader?: WithPinnedReader;
}

export function createAnalyticsActivities({ project, storage, logger, duckdb, ...deps }: AnalyticsDependencies) {
  const withPinnedReader = deps.withPinnedReader ?? pinnedReaders(duckdb);

  /** A result file of this run on this machine (downloaded when it is elsewhere). */
  const localResult = async (output: AnalyticsOutput, model: ModelNode): Promise<string> => {
    const store = storage.forUri(output.outputUri);
    const object = await store.stat(output.outputUri);
    if (!object) throw new ProjectError(`${model.file}: the result of ${output.model} is missing at ${output.outputUri}`, model.file);
    return store.localPath(object);
  };

  /**
   * A model's new version where its result holds only some periods: the published rows of the other
   * periods (at the pinned version) and the result's.
   */
  const withPublishedRest = (model: ModelNode, resultFile: string, window: RunAnalyticsModelInput['window']): string => {
    const rows = `select * from read_parquet(${pathList([resultFile])})`;
    if (!window || !model.period || !model.eventTime) return `(${rows})`;
    return `(select * from ${relation(MODEL_SCHEMA, model.name)} where not (${periodStartsOf(model.eventTime, model.period, window)}) union all ${rows})`;
  };

  return {
    /**
     * Run one analytics model over a snapshot, write its result to outputUri as Parquet and (with
     * `test`) run its YAML tests on its new version first: a result that fails them is not uploaded,
     * and the results (samples and SQL included) are returned for the workflow's test node to fail on.
     */
    async runAnalyticsModel({
      model: name,
      snapshot,
      outputUri,
      vars,
      window,
      upstream = [],
      test = false,
    }: RunAnalyticsModelInput): Promise<AnalyticsModelResult> {
      return activityFrame(`analytics model ${name}`, async () => {
        const started = Date.now();
        const model = findModel(project, name);
        const at = `${snapshot.warehouse} at version ${snapshot.version}`;
        if (window && (!model.period || !model.eventTime)) {
          throw new ProjectError(`${model.file}: ${name} has no meta.period, so it cannot be computed over a window`, model.file);
        }
        const upstreamFiles = new Map<string, string>();
        for (const output of upstream) upstreamFiles.set(output.model, await localResult(output, model));
        const sql = renderModelSql(
          project,
          model,
          {
            ref: (ref) => {
              const seed = seedRelation(project, ref);
              if (seed) return seed;
              const pinned = snapshot.relations[ref];
              if (pinned !== undefined) {
                const master = relation(MODEL_SCHEMA, pinned);
                if (!window || !model.period) return master;
                // the whole periods that hold the changed settlement times: their rows are computed anew
                const eventTime = project.plan.models.find((m) => m.name === ref)?.eventTime;
                if (!eventTime) throw new ProjectError(`${model.file}: ref('${ref}') has no event_time to read a window of`, model.file);
                return `(select * from ${master} where ${periodSpanOf(eventTime, model.period, window)})`;
              }
              const other = project.plan.models.find((m) => m.name === ref && runsOnOf(m) === 'analytics');
              if (!other) throw new ProjectError(`${model.file}: ref('${ref}') is not in the snapshot of ${at}`, model.file);
              const file = upstreamFiles.get(ref);
              if (file === undefined) return relation(MODEL_SCHEMA, ref); // unchanged by this run: as published
              return withPublishedRest(other, file, upstream.find((output) => output.model === ref)?.window);
            },
            // a source as seeded, at the pinned version (the run's seeds come before the pin)
            source: (sourceName, table) => {
              const source = project.plan.sources.find((s) => s.sourceName === sourceName && s.name === table);
              return relation(source?.schema ?? sourceName, table);
            },
          },
          vars,
        );
        const workDir = await mkdtemp(path.join(os.tmpdir(), `meterflow-${name}-`));
        try {
          const resultFile = path.join(workDir, `${name}.parquet`);
          // the lake attached read-only at the pinned version: what the writer commits meanwhile is not seen
          const { rows, tests } = await withPinnedReader(snapshot, (reader) =>
            reader.withConnection((connection) =>
              interruptOnCancel(connection, async () => {
                for (const ref of model.refs.filter((r) => snapshot.relations[r] === undefined && !upstreamFiles.has(r))) {
                  if (await existingKind(connection, ref)) continue;
                  throw new ProjectError(
                    `${model.file}: ${name} merges ${ref}, which is not in ${at} and not computed by this run: ` +
                      `select it too (e.g. --select +${name})`,
                    model.file,
                  );
                }
                const copied = await connection.runAndReadAll(
                  `copy (${sql}) to ${quotedString(resultFile)} (format parquet, compression zstd)`,
                );
                const count = Number(copied.getRows()[0]?.[0] ?? 0);
                if (!test) return { rows: count, tests: undefined };
                // the tests see the new version whole: with a window, the published rows of the other periods too
                const target = quotedIdentifier(`meterflow_result_${name}`);
                await connection.run(
                  `create or replace temporary view ${target} as select * from ${withPublishedRest(model, resultFile, window)}`,
                );
                try {
                  const outcome = await runDataTests(connection, model.tests, target, (ref) => {
                    const pinned = snapshot.relations[ref];
                    if (pinned !== undefined) return relation(MODEL_SCHEMA, pinned);
                    throw new ProjectError(
                      `${model.file}: a relationships test of ${name} reads ${ref}, which is not in ${at}`,
                      model.file,
                    );
                  });
                  return { rows: count, tests: outcome };
                } finally {
                  await connection.run(`drop view if exists ${target}`);
                }
              }),
            ),
          );
          // a result whose error-severity tests failed is not uploaded: the run stops on its test node
          const failed = tests?.results.some((result) => result.status === 'fail') ?? false;
          if (!failed) await storage.forUri(outputUri).upload(resultFile, outputUri);
          logger.info({ model: name, rows, outputUri, version: snapshot.version, window }, 'ran analytics model');
          const computed = { model: name, outputUri, rows, ...(window ? { window } : {}), durationMs: Date.now() - started };
          // failed error-severity tests fail the activity (red in the Web UI), with what it computed
          if (tests) failOnErrors(name, tests, { analytics: computed });
          return { ...computed, ...(tests ? { tests } : {}) };
        } finally {
          await rm(workDir, { recursive: true, force: true });
        }
      });
    },
  };
}

export function createAnalyticsTestActivities({ project, storage, duckdb }: AnalyticsDependencies) {
  return {
    /**
     * Run an analytics model's YAML tests on its result file, before the writer loads it. Runs test
     * their results in runAnalyticsModel now; this stays for histories recorded before.
     */
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

// The run report, rendered on an analytics worker from the analytics tables and the master at the
// lake version the run left current (or, in older histories, from the result files and the pinned version).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { MasterTotals } from '../report/headline';
import { readNodeSql } from '../report/lineage';
import { CHARTED_ANALYTICS, changedNothing, renderReportHtml, unchangedReportHtml } from '../report/report';
import type { DuckDBConnection } from '@duckdb/node-api';
import { outLocationOf, writeDbtArtifacts, writeRunGrid, writeRunRecord } from '../report/run-history';
import { runRecord } from '../report/run-record';
import type { StorageResolver } from '../storage';
import { temporalWebUiUrl } from '../config';
import { pathList, quotedString, relation } from '../duckdb/sql';
import { MODEL_STATE_TABLE } from '../warehouse/state-schema';
import { pinnedReaders, withScratchDuckdb, type DuckdbSettings, type WithPinnedReader } from '../warehouse/warehouse';
import { activityContext, activityFrame } from './context';
import { MODEL_SCHEMA, existingKinds } from './models';
import type { RenderReportInput, RenderReportResult } from '../contract/activities';

/** Points drawn in the price-response scatter: enough to see the cloud, few enough to keep the file small. */
const SCATTER_POINTS = 1500;

export interface ReportDependencies {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly duckdb: DuckdbSettings;
  /** The Temporal Web UI the grid of runs links each run to; TEMPORAL_UI_URL or `meterflow dev`'s by default. */
  readonly webUiUrl?: string;
  readonly logger?: Logger;
  /** The worker's attachments of pinned versions, shared with its analytics (one made here otherwise). */
  readonly withPinnedReader?: WithPinnedReader;
}

async function localFile(storage: StorageResolver, uri: string): Promise<string | undefined> {
  const store = storage.forUri(uri);
  const object = await store.stat(uri);
  return object ? store.localPath(object) : undefined;
}

/** A MasterTotals from a row of the totals queries below. */
function masterTotalsOf(row: Record<string, unknown>): MasterTotals {
  return {
    halfHours: Number(row.half_hours),
    meters: Number(row.meters),
    from: String(row.first_half_hour ?? ''),
    to: String(row.last_half_hour ?? ''),
    actualKwh: Number(row.actual_kwh),
    estimatedKwh: Number(row.estimated_kwh),
    meanDeviation: Number(row.mean_deviation),
  };
}

/** The headline's totals read from the master itself: a scan of every half hour. */
export async function totalsOfMaster(connection: DuckDBConnection, master: string): Promise<MasterTotals> {
  const totals = await connection.runAndReadAll(
    // per meter first: count(distinct) over the whole master is one thread, a grouping is not
    `with per_meter as (
       select meter_point_id, count(*) as half_hours, min(settlement_timestamp_utc) as first_half_hour,
              max(settlement_timestamp_utc) as last_half_hour, sum(smart_meter_consumption) as actual_kwh,
              sum(estimated_half_hour_consumption) as estimated_kwh, sum(demand_price_elasticity) as sum_deviation,
              count(demand_price_elasticity) as deviations
       from ${master}
       group by meter_point_id
     )
     select coalesce(sum(half_hours), 0)::double as half_hours, count(meter_point_id)::double as meters,
            strftime(min(first_half_hour), '%Y-%m-%dT%H:%M:%SZ') as first_half_hour,
            strftime(max(last_half_hour), '%Y-%m-%dT%H:%M:%SZ') as last_half_hour,
            coalesce(sum(actual_kwh), 0)::double as actual_kwh,
            coalesce(sum(estimated_kwh), 0)::double as estimated_kwh,
            coalesce(sum(sum_deviation) / nullif(sum(deviations), 0), 0)::double as mean_deviation
     from per_meter`,
  );
  return masterTotalsOf(totals.getRowObjectsJson()[0] as Record<string, unknown>);
}

/** The per-month partial aggregates that hold the headline's totals between them. */
const TOTALS_PARTIALS = ['deviation_histogram_by_month', 'meter_readings_by_month', 'half_hourly_load_profile_by_month'] as const;

/**
 * The headline's totals merged from the per-month partial aggregates (a few thousand rows, not a scan
 * of every half hour), when each was computed from this very version of the master: its recorded
 * input is the master's recorded version. Undefined otherwise (a partial missing from the project, or
 * left behind by a run that selected the master but not it): the master is read instead. `held`: the
 * tables the connection's version holds (existingKinds).
 */
export async function totalsFromPartials(
  connection: DuckDBConnection,
  masterName: string,
  held: ReadonlyMap<string, unknown>,
): Promise<MasterTotals | undefined> {
  if (!TOTALS_PARTIALS.every((name) => held.has(name))) return undefined;
  const fresh = await connection.runAndReadAll(
    `select count(*) from ${MODEL_STATE_TABLE} as partial
     inner join ${MODEL_STATE_TABLE} as master on master.model = $master
     where partial.model in (${TOTALS_PARTIALS.map((name) => quotedString(name)).join(', ')})
       and json_extract_string(partial.inputs, $input) = master.version`,
    { master: masterName, input: `$."model:${masterName}"` },
  );
  if (Number(fresh.getRows()[0]?.[0] ?? 0) !== TOTALS_PARTIALS.length) return undefined;
  const table = (name: (typeof TOTALS_PARTIALS)[number]) => relation(MODEL_SCHEMA, name);
  const totals = await connection.runAndReadAll(
    `with deviations as (
       select sum(half_hours) as half_hours, sum(sum_deviation) / nullif(sum(deviations), 0) as mean_deviation
       from ${table('deviation_histogram_by_month')}
     ),
     meters as (
       select count(distinct meter_point_id) as meters, min(first_reading) as first_half_hour, max(last_reading) as last_half_hour
       from ${table('meter_readings_by_month')}
     ),
     consumption as (
       select sum(sum_actual_consumption) as actual_kwh, sum(sum_estimated_consumption) as estimated_kwh
       from ${table('half_hourly_load_profile_by_month')}
     )
     select coalesce(half_hours, 0)::double as half_hours, meters::double as meters,
            strftime(first_half_hour, '%Y-%m-%dT%H:%M:%SZ') as first_half_hour,
            strftime(last_half_hour, '%Y-%m-%dT%H:%M:%SZ') as last_half_hour,
            coalesce(actual_kwh, 0)::double as actual_kwh, coalesce(estimated_kwh, 0)::double as estimated_kwh,
            coalesce(mean_deviation, 0)::double as mean_deviation
     from deviations, meters, consumption`,
  );
  return masterTotalsOf(totals.getRowObjectsJson()[0] as Record<string, unknown>);
}

export function createReportActivities({ project, storage, duckdb, webUiUrl = temporalWebUiUrl(), logger, ...deps }: ReportDependencies) {
  const withPinnedReader = deps.withPinnedReader ?? pinnedReaders(duckdb);
  /** The run's record beside its report, then the grid rewritten from the last runs' records. */
  async function recordRun(input: RenderReportInput): Promise<void> {
    const out = outLocationOf(input.reportUri, input.workflowId);
    if (!out) return;
    const info = activityContext()?.info;
    const now = new Date();
    const record = runRecord({
      workflowId: input.workflowId,
      ...(info?.workflowExecution?.runId ? { runId: info.workflowExecution.runId } : {}),
      ...(info?.workflowNamespace ? { namespace: info.workflowNamespace } : {}),
      logicalDate: input.logicalDate,
      nodes: input.nodes,
      ...(input.failure ? { failure: input.failure } : {}),
      ...(input.startedAt ? { startedAt: input.startedAt } : {}),
      now,
    });
    await writeRunRecord(storage, out, record);
    await writeDbtArtifacts(storage, out, {
      plan: project.plan,
      templates: project.templates,
      workflowId: input.workflowId,
      ...(input.startedAt ? { startedAt: input.startedAt } : {}),
      generatedAt: now,
      nodes: input.nodes,
      dataTests: input.dataTests,
      ...(input.sqlHashes ? { sqlHashes: input.sqlHashes } : {}),
      // the lake's name as dbt-duckdb attaches it (models/profiles.yml)
      database: 'lake',
    });
    const grid = await writeRunGrid(storage, out, { webUiUrl, now });
    if (grid.unreadable.length > 0) logger?.warn({ files: grid.unreadable }, 'run records left out of the grid: not readable as records');
  }

  /** The report's HTML at its URI, a local folder's or S3's. */
  async function writeReport(uri: string, html: string): Promise<void> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'meterflow-report-'));
    try {
      const file = path.join(dir, 'report.html');
      await writeFile(file, html);
      await storage.forUri(uri).upload(file, uri);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  return {
    /**
     * Write the run's self-contained HTML report to reportUri, its record (run.json) beside it, and
     * the grid of the last runs to `<out>/index.html`: for a failed run too, so it gets its column.
     */
    async renderReport(input: RenderReportInput): Promise<RenderReportResult> {
      return activityFrame('report', async () => {
        // the run's record and the grid of runs need nothing read below: written meanwhile (awaited at
        // the end; the catch only keeps a report that fails first from leaving it unhandled)
        const recorded = recordRun(input);
        recorded.catch(() => undefined);
        // the warehouse and project the run named, and the SQL it compiled, as both reports show them
        const scope = {
          ...(input.warehouse ? { warehouse: input.warehouse } : {}),
          ...(input.project ? { project: { dir: input.project.dir, hash: input.project.hash ?? 'its content when the run started' } } : {}),
          ...(input.sqlHashes ? { sqlHashes: input.sqlHashes } : {}),
        };
        if (changedNothing(input.nodes, input.failure)) {
          const html = unchangedReportHtml({ workflowId: input.workflowId, logicalDate: input.logicalDate, nodes: input.nodes, ...scope });
          await writeReport(input.reportUri, html);
          await recorded;
          return { reportUri: input.reportUri, bytes: Buffer.byteLength(html) };
        }
        const analytics: Record<string, Record<string, unknown>[]> = {};
        let points: Record<string, unknown>[] = [];
        let masterTotals: MasterTotals | undefined;
        const snapshot = input.master;
        // the lake at the version the run published (read-only, any process), attached where this
        // worker's analytics keep their pinned versions: on the instance they loaded the extensions into
        const withConnection = <T>(work: (connection: DuckDBConnection) => Promise<T>) =>
          snapshot ? withPinnedReader(snapshot, (reader) => reader.withConnection(work)) : withScratchDuckdb(duckdb, work);
        await withConnection(async (connection) => {
          // the published tables the report charts, as the master's version holds them
          const held = snapshot ? await existingKinds(connection) : new Map<string, 'table' | 'view'>();
          for (const table of (input.analyticsTables ?? []).filter((name) => CHARTED_ANALYTICS.includes(name))) {
            if (!held.has(table)) continue;
            const reader = await connection.runAndReadAll(`select * from ${relation(MODEL_SCHEMA, table)}`);
            analytics[table] = reader.getRowObjectsJson() as Record<string, unknown>[];
          }
          for (const output of input.analyticsOutputs) {
            const file = await localFile(storage, output.outputUri);
            if (!file) continue;
            const reader = await connection.runAndReadAll(`select * from read_parquet(${pathList([file])})`);
            analytics[output.model] = reader.getRowObjectsJson() as Record<string, unknown>[];
          }
          const pinned = snapshot?.relations.demand_price_elasticity;
          if (pinned !== undefined) {
            const master = relation(MODEL_SCHEMA, pinned);
            masterTotals = (await totalsFromPartials(connection, pinned, held)) ?? (await totalsOfMaster(connection, master));
            if (analytics.price_response_variable_tariff) {
              const reader = await connection.runAndReadAll(
                `select profile_class_id, ln(unit_rate_pence_per_kwh) as log_unit_rate, ln(smart_meter_consumption / estimated_half_hour_consumption) as log_consumption
                 from ${master}
                 where is_variable and smart_meter_consumption > 0 and unit_rate_pence_per_kwh > 0
                 order by hash(meter_point_id, settlement_timestamp_utc) limit ${SCATTER_POINTS}`,
              );
              points = reader.getRowObjectsJson() as Record<string, unknown>[];
            }
          }
        });
        const html = await renderReportHtml({
          workflowId: input.workflowId,
          logicalDate: input.logicalDate,
          plan: project.plan,
          nodes: input.nodes,
          dataTests: input.dataTests,
          sourceFiles: input.sourceFiles,
          analytics,
          priceResponsePoints: points,
          ...(masterTotals ? { masterTotals } : {}),
          ...(input.failure ? { failure: input.failure } : {}),
          ...scope,
          sql: await readNodeSql(project.dir, project.plan),
        });
        await writeReport(input.reportUri, html);
        await recorded;
        return { reportUri: input.reportUri, bytes: Buffer.byteLength(html) };
      });
    },
  };
}

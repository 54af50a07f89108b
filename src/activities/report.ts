// The run report, rendered on an analytics worker from the analytics outputs and the snapshot.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { MasterTotals } from '../report/headline';
import { readNodeSql } from '../report/lineage';
import { renderReportHtml } from '../report/report';
import { outLocationOf, writeRunGrid, writeRunRecord } from '../report/run-history';
import { runRecord } from '../report/run-record';
import { joinUri, type StorageResolver } from '../storage';
import { temporalWebUiUrl } from '../config';
import { pathList } from '../warehouse/sql';
import { withScratchDuckdb, type DuckdbSettings } from '../warehouse/warehouse';
import { activityContext, activityFrame } from './context';
import { loadManifest } from './snapshot';
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
}

async function localFile(storage: StorageResolver, uri: string): Promise<string | undefined> {
  const store = storage.forUri(uri);
  const object = await store.stat(uri);
  return object ? store.localPath(object) : undefined;
}

export function createReportActivities({ project, storage, duckdb, webUiUrl = temporalWebUiUrl(), logger }: ReportDependencies) {
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
      now,
    });
    await writeRunRecord(storage, out, record);
    const grid = await writeRunGrid(storage, out, { webUiUrl, now });
    if (grid.unreadable.length > 0) logger?.warn({ files: grid.unreadable }, 'run records left out of the grid: not readable as records');
  }

  return {
    /**
     * Write the run's self-contained HTML report to reportUri, its record (run.json) beside it, and
     * the grid of the last runs to `<out>/index.html`: for a failed run too, so it gets its column.
     */
    async renderReport(input: RenderReportInput): Promise<RenderReportResult> {
      return activityFrame('report', async () => {
        const analytics: Record<string, Record<string, unknown>[]> = {};
        let points: Record<string, unknown>[] = [];
        let masterTotals: MasterTotals | undefined;
        await withScratchDuckdb(duckdb, async (connection) => {
          for (const output of input.analyticsOutputs) {
            const file = await localFile(storage, output.outputUri);
            if (!file) continue;
            const reader = await connection.runAndReadAll(`select * from read_parquet(${pathList([file])})`);
            analytics[output.model] = reader.getRowObjectsJson() as Record<string, unknown>[];
          }
          if (input.snapshotUri) {
            const manifest = await loadManifest(storage, input.snapshotUri);
            const master = manifest.tables.find((t) => t.name === 'demand_price_elasticity');
            const files: string[] = [];
            for (const file of master?.files ?? []) {
              const local = await localFile(storage, joinUri(input.snapshotUri, ...file.path.split('/')));
              if (local) files.push(local);
            }
            if (files.length > 0) {
              const totals = await connection.runAndReadAll(
                `select count(*)::double as half_hours, count(distinct meter_point_id)::double as meters,
                        strftime(min(settlement_timestamp_utc), '%Y-%m-%dT%H:%M:%SZ') as first_half_hour,
                        strftime(max(settlement_timestamp_utc), '%Y-%m-%dT%H:%M:%SZ') as last_half_hour,
                        coalesce(sum(smart_meter_consumption), 0)::double as actual_kwh,
                        coalesce(sum(estimated_half_hour_consumption), 0)::double as estimated_kwh,
                        coalesce(avg(demand_price_elasticity), 0)::double as mean_deviation
                 from read_parquet(${pathList(files)})`,
              );
              const row = totals.getRowObjectsJson()[0] as Record<string, unknown>;
              masterTotals = {
                halfHours: Number(row.half_hours),
                meters: Number(row.meters),
                from: String(row.first_half_hour ?? ''),
                to: String(row.last_half_hour ?? ''),
                actualKwh: Number(row.actual_kwh),
                estimatedKwh: Number(row.estimated_kwh),
                meanDeviation: Number(row.mean_deviation),
              };
            }
            if (files.length > 0 && analytics.price_response_variable_tariff) {
              const reader = await connection.runAndReadAll(
                `select profile_class_id, ln(unit_rate_pence_per_kwh) as log_unit_rate, ln(smart_meter_consumption / estimated_half_hour_consumption) as log_consumption
                 from read_parquet(${pathList(files)})
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
          sql: await readNodeSql(project.dir, project.plan),
        });
        const dir = await mkdtemp(path.join(os.tmpdir(), 'meterflow-report-'));
        try {
          const file = path.join(dir, 'report.html');
          await writeFile(file, html);
          await storage.forUri(input.reportUri).upload(file, input.reportUri);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
        await recordRun(input);
        return { reportUri: input.reportUri, bytes: Buffer.byteLength(html) };
      });
    },
  };
}

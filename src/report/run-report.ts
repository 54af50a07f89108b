// The run report, rendered on an analytics worker from the analytics tables and the master at the
// lake version the run left current (or, in older histories, from the result files and the pinned
// version), with the run's record, dbt's artifacts and the grid of runs beside it. Plain code of a
// project, storage and DuckDB settings: the report activity (activities/report.ts) calls it.
import type { DuckDBConnection } from '@duckdb/node-api';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { StorageResolver } from '../storage';
import { quotedString, readParquet, relation } from '../duckdb/sql';
import { withScratchDuckdb } from '../duckdb/instances';
import type { WithPinnedReader } from '../duckdb/readers';
import type { DuckdbSettings } from '../duckdb/settings';
import type { RenderReportInput, RenderReportResult } from '../contract/activities';
import { publishedTableOf } from '../build/model-sql';
import { tableKey } from '../project/types';
import { existingKinds, keyedRelation } from '../build/relations';
import type { Row } from './charts';
import type { MasterTotals } from './headline';
import { readNodeSql } from './lineage';
import { totalsFromPartials, totalsOfMaster } from './master-totals';
import { CHARTED_ANALYTICS, changedNothing, renderReportHtml, unchangedReportHtml } from './report';
import { outLocationOf, writeDbtArtifacts, writeRunGrid, writeRunRecord } from './run-history';
import { runRecord } from './run-record';

/** Points drawn in the price-response scatter: enough to see the cloud, few enough to keep the file small. */
const SCATTER_POINTS = 1500;

/** The price-response scatter's sample: its points, drawn from the master's newest month. */
interface PriceResponseSample {
  /** The month the points are drawn from (`YYYY-MM`); undefined when the master holds no rows. */
  readonly month: string | undefined;
  /** The read of the points, under way while the other charts render. */
  readonly points: Promise<Row[]>;
}

/**
 * The scatter's points: half hours of variable-tariff meters in the master's newest month, spread by
 * a hash of their key. One month, not the whole master: the scan then costs what a month's build
 * does however many years the lake holds (0.06 s against 0.45 s over a year at 2,000 meters); the
 * newest event time and the month's files are found from the files' statistics, not a scan.
 */
async function priceResponseSample(connection: DuckDBConnection, master: string): Promise<PriceResponseSample> {
  // NOTE: the newest row by a top-1 sort, not max(): on a table both are answered from the files'
  // statistics, but on a windowed new version (a view, on a new day) max() reads every event time
  // (63-150 ms at 2,000 meters and a year) where the sort skips the files it cannot need (21-32 ms)
  const newest = await connection.runAndReadAll(
    `select strftime(date_trunc('month', newest), '%Y-%m-%d') from (select settlement_timestamp_utc as newest from ${master}
     order by settlement_timestamp_utc desc nulls last limit 1)`,
  );
  const first = newest.getRows()[0]?.[0];
  if (first === null || first === undefined) return { month: undefined, points: Promise.resolve([]) };
  const month = String(first);
  const points = connection
    .runAndReadAll(
      `select profile_class_id, ln(unit_rate_pence_per_kwh) as log_unit_rate, ln(smart_meter_consumption / estimated_half_hour_consumption) as log_consumption
       from ${master}
       where settlement_timestamp_utc >= ${quotedString(month)}::timestamp
         and is_variable and smart_meter_consumption > 0 and unit_rate_pence_per_kwh > 0
       order by hash(meter_point_id, settlement_timestamp_utc) limit ${SCATTER_POINTS}`,
    )
    .then((reader) => reader.getRowObjectsJson() as Row[]);
  return { month: month.slice(0, 7), points };
}

/** What the report is rendered with. */
export interface ReportContext {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly duckdb: DuckdbSettings;
  /** The Temporal Web UI the grid of runs links each run to. */
  readonly webUiUrl?: string;
  readonly logger?: Logger;
  /** Where the lake is attached read-only at a version (the worker's, shared with its analytics). */
  readonly withPinnedReader: WithPinnedReader;
}

/** The run's execution as Temporal names it, kept in its record when known. */
export interface RunExecution {
  readonly runId?: string;
  readonly namespace?: string;
}

/** What the report shows that is read from the lake and the result files. */
interface ReportReadings {
  readonly analytics: Record<string, Row[]>;
  /** The price-response scatter's sample: a scan of the master's newest month, read while the other charts render. */
  readonly sample: PriceResponseSample;
  readonly masterTotals: MasterTotals | undefined;
}

async function localFile(storage: StorageResolver, uri: string): Promise<string | undefined> {
  const store = storage.forUri(uri);
  const object = await store.stat(uri);
  return object ? store.localPath(object) : undefined;
}

/** The run's record beside its report, then the grid rewritten from the last runs' records. */
async function recordRun(
  { project, storage, webUiUrl, logger }: ReportContext,
  input: RenderReportInput,
  execution: RunExecution,
): Promise<void> {
  const out = outLocationOf(input.reportUri, input.workflowId);
  if (!out) return;
  const now = new Date();
  const record = runRecord({
    workflowId: input.workflowId,
    ...(execution.runId ? { runId: execution.runId } : {}),
    ...(execution.namespace ? { namespace: execution.namespace } : {}),
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
async function writeReport(storage: StorageResolver, uri: string, html: string): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'meterflow-report-'));
  try {
    const file = path.join(dir, 'report.html');
    await writeFile(file, html);
    await storage.forUri(uri).upload(file, uri);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The shipped project's master, whose totals and price-response points the report shows. */
const MASTER = 'demand_price_elasticity';

/**
 * The analytics the report charts, the master's totals and the price-response points, read from the
 * lake at the version the run published (read-only, any process), attached where this worker's
 * analytics keep their pinned versions: on the instance they loaded the extensions into. `render`
 * gets them while the points are still read (a scan of the master, as long as drawing the charts),
 * and the connection is kept until both are done.
 */
async function withReportData<T>(
  context: ReportContext,
  input: RenderReportInput,
  render: (readings: ReportReadings) => Promise<T>,
): Promise<T> {
  const { storage, duckdb, withPinnedReader } = context;
  const snapshot = input.master;
  const withConnection = <R>(work: (connection: DuckDBConnection) => Promise<R>) =>
    snapshot ? withPinnedReader(snapshot, (reader) => reader.withConnection(work)) : withScratchDuckdb(duckdb, work);
  return withConnection(async (connection) => {
    const analytics: Record<string, Row[]> = {};
    // the published tables the report charts, as the master's version holds them
    const held = snapshot ? await existingKinds(connection) : new Map<string, 'table' | 'view'>();
    // where the project publishes each (its schema and alias)
    const published = (model: string) => publishedTableOf(context.project, model);
    for (const model of (input.analyticsTables ?? []).filter((name) => CHARTED_ANALYTICS.includes(name))) {
      const table = published(model);
      if (!held.has(tableKey(table))) continue;
      const reader = await connection.runAndReadAll(`select * from ${relation(table.schema, table.name)}`);
      analytics[model] = reader.getRowObjectsJson() as Row[];
    }
    for (const output of input.analyticsOutputs) {
      const file = await localFile(storage, output.outputUri);
      if (!file) continue;
      const reader = await connection.runAndReadAll(`select * from ${readParquet([file])}`);
      analytics[output.model] = reader.getRowObjectsJson() as Row[];
    }
    const pinned = snapshot?.relations[MASTER];
    const masterTotals =
      pinned === undefined
        ? undefined
        : ((await totalsFromPartials(connection, MASTER, held, published)) ?? (await totalsOfMaster(connection, keyedRelation(pinned))));
    const sample: PriceResponseSample =
      pinned !== undefined && analytics.price_response_variable_tariff
        ? await priceResponseSample(connection, keyedRelation(pinned))
        : { month: undefined, points: Promise.resolve([]) };
    try {
      return await render({ analytics, sample, masterTotals });
    } finally {
      // a render that failed first leaves the read to end here, not on a connection given back
      await sample.points.catch(() => undefined);
    }
  });
}

/**
 * Write the run's self-contained HTML report to reportUri, its record (run.json) beside it, and the
 * grid of the last runs to `<out>/index.html`: for a failed run too, so it gets its column.
 */
export async function renderRunReport(
  context: ReportContext,
  input: RenderReportInput,
  execution: RunExecution,
): Promise<RenderReportResult> {
  const { project, storage } = context;
  // the run's record and the grid of runs need nothing read below: written meanwhile (awaited at
  // the end; the catch only keeps a report that fails first from leaving it unhandled)
  const recorded = recordRun(context, input, execution);
  recorded.catch(() => undefined);
  // the warehouse and project the run named, and the SQL it compiled, as both reports show them
  const scope = {
    ...(input.warehouse ? { warehouse: input.warehouse } : {}),
    ...(input.project ? { project: { dir: input.project.dir, hash: input.project.hash ?? 'its content when the run started' } } : {}),
    ...(input.sqlHashes ? { sqlHashes: input.sqlHashes } : {}),
  };
  if (changedNothing(input.nodes, input.failure)) {
    const html = unchangedReportHtml({ workflowId: input.workflowId, logicalDate: input.logicalDate, nodes: input.nodes, ...scope });
    await writeReport(storage, input.reportUri, html);
    await recorded;
    return { reportUri: input.reportUri, bytes: Buffer.byteLength(html) };
  }
  const sql = await readNodeSql(project.dir, project.plan);
  const html = await withReportData(context, input, ({ analytics, sample, masterTotals }) =>
    renderReportHtml({
      workflowId: input.workflowId,
      logicalDate: input.logicalDate,
      plan: project.plan,
      nodes: input.nodes,
      dataTests: input.dataTests,
      sourceFiles: input.sourceFiles,
      analytics,
      priceResponsePoints: sample.points,
      ...(sample.month ? { priceResponseMonth: sample.month } : {}),
      ...(masterTotals ? { masterTotals } : {}),
      ...(input.failure ? { failure: input.failure } : {}),
      ...scope,
      sql,
    }),
  );
  await writeReport(storage, input.reportUri, html);
  await recorded;
  return { reportUri: input.reportUri, bytes: Buffer.byteLength(html) };
}

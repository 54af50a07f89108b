// An analytics model's SQL over a pinned lake version, rendered by src/analytics directly (no
// Temporal) and run on an in-memory DuckDB with hand-written rows: over a window it reads the whole
// months that hold it, and a model this run recomputed reads its result with the published rest.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { analyticsModelSql, withPublishedRest } from '../../src/analytics';
import { findModel } from '../../src/build/model-sql';
import { defaultProjectDir } from '../../src/config';
import type { PinnedSnapshot } from '../../src/contract/activities';
import { loadProject, type LoadedProject } from '../../src/project/load';
import { tempDir, writeParquet } from '../support/files';

const snapshot: PinnedSnapshot = {
  warehouse: 'lake',
  version: 7,
  relations: { demand_price_elasticity: 'demand_price_elasticity' },
  tables: [],
};
/** The master changed from 10 January to 3 February: January and February are computed anew. */
const window = { from: '2023-01-10T00:00:00Z', to: '2023-02-03T12:00:00Z' };

/** One meter's half hour of the master, in each of December to March. */
const MASTER = `select * from (values
    ('A', '2022-12-31 23:30'::timestamp, '_A', 1, 0.1),
    ('A', '2023-01-01 00:00'::timestamp, '_A', 1, 0.2),
    ('A', '2023-02-28 23:30'::timestamp, '_A', 1, 0.3),
    ('A', '2023-03-01 00:00'::timestamp, '_A', 1, 0.4)
  ) t(meter_point_id, settlement_timestamp_utc, gsp_group_id, profile_class_id, demand_price_elasticity)`;

/** meter_readings_by_month's rows of one month for meter A, `half_hours` of them. */
const monthRow = (month: string, halfHours: number) =>
  `select '${month}'::timestamp as period_start, 'A' as meter_point_id, '_A' as gsp_group_id, 1 as profile_class_id,
          ${halfHours}::bigint as half_hours, 0.0 as sum_abs_deviation,
          '${month}'::timestamp as first_reading, '${month}'::timestamp as last_reading`;

describe("an analytics model's SQL over the pinned version", () => {
  let project: LoadedProject;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  let dir: string;

  const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];

  beforeAll(async () => {
    project = await loadProject(defaultProjectDir());
    dir = await tempDir('analytics-sql');
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await connection.run(`create table demand_price_elasticity as ${MASTER}`);
    // published before this run: December's and January's rows
    await connection.run(`create table meter_readings_by_month as ${monthRow('2022-12-01', 1)} union all ${monthRow('2023-01-01', 5)}`);
  });

  afterAll(async () => {
    connection.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the master over the whole months that hold the window', async () => {
    const model = findModel(project, 'meter_readings_by_month');
    const input = { model: model.name, snapshot, outputUri: path.join(dir, 'out.parquet'), window };
    const computed = await rows(analyticsModelSql(project, model, input, new Map()));
    expect(computed.map((row) => [row.period_start, row.half_hours])).toEqual([
      ['2023-01-01 00:00:00', '1'],
      ['2023-02-01 00:00:00', '1'],
    ]);
  });

  it("reads a recomputed model as this run's result in its months and as published in the others", async () => {
    const result = path.join(dir, 'meter_readings_by_month.parquet');
    await writeParquet(result, `${monthRow('2023-01-01', 1)} union all ${monthRow('2023-02-01', 2)}`);
    const newVersion = withPublishedRest(findModel(project, 'meter_readings_by_month'), result, window);
    const merged = await rows(`select period_start, half_hours from ${newVersion} order by period_start`);
    expect(merged.map((row) => [row.period_start, row.half_hours])).toEqual([
      ['2022-12-01 00:00:00', '1'],
      ['2023-01-01 00:00:00', '1'],
      ['2023-02-01 00:00:00', '2'],
    ]);
  });

  it('names the model and the pinned version when a ref is not in the snapshot', () => {
    const model = findModel(project, 'meter_readings_by_month');
    const input = { model: model.name, snapshot: { ...snapshot, relations: {} }, outputUri: path.join(dir, 'out.parquet') };
    expect(() => analyticsModelSql(project, model, input, new Map())).toThrow(
      "ref('demand_price_elasticity') is not in the snapshot of lake at version 7",
    );
  });
});

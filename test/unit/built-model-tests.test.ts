// The tests a model's parts left undecided, as a build worker runs them after the writer's commit: a
// row count of a whole build from the parts' own counts, the rest over the committed new version.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { testBuiltModel } from '../../src/build/built-model-tests';
import type { MonthContext } from '../../src/build/months';
import { MODEL_SCHEMA, pendingName } from '../../src/build/model-sql';
import { relation } from '../../src/duckdb/sql';
import { createLogger } from '../../src/logger';
import { loadProject } from '../../src/project/load';
import { Warehouse } from '../../src/warehouse/warehouse';

const PROJECT = "name: shop\nconfig-version: 2\nprofile: shop\nmodel-paths: ['models']\n";
const MODEL_YML = `version: 2
models:
  - name: readings
    data_tests:
      - row_count_between: { arguments: { min_value: 1, max_value: 4 } }
    columns:
      - name: meter
        data_tests: [not_null]
      - name: region
        data_tests: [unique]
`;

describe('a model built in parts, tested on a build worker', () => {
  let dir: string;
  let warehousePath: string;
  let context: MonthContext;
  const pass = { id: 'not_null_readings_meter', severity: 'error' as const, failures: 0, status: 'pass' as const };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'meterflow-built-tests-'));
    const project = path.join(dir, 'project');
    await mkdir(path.join(project, 'models'), { recursive: true });
    await writeFile(path.join(project, 'dbt_project.yml'), PROJECT);
    await writeFile(path.join(project, 'models', 'readings.sql'), 'select 1 as meter, 1 as region');
    await writeFile(path.join(project, 'models', 'readings.yml'), MODEL_YML);
    context = { project: await loadProject(project), logger: createLogger('test', 'silent'), duckdb: {} };
    // the writer's commit, as it leaves the lake: this run's new version, three rows, two in one region
    warehousePath = path.join(dir, 'warehouse');
    const warehouse = await Warehouse.open(warehousePath);
    try {
      await warehouse.withConnection((connection) =>
        connection.run(
          `create table ${relation(MODEL_SCHEMA, pendingName('readings', 'b1'))} as select * from (values (1, 'north'), (2, 'north'), (3, 'south')) t(meter, region)`,
        ),
      );
    } finally {
      warehouse.close();
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const test = (rows: number, whole: boolean) =>
    testBuiltModel(context, { model: 'readings', buildId: 'b1', warehouse: warehousePath, monthTests: [null, pass, null], rows, whole });

  it('counts a whole build’s rows from its parts and reads the committed version for the rest, in the YAML’s order', async () => {
    // the parts wrote 3 rows (the next test: 5 fails, though the table holds 3: it is not counted)
    const { results, rows } = await test(3, true);
    expect(results.map((r) => [r.id, r.status, r.failures])).toEqual([
      [expect.stringMatching(/^row_count_between/), 'pass', 0],
      ['not_null_readings_meter', 'pass', 0],
      ['unique_readings_region', 'fail', 1],
    ]);
    expect(rows).toBe(1);
    expect(results[2]?.samples).toEqual([{ value: 'north', n_records: '2' }]);
  });

  it('fails a whole build’s row count outside its bounds, with the count as its failing row', async () => {
    const [rowCount] = (await test(5, true)).results;
    expect(rowCount).toMatchObject({ status: 'fail', failures: 1, samples: [{ row_count: 5 }] });
    expect(rowCount?.sql).toContain(pendingName('readings', 'b1'));
  });

  it('counts the committed version when the build replaced only a window of it', async () => {
    // the parts of an incremental build hold the window's rows alone: the table decides (3 rows)
    const [rowCount] = (await test(50, false)).results;
    expect(rowCount).toMatchObject({ status: 'pass', failures: 0 });
  });
});

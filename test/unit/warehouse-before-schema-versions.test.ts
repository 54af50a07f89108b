// A warehouse written by the release before state-schema versions (test/fixtures/warehouse-before-schema-versions,
// made as its README says): this code migrates it on opening, keeps its rows, and seeds and builds on it.
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { generateSampleData } from '../../src/generator/generate';
import { STATE_SCHEMA_VERSION } from '../../src/warehouse/state-schema';
import { Warehouse, withWarehouseReader } from '../../src/warehouse/warehouse';
import { queryFile, tempDir } from '../support/files';
import { openWarehouseFixture, seedAndBuild, type WarehouseFixture } from '../support/warehouse';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'warehouse-before-schema-versions');
const STATE_TABLES = ['builds', 'model_state', 'rejected_rows', 'source_files', 'source_versions'] as const;
const MASTER_ROWS = 'select count(*)::integer as n from main.demand_price_elasticity';

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

/** Every state table's rows as JSON text, sorted. */
async function stateRows(query: Query): Promise<Record<string, string[]>> {
  const rows: Record<string, string[]> = {};
  for (const table of STATE_TABLES) {
    rows[table] = (await query(`select to_json(t)::varchar as row from meterflow.${table} as t order by 1`)).map((r) => String(r.row));
  }
  return rows;
}

const stateTablesOf = async (query: Query) =>
  (await query(`select table_name from duckdb_tables() where schema_name = 'meterflow' order by 1`)).map((row) => row.table_name);

describe('a warehouse written before the state schema had versions', () => {
  let before: { rows: Record<string, string[]>; tables: unknown[]; master: Record<string, unknown>[] };
  let fixture: WarehouseFixture;
  let closed = false;

  beforeAll(async () => {
    // read as the previous release left it (a copy: reading the fixture itself would leave files beside it)
    const untouched = path.join(await tempDir('before-versions-read'), 'warehouse');
    await cp(FIXTURE, untouched, { recursive: true });
    const query: Query = (sql) => queryFile(untouched, sql);
    before = { rows: await stateRows(query), tables: await stateTablesOf(query), master: await query(MASTER_ROWS) };
    fixture = await openWarehouseFixture('before-versions', undefined, FIXTURE);
  });

  afterAll(() => closed || fixture?.close());

  it('held every state table with rows, and no version', () => {
    expect(before.tables).toEqual(['builds', 'model_state', 'rejected_rows', 'source_files', 'source_versions']);
    for (const table of STATE_TABLES) expect({ table, empty: before.rows[table]?.length === 0 }).toEqual({ table, empty: false });
    expect(Number(before.master[0]?.n)).toBeGreaterThan(0);
  });

  it('is migrated on opening: every migration recorded, every row kept', async () => {
    expect(await fixture.query('select version from meterflow.schema_migrations order by version')).toEqual(
      Array.from({ length: STATE_SCHEMA_VERSION }, (_, index) => ({ version: index + 1 })),
    );
    expect(await stateRows(fixture.query)).toEqual(before.rows);
    const columns = await fixture.query(
      `select column_name from information_schema.columns where table_schema = 'meterflow' and table_name = 'source_files'`,
    );
    expect(columns.map((row) => row.column_name)).toEqual(expect.arrayContaining(['event_from', 'event_to', 'content_sha256']));
  });

  it('plans a run from the model states it recorded', async () => {
    const plan = await fixture.writer.planRun({ buildId: 'after-migration' });
    expect(Object.keys(plan.built).sort()).toEqual(
      (await fixture.query('select model from meterflow.model_state order by 1')).map((row) => String(row.model)),
    );
    expect(await fixture.query('select build_key from meterflow.builds order by 1')).toEqual([
      { build_key: 'aftermigration' },
      { build_key: 'fixture' },
    ]);
  });

  it('seeds and builds on it: the same sample data gives the same master', async () => {
    const sources = await tempDir('before-versions-sources');
    // as the fixture was made, without the file of a negative reading, in another folder than its
    // /tmp/fixture-make/sources: refused unless the run says the sources moved
    await generateSampleData({ outDir: sources, meters: 3, from: '2023-01-01', to: '2023-01-03', seed: 7 });
    await expect(seedAndBuild(fixture, sources)).rejects.toThrow(
      /this warehouse holds [\d,]+ rows of it from \d+ file\(s\) in \/tmp\/fixture-make\/sources\//,
    );
    await seedAndBuild(fixture, sources, { sourcesMoved: true });
    expect(await fixture.query(MASTER_ROWS)).toEqual(before.master);
    const files = await fixture.query('select distinct uri from meterflow.source_files');
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((row) => String(row.uri).startsWith(sources))).toBe(true);
    // the rows set aside went with the file they came from
    expect(await fixture.query('select count(*)::integer as n from meterflow.rejected_rows')).toEqual([{ n: 0 }]);
  });

  it('is refused, unwritten, once its recorded version is newer than this code knows', async () => {
    const location = path.join(fixture.dir, 'warehouse-warehouse');
    const later = STATE_SCHEMA_VERSION + 1;
    await fixture.warehouse.transaction((connection) =>
      connection.run(`insert into meterflow.schema_migrations values (${later}, 'from a later meterflow', now()::timestamp)`),
    );
    fixture.close();
    closed = true;
    const snapshot = () => withWarehouseReader(location, {}, (reader) => reader.currentSnapshot());
    const unchanged = await snapshot();
    await expect(Warehouse.open(location)).rejects.toThrow(
      `warehouse ${location}: its state schema is version ${later}, newer than this meterflow knows (version ${STATE_SCHEMA_VERSION})`,
    );
    expect(await snapshot()).toBe(unchanged);
  });
});

// Seeds read as dbt-duckdb reads them: each CSV under fixtures/seed-types was loaded by dbt-core
// 1.10.15 with dbt-duckdb 1.9.6 (`dbt seed`), and dbt-duckdb.json holds the columns, types and
// values (as text) it gave, or that it refused the file. meterflow's reading of each must give the
// same, or refuse it too. Types come from agate's rules (seed-csv.ts), values from DuckDB's reader.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { agateNames, agateType } from '../../src/seed/seed-csv';
import { readFileSql } from '../../src/seed/source-files';
import type { SourceTable } from '../../src/project/types';

interface Recorded {
  readonly columns?: [string, string][];
  readonly rows?: (string | null)[][];
  readonly error?: true;
  readonly delimiter?: string;
  readonly column_types?: Record<string, string>;
}

const fixtures = path.join(__dirname, '..', 'fixtures', 'seed-types');
const recorded = JSON.parse(readFileSync(path.join(fixtures, 'dbt-duckdb.json'), 'utf8')) as Record<string, Recorded>;

const seedOf = (name: string, c: Recorded): SourceTable => ({
  name,
  sourceName: 'seed',
  schema: 'main',
  columns: [],
  tests: [],
  seed: { file: `seeds/${name}.csv`, delimiter: c.delimiter ?? ',', ...(c.column_types ? { columnTypes: c.column_types } : {}) },
});

describe('seeds typed and read as dbt-duckdb reads them', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await connection.run("set TimeZone = 'UTC'");
  });
  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  it.each(Object.entries(recorded))('%s: the columns, types and values dbt gave, or its refusal', async (name, c) => {
    const read = async () => {
      const sql = await readFileSql(seedOf(name, c), path.join(fixtures, `${name}.csv`));
      const described = await connection.runAndReadAll(`describe select * from ${sql}`);
      const columns = described.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]);
      const text = columns.map(([column], i) => `"${column?.replace(/"/g, '""')}"::varchar as c${i}`).join(', ');
      const rows = columns.length === 0 ? [] : (await connection.runAndReadAll(`select ${text} from ${sql}`)).getRowsJS();
      return { columns, rows };
    };
    if (c.error) {
      await expect(read()).rejects.toThrow();
      return;
    }
    const got = await read();
    expect(got.columns).toEqual(c.columns);
    expect(got.rows).toEqual(c.rows);
  });

  it("parses a changed seed into its kept table's types, as dbt-duckdb's COPY does: '30.5' is 31 in an INTEGER column", async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const os = await import('node:os');
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'seed-kept-')), 's.csv');
    await writeFile(file, 'id,a\n1,30.5\n2,31.5\n3,2.7\n4,-0.5\n5,2.5\n6,-1.5\n');
    const seed = {
      name: 's',
      sourceName: '',
      schema: 'main',
      columns: [],
      tests: [],
      seed: { file: 'seeds/s.csv', delimiter: ',' },
    } as SourceTable;
    const values = async (types?: Map<string, string>) =>
      (await connection.runAndReadAll(`select a::varchar from ${await readFileSql(seed, file, types)} order by id`)).getRowsJS().flat();
    // dbt 1.10.15 with dbt-duckdb 1.9.6, the seed first loaded with whole numbers: 31, 32, 3, -1, 3, -2
    expect(await values(new Map([['a', 'INTEGER']]))).toEqual(['31', '32', '3', '-1', '3', '-2']);
    // a seed loaded whole (first, or --full-refresh) takes agate's type: DOUBLE here
    expect(await values()).toEqual(['30.5', '31.5', '2.7', '-0.5', '2.5', '-1.5']);
  });

  it("types a column by agate's rules: numbers with places are DOUBLE, ISO dates and times only, true/false only", () => {
    expect(agateType(['007', '+5', '1_000', '1e3', '1.0'])).toBe('INTEGER');
    expect(agateType(['1.50', '2'])).toBe('DOUBLE');
    expect(agateType(['1,000', '50%', '$5'])).toBe('INTEGER');
    expect(agateType(['0x1F'])).toBe('VARCHAR');
    expect(agateType(['t', 'f'])).toBe('VARCHAR');
    expect(agateType(['TRUE', 'false', ''])).toBe('BOOLEAN');
    expect(agateType(['2024-01-02', '2024-2-3'])).toBe('DATE');
    expect(agateType(['2024-02-30'])).toBe('VARCHAR');
    expect(agateType(['01/02/2024', '2024/01/02'])).toBe('VARCHAR');
    expect(agateType(['2024-01-02 03:04:05'])).toBe('TIMESTAMP');
    expect(agateType(['2024-01-02T03:04:05-02:00', '2024-01-02T03:04Z'])).toBe('TIMESTAMP');
    expect(agateType(['2024-01-02 03:04'])).toBe('VARCHAR');
    expect(agateType(['null', ''])).toBe('INTEGER');
  });

  it('names columns as agate does: an empty header by its letter, a repeated one as name_2', () => {
    expect(agateNames(['id', '', 'id', 'id', ''])).toEqual(['id', 'b', 'id_2', 'id_3', 'e']);
  });
});

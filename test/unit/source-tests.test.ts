// A source's tests on the rows a seed just loaded: one over many rows judges the whole table, as dbt
// tests a source, not each file alone.
import { DuckDBInstance } from '@duckdb/node-api';
import { createLogger } from '../../src/logger';
import { parseTests } from '../../src/project/data-tests';
import type { SourceTable } from '../../src/project/types';
import { checkSourceTests, countLoadedRows } from '../../src/seed/source-tests';

describe("a source's tests over many rows", () => {
  it('find a key duplicated across two files, naming the files just loaded, and warn without refusing', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(
        "create table ev as select * from (values ('s3://b/ev/f1.parquet', 1), ('s3://b/ev/f1.parquet', 2), ('s3://b/ev/f2.parquet', 2), ('s3://b/ev/f2.parquet', 3)) v(_source_file, id)",
      );
      const source = (severity: string): SourceTable => ({
        name: 'ev',
        sourceName: 'raw',
        schema: 'raw',
        columns: [{ name: 'id' }],
        tests: parseTests([{ unique: { config: { severity } } }], 'ev', 'models/sources.yml', 'id'),
      });
      const loaded = [{ uri: 's3://b/ev/f2.parquet', size: 1, etag: 'x' }] as never[];
      const logger = createLogger('test', 'silent');
      const check = async (severity: string) =>
        checkSourceTests(
          connection,
          source(severity),
          'ev',
          loaded,
          logger,
          await countLoadedRows(connection, source(severity), 'ev', loaded),
        );
      await expect(check('error')).rejects.toThrow("source ev: with s3://b/ev/f2.parquet loaded, it fails unique on column 'id' (1 row)");
      // a warn test over many rows sets nothing aside: it is counted, its rows kept
      await expect(check('warn')).resolves.toEqual([{ test: 'unique_ev_id', column: 'id', rows: 1, kept: true }]);
      expect((await connection.runAndReadAll('select count(*)::int from ev')).getRows()).toEqual([[4]]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('keep the rows a warn test fails, as dbt does, and set them aside only where the test asks', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(
        "create table readings as select * from (values ('s3://b/r/q1.parquet', 1, 0.5), ('s3://b/r/q1.parquet', 2, -5.0), ('s3://b/r/q1.parquet', 3, -1.0)) v(_source_file, id, kwh)",
      );
      await connection.run('create schema meterflow');
      await connection.run(
        'create table meterflow.rejected_rows (source varchar, uri varchar, test varchar, column_name varchar, "row" json, run_at timestamp)',
      );
      const source = (meta: object): SourceTable => ({
        name: 'readings',
        sourceName: 'raw',
        schema: 'raw',
        columns: [{ name: 'id' }, { name: 'kwh' }],
        tests: parseTests(
          [{ accepted_range: { arguments: { min_value: 0 }, config: { severity: 'warn', ...meta } } }],
          'readings',
          'models/sources.yml',
          'kwh',
        ),
      });
      const loaded = [{ uri: 's3://b/r/q1.parquet', size: 1, etag: 'x' }] as never[];
      const check = async (meta: object) =>
        checkSourceTests(
          connection,
          source(meta),
          'readings',
          loaded,
          createLogger('test', 'silent'),
          await countLoadedRows(connection, source(meta), 'readings', loaded),
        );
      const id = 'accepted_range_readings_kwh';
      expect(await check({})).toEqual([{ test: id, column: 'kwh', rows: 2, kept: true }]);
      // judged by its thresholds, as dbt judges a test: below warn_if it passes, below error_if an error test warns
      expect(await check({ warn_if: '> 10' })).toEqual([]);
      expect(await check({ severity: 'error', error_if: '> 5' })).toEqual([{ test: id, column: 'kwh', rows: 2, kept: true }]);
      await expect(check({ severity: 'error', error_if: '> 1' })).rejects.toThrow(
        'source readings: s3://b/r/q1.parquet fails accepted_range',
      );
      expect((await connection.runAndReadAll('select count(*)::int from readings')).getRows()).toEqual([[3]]);
      expect(await check({ meta: { meterflow: { set_aside: true } } })).toEqual([{ test: id, column: 'kwh', rows: 2 }]);
      expect((await connection.runAndReadAll('select id from readings')).getRows()).toEqual([[1]]);
      expect((await connection.runAndReadAll('select count(*)::int from meterflow.rejected_rows')).getRows()).toEqual([[2]]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

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
      // a warn test over many rows sets nothing aside: it is logged
      await expect(check('warn')).resolves.toEqual([]);
      expect((await connection.runAndReadAll('select count(*)::int from ev')).getRows()).toEqual([[4]]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

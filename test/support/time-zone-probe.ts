// Run in a process of its own with a TZ (lake.test.ts): what the time zone makes of a reading at
// 23:30 UTC on the last day of January, in meterflow's DuckDB instances and in a bare one. Prints JSON.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import path from 'node:path';
import { withScratchDuckdb } from '../../src/duckdb/instances';
import { openLake } from '../../src/lake/lake';

const PROBE = "select current_setting('TimeZone') as zone, month(timestamptz '2023-01-31 23:30:00+00') as month";

async function probe(connection: DuckDBConnection): Promise<Record<string, unknown>> {
  return (await connection.runAndReadAll(PROBE)).getRowObjectsJson()[0] as Record<string, unknown>;
}

async function main(): Promise<void> {
  const folder = process.argv[2] as string;
  const bare = await (await DuckDBInstance.create(':memory:')).connect();
  const lake = await openLake({ catalog: `sqlite:${path.join(folder, 'catalog.sqlite')}`, dataPath: path.join(folder, 'data') });
  try {
    const result = {
      bare: await probe(bare),
      lake: await lake.withConnection(probe),
      scratch: await withScratchDuckdb({}, probe),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    lake.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

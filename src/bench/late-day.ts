// The benches' incremental case: a copy of the sources with the year's last day (or days) of readings held
// back, to land later as a file of its own.
import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { quotedString } from '../duckdb/sql';

/**
 * Copy `sources` to `<work>/incremental-sources` without the last `days` days of the last quarter's
 * readings, each written to `<dayFile>.held` (oldest first): renaming one to its dayFile lands it.
 */
export async function holdBackLastDays(
  sources: string,
  work: string,
  days: number,
): Promise<{ incrementalSources: string; dayFiles: string[] }> {
  const incrementalSources = path.join(work, 'incremental-sources');
  await rm(incrementalSources, { recursive: true, force: true });
  execFileSync('cp', ['-a', sources, incrementalSources]);
  const lastQuarter = path.join(incrementalSources, 'smart_meter_consumption_q4');
  const dayFiles = Array.from({ length: days }, (_, i) => path.join(lastQuarter, `late-day-${i + 1}.parquet`));
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    const q4 = quotedString(path.join(lastQuarter, '*.parquet'));
    const firstHeld = `(select max(settlement_timestamp_utc)::date - ${days - 1} from read_parquet(${q4}, hive_partitioning = false))`;
    for (const [i, dayFile] of dayFiles.entries()) {
      const day = `(${firstHeld} + ${i})`;
      await c.run(
        `copy (select * from read_parquet(${q4}, hive_partitioning = false) where settlement_timestamp_utc >= ${day} and settlement_timestamp_utc < ${day} + 1) to ${quotedString(`${dayFile}.held`)} (format parquet)`,
      );
    }
    for (const file of readdirSync(lastQuarter).filter((f) => f.endsWith('.parquet'))) {
      const full = path.join(lastQuarter, file);
      await c.run(
        `copy (select * from read_parquet(${quotedString(full)}, hive_partitioning = false) where settlement_timestamp_utc < ${firstHeld}) to ${quotedString(`${full}.tmp`)} (format parquet)`,
      );
      await rm(full);
      await copyFile(`${full}.tmp`, full);
      await rm(`${full}.tmp`);
    }
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  return { incrementalSources, dayFiles };
}

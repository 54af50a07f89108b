// What the fault and bad-input tests record for `npm run chaos`: one row per case.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/config';
import { queryFile } from './files';

export interface ChaosRow {
  readonly category: 'fault' | 'bad input';
  readonly name: string;
  /** Runs that completed (for bad input: 0, the run must stop) out of those started. */
  readonly runsCompleted: string;
  readonly rowsLost: number;
  readonly rowsDuplicated: number;
  readonly tablesUnchanged: string;
  readonly outcome: string;
}

export const CHAOS_DIR = path.join(PACKAGE_ROOT, 'test-artifacts', 'chaos');

export async function recordChaos(row: ChaosRow): Promise<void> {
  await mkdir(CHAOS_DIR, { recursive: true });
  // temporary folders say nothing to a reader of the report
  row = { ...row, outcome: row.outcome.replace(/\/tmp\/meterflow-test-[^/]+\//g, '…/') };
  await writeFile(path.join(CHAOS_DIR, `${row.category.replace(' ', '-')}-${row.name.replace(/\W+/g, '-')}.json`), JSON.stringify(row));
}

/**
 * A checksum of the contents of every published table, by name: the tables in main (models and
 * analytics results; views are definitions, not data), and with `raw` the seeded tables too.
 */
export async function warehouseChecksums(databaseFile: string, options: { raw?: boolean } = {}): Promise<Record<string, string>> {
  const schemas = options.raw ? `('raw', 'main')` : `('main')`;
  const tables = await queryFile(
    databaseFile,
    `select table_schema || '.' || table_name as name from information_schema.tables
     where table_catalog = current_database() and table_schema in ${schemas} and table_type = 'BASE TABLE' and table_name not like '\\_\\_meterflow\\_pending%' escape '\\' order by 1`,
  );
  const checksums: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await queryFile(
      databaseFile,
      `select count(*)::varchar || ':' || coalesce(sum(hash(t)::hugeint), 0)::varchar as c from ${String(name)} t`,
    );
    checksums[String(name)] = String(row?.c);
  }
  return checksums;
}

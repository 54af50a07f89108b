// A second process that reads a lake table over and over (read-only) until a stop file appears,
// printing one JSON line per read: the snapshot it saw, the table's row count, or the error.
// Usage: node --import tsx test/support/lake-reader.ts <catalog> <table> <stop file>
import { existsSync } from 'node:fs';
import { LAKE_ALIAS, openLake } from '../../src/lake/lake';

async function run(): Promise<void> {
  const [catalog, table, stopFile] = process.argv.slice(2);
  if (!catalog || !table || !stopFile) throw new Error('usage: lake-reader.ts <catalog> <table> <stop file>');
  const lake = await openLake({ catalog, readOnly: true });
  try {
    while (!existsSync(stopFile)) {
      const started = Date.now();
      try {
        // one transaction: the count and the snapshot id come from the same snapshot
        const read = await lake.transaction(async (connection) => {
          const reader = await connection.runAndReadAll(
            `select (select id from ducklake_current_snapshot('${LAKE_ALIAS}')), (select count(*) from ${LAKE_ALIAS}.${table})`,
          );
          const [snapshot, rows] = reader.getRows()[0] ?? [];
          return { snapshot: Number(snapshot), rows: Number(rows) };
        });
        process.stdout.write(`${JSON.stringify({ ...read, ms: Date.now() - started })}\n`);
      } catch (err) {
        process.stdout.write(`${JSON.stringify({ error: (err as Error).message, ms: Date.now() - started })}\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    lake.close();
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Publishing: the master tables are written as Parquet files to the snapshot location, then the
// manifest, last. A snapshot without a manifest does not exist for readers; one with a manifest never changes.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StorageError } from '../errors';
import type { Logger } from '../logger';
import { joinUri, parseLocation, type StorageResolver } from '../storage';
import { makeDirectory } from '../storage/fs-errors';
import { quotedString, relation } from '../warehouse/sql';
import type { Warehouse } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import { MODEL_SCHEMA, pendingName } from './models';
import type { PublishSnapshotInput, SnapshotManifest, SnapshotTable } from '../contract/activities';

export const MANIFEST_NAME = 'manifest.json';

/** Files DuckDB writes a table into: big enough to read fast, small enough to upload and read in parallel. */
const SNAPSHOT_FILE_SIZE = '256MB';

export interface SnapshotDependencies {
  readonly warehouse: Warehouse;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

async function readManifest(storage: StorageResolver, snapshotUri: string): Promise<SnapshotManifest | undefined> {
  const manifestUri = joinUri(snapshotUri, MANIFEST_NAME);
  const store = storage.forUri(manifestUri);
  if (!(await store.stat(manifestUri))) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(manifestUri)) chunks.push(Buffer.from(chunk as Buffer));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as SnapshotManifest;
}

/** The manifest of a published snapshot; a clear error where there is none. */
export async function loadManifest(storage: StorageResolver, snapshotUri: string): Promise<SnapshotManifest> {
  const manifest = await readManifest(storage, snapshotUri);
  if (!manifest) throw new StorageError(`no snapshot at ${snapshotUri}: ${MANIFEST_NAME} is missing`, snapshotUri);
  return manifest;
}

export function createSnapshotActivities({ warehouse, storage, logger }: SnapshotDependencies) {
  return {
    /**
     * Write the given tables to a new immutable snapshot; a retry after success returns the same manifest.
     * The run records it when it publishes, so a failed run's snapshot is never reused.
     */
    async publishSnapshot({ tables, snapshotUri, pending }: PublishSnapshotInput): Promise<SnapshotManifest> {
      return activityFrame(`snapshot ${snapshotUri}`, async () => {
        const published = await readManifest(storage, snapshotUri);
        if (published) return published;
        const location = parseLocation(snapshotUri);
        // local snapshots are written in place (invisible until the manifest exists); S3 ones staged then uploaded
        const stagingDir = location.kind === 'local' ? location.path : await mkdtemp(path.join(os.tmpdir(), 'meterflow-snapshot-'));
        try {
          const written: SnapshotTable[] = [];
          for (const table of tables) {
            const tableDir = path.join(stagingDir, table);
            await rm(tableDir, { recursive: true, force: true }); // leftovers of an attempt that died
            await makeDirectory(stagingDir);
            const source = relation(MODEL_SCHEMA, pending?.tables.includes(table) ? pendingName(table, pending.buildId) : table);
            const { rows, columns } = await warehouse.withConnection((connection) =>
              interruptOnCancel(connection, async () => {
                const copied = await connection.runAndReadAll(
                  `copy (select * from ${source}) to ${quotedString(tableDir)} (format parquet, compression zstd, file_size_bytes '${SNAPSHOT_FILE_SIZE}')`,
                );
                const described = await connection.runAndReadAll(`describe ${source}`);
                return {
                  rows: Number(copied.getRows()[0]?.[0] ?? 0),
                  columns: described.getRowObjectsJS().map((row) => ({ name: String(row.column_name), type: String(row.column_type) })),
                };
              }),
            );
            const files = [];
            for (const name of (await readdir(tableDir)).sort()) {
              const relativePath = `${table}/${name}`;
              const size = (await stat(path.join(tableDir, name))).size;
              if (location.kind === 's3') {
                const target = joinUri(snapshotUri, table, name);
                await storage.forUri(target).upload(path.join(tableDir, name), target);
              }
              files.push({ path: relativePath, size });
            }
            written.push({ name: table, rows, columns, files });
          }
          const manifest: SnapshotManifest = { snapshotUri, createdAt: new Date().toISOString(), tables: written };
          const manifestUri = joinUri(snapshotUri, MANIFEST_NAME);
          await storage.forUri(manifestUri).write(manifestUri, JSON.stringify(manifest, null, 2));
          logger.info({ snapshotUri, tables }, 'published snapshot');
          return manifest;
        } finally {
          if (location.kind === 's3') await rm(stagingDir, { recursive: true, force: true });
        }
      });
    },
  };
}

// Seeding: each source's Parquet files, checked against the data contract, replace raw.<source> atomically.
import type { DuckDBConnection } from '@duckdb/node-api';
import { SourceDataError } from '../errors';
import type { Logger } from '../logger';
import type { SourceTable } from '../project/types';
import type { StorageResolver, StoredObject } from '../storage';
import { duckdbMessage, pathList, quotedIdentifier, quotedString, relation } from '../warehouse/sql';
import type { Warehouse } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import type { SeedSourceInput, SeedSourceResult, SourceFileIdentity } from './types';

export interface SeedDependencies {
  readonly warehouse: Warehouse;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

/** Where the provenance of every seeded file is kept (URI, size, ETag, rows). */
export const SOURCE_FILES_TABLE = relation('meterflow', 'source_files');

/** Check one file's columns against the contract; name the file and column that differ. */
async function checkContract(connection: DuckDBConnection, source: SourceTable, file: StoredObject, localPath: string): Promise<void> {
  let described: Record<string, string>;
  try {
    const reader = await connection.runAndReadAll(`describe select * from read_parquet(${quotedString(localPath)})`);
    described = Object.fromEntries(reader.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]));
  } catch (err) {
    throw new SourceDataError(
      `source ${source.name}: ${file.uri} is not a readable Parquet file: ${duckdbMessage(err)}`,
      source.name,
      file.uri,
    );
  }
  for (const column of source.columns) {
    const actual = described[column.name];
    if (actual === undefined) {
      throw new SourceDataError(`source ${source.name}: ${file.uri} has no column '${column.name}'`, source.name, file.uri);
    }
    const expected = column.dataType?.toUpperCase();
    if (expected && actual.toUpperCase() !== expected) {
      const hint = /WITH TIME ZONE/i.test(actual) ? ' (timestamps must be UTC without a time zone)' : '';
      throw new SourceDataError(
        `source ${source.name}: ${file.uri} column '${column.name}' is ${actual}, the contract says ${expected}${hint}`,
        source.name,
        file.uri,
      );
    }
  }
}

export function createSeedActivities({ warehouse, storage, logger }: SeedDependencies) {
  return {
    /** Replace raw.<source> with the rows of every Parquet file at the source's location. */
    async seedSource({ source, uri }: SeedSourceInput): Promise<SeedSourceResult> {
      return activityFrame(`seed ${source.name}`, async () => {
        const started = Date.now();
        const store = storage.forUri(uri);
        const files = (await store.list(uri)).filter((object) => object.name.endsWith('.parquet'));
        if (files.length === 0) {
          throw new SourceDataError(`source ${source.name}: no Parquet files at ${uri}`, source.name, uri);
        }
        const localPaths = await Promise.all(files.map((file) => store.localPath(file)));
        const table = relation(source.schema, source.name);
        const columns = source.columns.map((column) => quotedIdentifier(column.name)).join(', ');

        const identities = await warehouse.transaction(async (connection) =>
          interruptOnCancel(connection, async () => {
            for (const [index, file] of files.entries()) await checkContract(connection, source, file, localPaths[index] as string);
            await connection.run(`create schema if not exists ${quotedIdentifier(source.schema)}`);
            // one select per file, so each row remembers the URI it came from (not a local cache path)
            const perFile = files.map(
              (file, index) =>
                `select ${columns}, ${quotedString(file.uri)} as _source_file from read_parquet(${pathList([localPaths[index] as string])})`,
            );
            await connection.run(`create or replace table ${table} as ${perFile.join('\nunion all\n')}`);
            const counts = await connection.runAndReadAll(`select _source_file, count(*)::bigint as n from ${table} group by all`);
            const rowsByUri = new Map(counts.getRowObjectsJS().map((row) => [String(row._source_file), Number(row.n)]));
            const identities: SourceFileIdentity[] = files.map((file) => ({
              uri: file.uri,
              size: file.size,
              etag: file.etag,
              rows: rowsByUri.get(file.uri) ?? 0,
            }));
            await connection.run(
              `create table if not exists ${SOURCE_FILES_TABLE} (source varchar, uri varchar, size bigint, etag varchar, rows bigint, seeded_at timestamp)`,
            );
            await connection.run(`delete from ${SOURCE_FILES_TABLE} where source = $source`, { source: source.name });
            for (const identity of identities) {
              await connection.run(`insert into ${SOURCE_FILES_TABLE} values ($source, $uri, $size, $etag, $rows, now()::timestamp)`, {
                source: source.name,
                uri: identity.uri,
                size: identity.size,
                etag: identity.etag,
                rows: identity.rows,
              });
            }
            return identities;
          }),
        );
        const rows = identities.reduce((sum, file) => sum + file.rows, 0);
        logger.info({ source: source.name, files: files.length, rows }, 'seeded source');
        return { source: source.name, table: `${source.schema}.${source.name}`, rows, files: identities, durationMs: Date.now() - started };
      });
    },
  };
}

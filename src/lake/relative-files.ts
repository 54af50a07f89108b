// Data files recorded by absolute path, made relative to their tables: the migration that makes a
// warehouse folder self-contained. Lakes written before month files were moved into their table's
// folder (see activities/month-files.ts) recorded them by absolute path, so a `cp -r` copy of the
// folder read the original's files, and its maintenance could delete them. Run by the writer when it
// opens a lake whose data path is local; each file is linked into its table's folder first, the
// catalog then points at the link in one transaction, and the old name is removed last, so a crash
// at any step leaves every recorded path readable (at worst an unreferenced file, which maintenance
// deletes as any orphan).
import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { link, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';

interface AbsoluteFile {
  readonly id: bigint;
  readonly path: string;
  /** The folder of the file's table, absolute, ending in `/`. */
  readonly tableFolder: string;
  /** Its schema's folder, absolute, ending in `/`. */
  readonly schemaFolder: string;
}

const withSlash = (folder: string) => (folder.endsWith('/') ? folder : `${folder}/`);

/** A catalog path: relative to the folder above, or absolute. */
type CatalogPath = readonly [path: unknown, isRelative: unknown];

/**
 * A table's folders, absolute and ending in `/`, from the catalog's paths of its schema and of it
 * (each relative to the folder above it, the data path for a schema, or absolute).
 */
export function tableFoldersOf(dataPath: string, [schemaPath, schemaRelative]: CatalogPath, [tablePath, tableRelative]: CatalogPath) {
  const schemaFolder = withSlash(schemaRelative ? `${withSlash(dataPath)}${String(schemaPath)}` : String(schemaPath));
  return { schemaFolder, tableFolder: withSlash(tableRelative ? `${schemaFolder}${String(tablePath)}` : String(tablePath)) };
}

/** The data files of the lake recorded by absolute path, with the folders of their tables. */
async function absoluteFiles(connection: DuckDBConnection, metadata: string, dataPath: string): Promise<AbsoluteFile[]> {
  const reader = await connection.runAndReadAll(
    `with tables as (
       select distinct on (table_id) table_id, schema_id, path, path_is_relative from ${metadata}.ducklake_table order by table_id, begin_snapshot desc
     ), schemas as (
       select distinct on (schema_id) schema_id, path, path_is_relative from ${metadata}.ducklake_schema order by schema_id, begin_snapshot desc
     )
     select f.data_file_id, f.path, t.path, t.path_is_relative, s.path, s.path_is_relative
     from ${metadata}.ducklake_data_file f
     join tables t on t.table_id = f.table_id
     join schemas s on s.schema_id = t.schema_id
     where not f.path_is_relative`,
  );
  return reader.getRows().map(([id, file, tablePath, tableRelative, schemaPath, schemaRelative]) => ({
    id: id as bigint,
    path: String(file),
    ...tableFoldersOf(dataPath, [schemaPath, schemaRelative], [tablePath, tableRelative]),
  }));
}

/**
 * Where a file goes in its table's folder: where it is, if it is in it already; otherwise its path
 * below the schema's folder less the first folder (the model's: `<model>/year=…/month=…/f.parquet`).
 */
function placeIn(file: AbsoluteFile): string | undefined {
  if (file.path.startsWith(file.tableFolder)) return file.path;
  if (!file.path.startsWith(file.schemaFolder)) return undefined;
  const below = file.path.slice(file.schemaFolder.length).split('/').slice(1).join('/');
  return below.length > 0 ? `${file.tableFolder}${below}` : undefined;
}

/**
 * Record every data file of a local lake that lies under its data path relative to its table,
 * linking it into the table's folder where it lies elsewhere. Returns how many it changed.
 */
export async function makeDataFilesRelative(connection: DuckDBConnection, alias: string, dataPath: string): Promise<number> {
  if (dataPath.startsWith('s3://')) return 0;
  const base = withSlash(dataPath);
  const metadata = `__ducklake_metadata_${alias}`;
  const files = (await absoluteFiles(connection, metadata, base)).flatMap((file) => {
    const destination = placeIn(file);
    return destination !== undefined && destination.startsWith(base) ? [{ ...file, destination }] : [];
  });
  if (files.length === 0) return 0;
  const linked: string[] = [];
  for (const file of files) {
    if (file.destination === file.path || existsSync(file.destination) || !existsSync(file.path)) continue;
    await mkdir(path.dirname(file.destination), { recursive: true });
    await link(file.path, file.destination);
    linked.push(file.path);
  }
  // a file gone from both places (deleted by hand, say) keeps its row as it was
  const moving = files.filter((file) => existsSync(file.destination));
  if (moving.length === 0) return 0;
  await connection.run('begin');
  try {
    for (const file of moving) {
      await connection.run(`update ${metadata}.ducklake_data_file set path = $path, path_is_relative = true where data_file_id = $id`, {
        path: file.destination.slice(file.tableFolder.length),
        id: file.id,
      });
    }
    await connection.run('commit');
  } catch (err) {
    await connection.run('rollback').catch(() => undefined);
    throw err;
  }
  for (const old of linked) await unlink(old).catch(() => undefined);
  return moving.length;
}

// Where the files of a model built per month end up. The build workers write each month's file under
// the model's folder of the lake's data path; the writer moves them into the folder of the table it
// adds them to before it does, because DuckLake records a file by a path relative to its table only
// when the file lies in the table's folder, and by its absolute path otherwise. Relative, a warehouse
// folder copied with `cp -r` reads its own files, not the original's.
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { recordedDataPath } from '../duckdb/attach';

/** The lake's data path as its catalog attaches it (ending in `/`): where the month files are put. */
export async function lakeDataPath(connection: DuckDBConnection, alias: string): Promise<string> {
  const dataPath = String(await recordedDataPath(connection, alias));
  return dataPath.endsWith('/') ? dataPath : `${dataPath}/`;
}

/**
 * The month files moved from the model's folder into the table's (`<data path>/<schema>/<table>/`,
 * DuckLake's default table path), keeping their year=/month= folders; their new paths, in order.
 * Idempotent: a file already moved by an earlier attempt is where it should be. Files in S3, or
 * outside the model's folder, stay where they are (an S3 lake's files are named by URL).
 */
export async function intoTableFolder(
  dataPath: string,
  schema: string,
  model: string,
  table: string,
  files: readonly string[],
): Promise<string[]> {
  if (dataPath.startsWith('s3://')) return [...files];
  const modelFolder = `${dataPath}${schema}/${model}/`;
  const tableFolder = `${dataPath}${schema}/${table}/`;
  const moved: string[] = [];
  for (const file of files) {
    if (!file.startsWith(modelFolder)) {
      moved.push(file);
      continue;
    }
    const destination = `${tableFolder}${file.slice(modelFolder.length)}`;
    if (existsSync(file)) {
      await mkdir(path.dirname(destination), { recursive: true });
      await rename(file, destination);
    } else if (!existsSync(destination)) {
      throw new Error(`month file ${file} of ${model} is gone, and not in ${tableFolder} either: was it deleted while the run went on?`);
    }
    moved.push(destination);
  }
  return moved;
}

// A source's files: listed at its location, checked against the data contract, read by DuckDB, hashed.
import type { DuckDBConnection } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { NotAFolderError, SourceDataError } from '../errors';
import { GLOB_CHARACTER } from '../contract/validate';
import type { SourceTable } from '../project/types';
import type { Storage, StoredObject } from '../storage';
import { duckdbMessage, isPermanentDuckdbError, quotedString, readParquet } from '../duckdb/sql';
import { seedColumns, SeedCsvError, type SeedColumn } from './seed-csv';

/** A seeded file: a visible `*.parquet` name. Anything else listed is reported as ignored. */
function isSourceFile(object: StoredObject): boolean {
  return object.name.endsWith('.parquet') && !object.name.split('/').some((part) => part.startsWith('.'));
}

/** The source's Parquet files, and the names of every other file at its location (none dropped unsaid). */
export async function listSourceFiles(
  store: Storage,
  source: SourceTable,
  uri: string,
): Promise<{ files: StoredObject[]; ignored: string[] }> {
  if (source.seed) {
    // a dbt seed is one CSV file of the project
    const file = await store.stat(uri);
    if (!file) throw new SourceDataError(`seed ${source.name}: ${source.seed.file} is not there (${uri})`, source.name, uri);
    return { files: [file], ignored: [] };
  }
  let listed: StoredObject[];
  try {
    listed = await store.list(uri, { hidden: true });
  } catch (err) {
    if (err instanceof NotAFolderError) {
      const where = err.file === uri ? '' : ` (source ${source.name} is read from ${uri})`;
      throw new SourceDataError(`source ${source.name}: ${err.file} is a file, not a folder of Parquet files${where}`, source.name, uri);
    }
    throw err;
  }
  const files = listed.filter(isSourceFile);
  const patterned = files.find((file) => GLOB_CHARACTER.test(file.uri));
  if (patterned) {
    // DuckDB's readers would read every file the name matches: wk?.parquet is wk1.parquet too
    throw new SourceDataError(
      `source ${source.name}: ${patterned.uri} holds *, ? or [, which DuckDB reads in a path as a pattern of other files: rename it`,
      source.name,
      patterned.uri,
    );
  }
  return { files, ignored: listed.filter((object) => !isSourceFile(object)).map((object) => object.name) };
}

/** SHA-256 of a file's content, streamed (the file may be larger than memory). */
export async function contentChecksum(localPath: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(localPath), hash);
  return hash.digest('hex');
}

/**
 * SQL reading one file of a source: Parquet, or a dbt seed's CSV with the columns and types dbt
 * gives it (seed-csv.ts), each value parsed by DuckDB's reader into its column's type, as
 * dbt-duckdb's COPY parses it. A seed dbt would refuse is a SourceDataError naming the file.
 */
export async function readFileSql(
  source: SourceTable,
  localPath: string,
  tableTypes: ReadonlyMap<string, string> = new Map(),
): Promise<string> {
  if (!source.seed) return readParquet([localPath]);
  let columns: SeedColumn[];
  try {
    columns = await seedColumns(localPath, source.seed);
  } catch (err) {
    if (!(err instanceof SeedCsvError)) throw err;
    throw new SourceDataError(`seed ${source.name}: ${err.message}`, source.name, source.seed.file);
  }
  // into a table that is kept (a seed changed, no --full-refresh), each value parsed into the table's
  // column type, as dbt-duckdb's COPY into the table parses it ('30.5' is 31 in an INTEGER column;
  // read as DOUBLE first it was 30, DuckDB rounding a DOUBLE half to even)
  const typeOf = (column: SeedColumn) => tableTypes.get(column.name) ?? column.type;
  const columnList = columns.map((column) => `${quotedString(column.name)}: ${quotedString(typeOf(column))}`).join(', ');
  // the types are given: the sniffer guesses none (a dd/mm/yyyy text column would otherwise set
  // the date format every DATE column is parsed with), and reads no line as a comment
  return `read_csv(${quotedString(localPath)}, hive_partitioning = false, header = true, delim = ${quotedString(source.seed.delimiter)}, comment = '', auto_type_candidates = ['VARCHAR'], columns = {${columnList}})`;
}

/** A file's kind, in messages. */
export const fileKind = (source: SourceTable) => (source.seed ? 'CSV' : 'Parquet');

/** A file's columns and their types, as DuckDB reads it; an unreadable file is a SourceDataError naming it. */
export async function describeFile(
  connection: DuckDBConnection,
  source: SourceTable,
  file: { uri: string; localPath: string },
): Promise<Map<string, string>> {
  try {
    const reader = await connection.runAndReadAll(`describe select * from ${await readFileSql(source, file.localPath)}`);
    return new Map(reader.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]));
  } catch (err) {
    throw new SourceDataError(
      `${source.seed ? 'seed' : 'source'} ${source.name}: ${source.seed?.file ?? file.uri} is not a readable ${fileKind(source)} file: ${duckdbMessage(err)}`,
      source.name,
      file.uri,
    );
  }
}

/**
 * Check one file's columns against the contract; name the file and column that differ. With
 * everyColumn (a source read whole, see source-columns.ts), a column the source's others lack too.
 * Gives the file's columns a column contract leaves out (not loaded), for the seed to say so.
 */
export async function checkContract(
  connection: DuckDBConnection,
  source: SourceTable,
  file: StoredObject,
  localPath: string,
  everyColumn = false,
): Promise<string[]> {
  const described = await describeFile(connection, source, { uri: file.uri, localPath });
  for (const column of source.columns) {
    const actual = described.get(column.name);
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
  const extra = [...described.keys()].filter((name) => !source.columns.some((column) => column.name === name));
  if (source.seed) return [];
  // a column contract loads its own columns: the others are left out, and the seed says so
  if (!everyColumn) return extra;
  if (extra.length > 0) {
    throw new SourceDataError(
      `source ${source.name}: ${file.uri} has column(s) ${extra.map((name) => `'${name}'`).join(', ')} that its other files lack: ` +
        `a source whose YAML does not type every column it lists loads every column of its files, the same in each ` +
        `(a new column: run with --full-refresh once every file has it, or list the source's columns with their data_type)`,
      source.name,
      file.uri,
    );
  }
  return [];
}

/**
 * Loading a seed's CSV: a row that does not parse (a missing field, a value of the wrong type) is
 * a SourceDataError naming the file and, as DuckDB gives it, the line. Parquet errors go on as they are.
 */
export async function loadingFiles(source: SourceTable, load: () => Promise<void>): Promise<void> {
  try {
    await load();
  } catch (err) {
    if (!source.seed || !isPermanentDuckdbError(err)) throw err;
    // DuckDB's CSV error names the line and the value (duckdbMessage leaves out the reader's settings)
    throw new SourceDataError(`seed ${source.name}: ${source.seed.file}: ${duckdbMessage(err)}`, source.name, source.seed.file);
  }
}

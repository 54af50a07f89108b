// A connection that reads one lake and nothing else, for SQL that people type (`meterflow query`):
// one read statement, no file outside the lake's data, no settings, extensions or attachments.
import { DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBResultReader } from '@duckdb/node-api';
import { QueryRefusedError } from '../errors';
import { duckdbOptions, type DuckdbSettings } from '../duckdb/settings';
import { attachLake } from '../duckdb/attach';
import { ensureLakeExtensions, loadLakeExtensions } from '../duckdb/extensions';
import { lakeAttachOptions, type LakeOptions } from './lake';
import { quotedString } from '../duckdb/sql';

/** What a query may be, said in every refusal. */
export const READ_STATEMENTS = 'one read statement: SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN or PIVOT';

const FIRST_KEYWORD = /^(select|with|from|values|table|describe|desc|show|summarize|explain|pivot|unpivot)\b/i;
/**
 * Table functions that reach past DuckDB's file-system switch (the SQLite and PostgreSQL scanners
 * open files and servers themselves, and can attach or execute), run SQL given as text, or read raw
 * files (DuckDB lets them read the attached catalog's file; the lake's tables are all a query needs),
 * and DuckLake's maintenance functions (the lake is attached read-only too). Its readers stay:
 * `ducklake_snapshots`, `ducklake_table_info`, `ducklake_list_files`, `ducklake_table_changes`.
 */
const DENIED_FUNCTION =
  /^((?:sqlite|postgres|pg|mysql)_\w+|query|query_table|read_(?:text|blob|csv\w*|json\w*|ndjson\w*|xlsx)|sniff_csv|ducklake_(?:add_data_files|expire_snapshots|merge_adjacent_files|cleanup_old_files|delete_orphaned_files|rewrite_data_files|flush_inlined_data|set_option|set_commit_message))$/i;

/**
 * The table functions a query may call: the lake's and files' readers under the lake's data path,
 * generators, and the catalog's descriptions of tables. Every other one is refused, whatever an
 * extension adds: some run SQL given as text (json_execute_serialized_sql, query), reach past the
 * read-only attach, or show the attached catalog's connection string and settings, password included
 * (duckdb_databases, duckdb_settings, ducklake_settings).
 */
const ALLOWED_TABLE_FUNCTIONS = new Set([
  ...['range', 'generate_series', 'unnest', 'repeat', 'repeat_row', 'json_each', 'json_tree', 'summary', 'histogram', 'histogram_values'],
  ...['read_parquet', 'parquet_scan', 'parquet_metadata', 'parquet_schema', 'parquet_file_metadata', 'parquet_kv_metadata'],
  ...['parquet_full_metadata', 'parquet_bloom_probe', 'glob'],
  ...['duckdb_tables', 'duckdb_columns', 'duckdb_views', 'duckdb_schemas', 'duckdb_types', 'duckdb_functions', 'duckdb_keywords'],
  ...['duckdb_constraints', 'duckdb_indexes', 'duckdb_sequences', 'duckdb_dependencies'],
  ...[
    'pragma_table_info',
    'pragma_show',
    'pragma_version',
    'pragma_platform',
    'pragma_collations',
    'icu_calendar_names',
    'pg_timezone_names',
  ],
  ...['ducklake_snapshots', 'ducklake_table_info', 'ducklake_list_files', 'ducklake_table_changes', 'ducklake_table_insertions'],
  ...['ducklake_table_deletions', 'ducklake_current_snapshot', 'ducklake_last_committed_snapshot'],
]);
/** Scalar functions that show settings (the attached catalog's connection string among them). */
const DENIED_SCALAR = new Set(['current_setting', 'getenv']);
/** DuckDB's views over what the functions above refuse (`from duckdb_databases` without parentheses). */
const DENIED_RELATIONS = new Set([
  'duckdb_databases',
  'pragma_database_list',
  'pg_settings',
  'duckdb_settings',
  'duckdb_secrets',
  'duckdb_logs',
]);

/** The SQL without comments and string literals, so that the checks below read only what runs. */
function codeOnly(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .trim();
}

/** Refuse, by its text, anything that does not start as one read statement does (the parser decides the rest). */
export function refuseNonRead(sql: string): void {
  const code = codeOnly(sql).replace(/^\(+\s*/, '');
  const first = /^\w+/.exec(code)?.[0] ?? '';
  if (!FIRST_KEYWORD.test(code))
    throw new QueryRefusedError(`${first ? `${first.toUpperCase()} is` : 'an empty query is'} not allowed here: ${READ_STATEMENTS}`, sql);
}

/** What a parsed statement (DuckDB's JSON of it) calls and reads: function names and table names, lower case. */
interface Called {
  readonly functions: string[];
  readonly relations: string[];
}

function calledIn(tree: unknown, called: Called = { functions: [], relations: [] }): Called {
  if (Array.isArray(tree)) for (const item of tree) calledIn(item, called);
  else if (tree !== null && typeof tree === 'object') {
    const node = tree as Record<string, unknown>;
    if (typeof node.function_name === 'string') called.functions.push(node.function_name.toLowerCase());
    if (node.type === 'BASE_TABLE' && typeof node.table_name === 'string') called.relations.push(node.table_name.toLowerCase());
    for (const value of Object.values(node)) calledIn(value, called);
  }
  return called;
}

/**
 * The functions the query calls, as DuckDB's own parser reads it (json_serialize_sql): not its text,
 * in which a comment or a string literal can hide a call. A PIVOT is read as a subquery, an EXPLAIN
 * as what it explains; a query none of these parse is refused.
 */
async function calledBy(connection: DuckDBConnection, sql: string): Promise<Called> {
  const forms = [sql, `select * from (\n${sql}\n)`, sql.replace(/^\s*explain(\s+analyze)?\b/i, '')];
  for (const form of forms) {
    const reader = await connection.runAndReadAll('select json_serialize_sql($sql::varchar)', { sql: form });
    const tree = JSON.parse(String(reader.getRows()[0]?.[0] ?? '{"error": true}')) as { error?: boolean };
    if (!tree.error) return calledIn(tree);
  }
  // a PIVOT without its values is several statements to DuckDB (it reads the values first)
  const pivot = /^\s*\(*\s*(pivot|unpivot)\b/i.test(codeOnly(sql)) ? ' (a PIVOT needs the IN list of its values here)' : '';
  throw new QueryRefusedError(`the query could not be checked as ${READ_STATEMENTS}${pivot}`, sql);
}

/** The names of the table functions (and table macros) the connection knows, lower case. */
async function tableFunctions(connection: DuckDBConnection): Promise<Set<string>> {
  const reader = await connection.runAndReadAll(
    "select distinct lower(function_name) from duckdb_functions() where function_type in ('table', 'table_macro', 'pragma')",
  );
  return new Set(reader.getRows().map((row) => String(row[0])));
}

/**
 * Refuse a query that calls a function outside the sandbox's reach (DENIED_FUNCTION, a table function
 * not in ALLOWED_TABLE_FUNCTIONS, DENIED_SCALAR) or reads a view over one, however it is written.
 */
async function refuseDeniedFunctions(connection: DuckDBConnection, sql: string): Promise<void> {
  const { functions, relations } = await calledBy(connection, sql);
  const tables = await tableFunctions(connection);
  const denied = functions.find(
    (name) => DENIED_FUNCTION.test(name) || DENIED_SCALAR.has(name) || (tables.has(name) && !ALLOWED_TABLE_FUNCTIONS.has(name)),
  );
  if (denied) throw new QueryRefusedError(`${denied}() is not allowed here: ${READ_STATEMENTS}, over the lake's tables`, sql);
  const view = relations.find((name) => DENIED_RELATIONS.has(name));
  if (view) throw new QueryRefusedError(`${view} is not allowed here: it shows the catalog's connection and settings`, sql);
}

/** Run one read statement: several statements, or one of another kind once parsed, are refused. */
export async function runReadStatement(connection: DuckDBConnection, sql: string): Promise<DuckDBResultReader> {
  refuseNonRead(sql);
  await refuseDeniedFunctions(connection, sql);
  const extracted = await connection.extractStatements(sql);
  if (extracted.count !== 1) throw new QueryRefusedError(`${extracted.count} statements given: ${READ_STATEMENTS}`, sql);
  const prepared = await extracted.prepare(0);
  if (prepared.statementType !== StatementType.SELECT && prepared.statementType !== StatementType.EXPLAIN) {
    throw new QueryRefusedError(
      `a ${StatementType[prepared.statementType] ?? 'non-read'} statement is not allowed here: ${READ_STATEMENTS}`,
      sql,
    );
  }
  return prepared.runAndReadAll();
}

/**
 * A DuckDB instance of its own with the lake attached read-only under `lake` (the default database),
 * then locked: external access off except the lake's data path, no extension installed or loaded on
 * demand, configuration locked so that no statement can undo it.
 */
export async function withSandboxedLake<T>(
  options: LakeOptions & { readonly settings?: DuckdbSettings },
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', {
    ...duckdbOptions(options.settings ?? {}),
    extension_directory: options.extensionDirectory ?? (await ensureLakeExtensions()),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  try {
    const connection = await instance.connect();
    try {
      await loadLakeExtensions(connection);
      const { dataPath } = await attachLake(connection, 'lake', lakeAttachOptions({ ...options, readOnly: true }));
      await connection.run('use lake');
      await connection.run(`set allowed_directories = [${quotedString(dataPath.endsWith('/') ? dataPath : `${dataPath}/`)}]`);
      await connection.run('set enable_external_access = false');
      await connection.run('set lock_configuration = true');
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

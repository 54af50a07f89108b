// The commit part's figures, pure: the catalog rows a commit added, table by table, and the markdown
// table of the sizes measured. src/bench/commit-files.ts measures.

/** One size measured: files committed in one transaction, its seconds, and what the catalog gained. */
export interface CommitFilesRow {
  readonly files: number;
  /** `call ducklake_add_data_files(…)` inside the transaction: each file's footer read, the rows staged. */
  readonly add_s: number;
  /** The `commit` itself: the catalog's rows written to PostgreSQL. */
  readonly commit_s: number;
  readonly total_s: number;
  readonly ms_per_file: number;
  /** Rows the commit added to the catalog's tables, in all and by table (those that gained any). */
  readonly catalog_rows_added: number;
  readonly catalog_rows_added_by_table: Readonly<Record<string, number>>;
  readonly catalog_bytes_added: number;
}

/** Rows added per table between two counts of the catalog's tables (tables new since count from zero). */
export function rowsAdded(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([table, rows]) => [table, rows - (before[table] ?? 0)] as const)
      .filter(([, added]) => added !== 0)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

export function commitFilesRow(
  files: number,
  timing: { addSeconds: number; commitSeconds: number },
  catalog: { rowsBefore: Record<string, number>; rowsAfter: Record<string, number>; bytesBefore: number; bytesAfter: number },
): CommitFilesRow {
  const added = rowsAdded(catalog.rowsBefore, catalog.rowsAfter);
  const total = timing.addSeconds + timing.commitSeconds;
  return {
    files,
    add_s: Math.round(timing.addSeconds * 1000) / 1000,
    commit_s: Math.round(timing.commitSeconds * 1000) / 1000,
    total_s: Math.round(total * 1000) / 1000,
    ms_per_file: Math.round((total / files) * 1e6) / 1000,
    catalog_rows_added: Object.values(added).reduce((sum, rows) => sum + rows, 0),
    catalog_rows_added_by_table: added,
    catalog_bytes_added: catalog.bytesAfter - catalog.bytesBefore,
  };
}

export function commitFilesMarkdown(rows: readonly CommitFilesRow[], machine: { cpus: number; cpu?: string; date: string }): string {
  const n = (value: number) => value.toLocaleString('en-GB');
  return [
    `# The writer's commit of many files (PostgreSQL catalog, one transaction each)`,
    '',
    `Machine: ${machine.cpus} cores, ${machine.cpu ?? 'unknown CPU'}; ${machine.date}.`,
    '',
    '| files | add s | commit s | total s | ms per file | catalog rows added | by table | catalog bytes added |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${n(r.files)} | ${r.add_s.toFixed(3)} | ${r.commit_s.toFixed(3)} | ${r.total_s.toFixed(3)} | ${r.ms_per_file.toFixed(3)} | ${n(r.catalog_rows_added)} | ${Object.entries(
          r.catalog_rows_added_by_table,
        )
          .map(([table, added]) => `${table} ${n(added)}`)
          .join(', ')} | ${n(r.catalog_bytes_added)} |`,
    ),
    '',
  ].join('\n');
}

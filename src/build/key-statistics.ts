// A split key's bounds from a lake table's footers (footers.ts), where they tell them: bounds that cut
// its rows into parts of about as many each, without reading its keys. At 1 M meters a quarter of raw
// readings is billions of rows, and its footers a few tens of thousands of row groups.
import type { DuckDBConnection } from '@duckdb/node-api';
import { pathList, quotedString } from '../duckdb/sql';
import { footerFiles, type LakeTable } from './footers';

/** The rows of the row groups that straddle a bound, as a share of a part, beyond which the footers' bounds are not taken. */
export const STRADDLING_SHARE = 0.5;

/**
 * `parts - 1` bounds from the key's row groups, ordered in `keyType` (the key's type in the model's
 * rows): each the least key of the first row group, in key order, past its share of the rows. Taken
 * only where the row groups hardly overlap, as in a file sorted by the key (the raw readings are, by
 * meter): the rows of the groups that straddle a bound must stay under STRADDLING_SHARE of a part.
 * Undefined otherwise, or where a group with keys has no least or greatest one, or where fewer bounds
 * come out: the keys are then read. Any bounds cut the rows into parts exactly; these only balance them.
 */
export async function boundsFromFooters(
  connection: DuckDBConnection,
  alias: string,
  table: LakeTable,
  column: string,
  parts: number,
  keyType: string,
): Promise<string[] | undefined> {
  const files = parts < 2 ? undefined : await footerFiles(connection, alias, table);
  if (!files) return undefined;
  // the footers read once, here: a footer that cannot be read (a file gone, say) gives no bounds
  const reader = await connection
    .runAndReadAll(
      `with keyed as (
       select file_name, try_cast(stats_min_value as ${keyType}) as lo, try_cast(stats_max_value as ${keyType}) as hi,
              row_group_num_rows - coalesce(stats_null_count, 0) as n
       from parquet_metadata(${pathList(files)}) where path_in_schema = ${quotedString(column)}
     ),
     groups as (select * from keyed where n > 0),
     placed as (
       select lo, n, coalesce(sum(n) over (order by lo, hi rows between unbounded preceding and 1 preceding), 0) as before,
              sum(n) over () as total
       from groups
     ),
     bounds as (
       select distinct bound from (
         select min(lo) as bound from placed, range(1, ${parts}) as share(k) where before >= total * k / ${parts} group by k
       ) where bound is not null
     )
     select (select count(distinct file_name) from keyed) as files,
            (select count(*) from groups where lo is null or hi is null) as unknown,
            (select coalesce(sum(n), 0) from groups where exists (select 1 from bounds where groups.lo < bounds.bound and groups.hi >= bounds.bound)) as straddling,
            (select coalesce(sum(n), 0) from groups) as total,
            (select list(bound::varchar order by bound) from bounds) as bounds`,
    )
    .catch(() => undefined);
  const [row] = reader?.getRowObjectsJS() ?? [];
  // every file's footer has the column (a file written before it was added has not)
  if (!row || Number(row.files) !== files.length) return undefined;
  const bounds = ((row.bounds as unknown[] | null) ?? []).map(String);
  const total = Number(row.total ?? 0);
  if (Number(row.unknown ?? 1) > 0 || bounds.length !== parts - 1) return undefined;
  return Number(row.straddling ?? 0) <= (STRADDLING_SHARE * total) / parts ? bounds : undefined;
}

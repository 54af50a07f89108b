// A written Parquet file's column statistics (DuckDB's `COPY … (RETURN_STATS)`), and the data tests they
// decide without reading the file again: not_null where no value is NULL, all_finite where no value is
// NaN or infinite, accepted_range on a DOUBLE column whose least and greatest values lie within it.
// Only a pass is decided so: a test the statistics do not clear is run on the rows as before, so its
// failures, samples and SQL are what they always were.
import { boundArg, isFloatingType } from '../project/data-tests';
import type { DataTest } from '../project/types';

/** One column's statistics in one file, as DuckDB's Parquet writer gathered them. */
export interface ColumnStatistics {
  readonly nullCount?: number;
  readonly hasNan?: boolean;
  readonly min?: string;
  readonly max?: string;
}

/** Statistics by top-level column name. */
export type FileStatistics = ReadonlyMap<string, ColumnStatistics>;

/** `"a""b"` → `a"b`; undefined for a nested path (`"s"."x"`) or anything else. */
function topLevelColumn(key: string): string | undefined {
  const match = /^"((?:[^"]|"")*)"$/.exec(key);
  return match ? (match[1] as string).replace(/""/g, '"') : undefined;
}

/** The `column_statistics` of a `RETURN_STATS` row, read as JSON: `[{ key, value: [{ key, value }] }]`. */
export function fileStatistics(columnStatistics: unknown): FileStatistics {
  const statistics = new Map<string, ColumnStatistics>();
  if (!Array.isArray(columnStatistics)) return statistics;
  for (const entry of columnStatistics as { key?: unknown; value?: unknown }[]) {
    const column = typeof entry.key === 'string' ? topLevelColumn(entry.key) : undefined;
    if (column === undefined || !Array.isArray(entry.value)) continue;
    const values = new Map((entry.value as { key?: unknown; value?: unknown }[]).map((kv) => [String(kv.key), kv.value]));
    const text = (name: string) => (typeof values.get(name) === 'string' ? (values.get(name) as string) : undefined);
    const nulls = text('null_count');
    statistics.set(column, {
      ...(nulls !== undefined && /^\d+$/.test(nulls) ? { nullCount: Number(nulls) } : {}),
      ...(text('has_nan') !== undefined ? { hasNan: text('has_nan') === 'true' } : {}),
      ...(text('min') !== undefined ? { min: text('min') } : {}),
      ...(text('max') !== undefined ? { max: text('max') } : {}),
    });
  }
  return statistics;
}

/** A finite number as DuckDB prints a DOUBLE statistic; undefined for `inf`, `-inf`, `nan` or anything else. */
function finiteValue(statistic: string | undefined): number | undefined {
  if (statistic === undefined || !/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(statistic)) return undefined;
  const value = Number(statistic);
  return Number.isFinite(value) ? value : undefined;
}

/** Whether a floating-point column holds no NaN and no infinity (NULLs aside): no NaN, and finite extremes or none. */
function finiteColumn(stats: ColumnStatistics | undefined): stats is ColumnStatistics {
  if (!stats || stats.hasNan !== false) return false;
  if (stats.min === undefined && stats.max === undefined) return true;
  return finiteValue(stats.min) !== undefined && finiteValue(stats.max) !== undefined;
}

/** accepted_range's bounds as failingRowCondition reads them; undefined where it would refuse them (its error is the scan's to give). */
function rangeBounds(test: DataTest): { min?: number; max?: number } | undefined {
  try {
    const [min, max] = [boundArg(test, 'min_value'), boundArg(test, 'max_value')];
    return min === undefined && max === undefined
      ? undefined
      : { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  } catch {
    return undefined;
  }
}

/** accepted_range on a DOUBLE column, as failingRowCondition writes it: NULL passes, NaN fails a max_value (so any NaN is undecided). */
function withinRange(test: DataTest, stats: ColumnStatistics | undefined): boolean {
  const bounds = rangeBounds(test);
  if (!bounds || !finiteColumn(stats)) return false;
  // finite extremes, or none (every value NULL)
  if (stats.min === undefined || stats.max === undefined) return true;
  const [least, greatest] = [Number(stats.min), Number(stats.max)];
  const inclusive = test.args.inclusive !== false;
  const aboveMin = bounds.min === undefined || (inclusive ? least >= bounds.min : least > bounds.min);
  const belowMax = bounds.max === undefined || (inclusive ? greatest <= bounds.max : greatest < bounds.max);
  return aboveMin && belowMax;
}

/**
 * Whether a file's statistics prove that a test passes on its rows. `columnTypes` are the file's
 * columns and types (all_finite without a list, accepted_range). A test with a `where` is never decided.
 */
export function passesByStatistics(test: DataTest, statistics: FileStatistics, columnTypes?: ReadonlyMap<string, string>): boolean {
  if (test.where) return false;
  const column = test.column;
  switch (test.kind) {
    case 'not_null':
      return column !== undefined && statistics.get(column)?.nullCount === 0;
    case 'all_finite': {
      // columns that are not a list are the scan's to refuse, with its message
      if (test.args.columns !== undefined && !Array.isArray(test.args.columns)) return false;
      const listed = Array.isArray(test.args.columns) ? (test.args.columns as string[]) : column ? [column] : undefined;
      const columns =
        listed ?? (columnTypes ? [...columnTypes].filter(([, type]) => isFloatingType(type)).map(([name]) => name) : undefined);
      return columns !== undefined && columns.every((name) => finiteColumn(statistics.get(name)));
    }
    case 'accepted_range':
      return column !== undefined && /^DOUBLE$/i.test(columnTypes?.get(column) ?? '') && withinRange(test, statistics.get(column));
    default:
      return false;
  }
}

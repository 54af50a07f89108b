// A dbt seed's columns as dbt-duckdb gives them: names and types from agate's reading of the CSV
// (dbt_common/clients/agate_helper.py), values then parsed by DuckDB's CSV reader into those types,
// as dbt-duckdb's COPY does. DuckDB's own sniffer would otherwise choose other types and values:
// `007` kept as text (dbt: 7), `t`/`f` as booleans (dbt: text), `2024/01/02` as a timestamp, a
// `#` line taken as a comment, a UTC offset converted.
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';

/** The types agate's tester tries, in order; the first every cell passes wins. */
export type SeedType = 'INTEGER' | 'DOUBLE' | 'DATE' | 'TIMESTAMP' | 'BOOLEAN' | 'VARCHAR';

/** A seed file that cannot be read as dbt reads it: the message names the file (and line). */
export class SeedCsvError extends Error {}

const PY_WHITESPACE = /^[\s\u001c-\u001f\u0085]+|[\s\u001c-\u001f\u0085]+$/gu;
const strip = (cell: string) => cell.replace(PY_WHITESPACE, '');
const isNull = (cell: string) => {
  const stripped = strip(cell).toLowerCase();
  return stripped === '' || stripped === 'null';
};

const CURRENCY = '؋$ƒ៛¥₡₱£€¢﷼₪₩₭₮₦฿₤₫';
const DIGITS = String.raw`\p{Nd}(?:_?\p{Nd})*`;
const DECIMAL = new RegExp(
  String.raw`^[+-]?(?:(?:(?:${DIGITS})(?:\.(?:${DIGITS})?)?|\.(?:${DIGITS}))(?:[eE][+-]?${DIGITS})?|inf(?:inity)?|s?nan\p{Nd}*)$`,
  'iu',
);

/** agate's Number cast on one cell: the text Python's Decimal is given, or undefined if it fails. */
function decimalText(cell: string): string | undefined {
  let text = strip(cell);
  text = text.replace(/^%+|%+$/g, '');
  if (text.startsWith('-')) text = text.slice(1);
  const currency = new RegExp(`^[${CURRENCY}]+|[${CURRENCY}]+$`, 'gu');
  text = text.replace(currency, '').replace(/,/g, '');
  return DECIMAL.test(strip(text)) ? strip(text) : undefined;
}

/** Decimal(text).normalize()'s places after the point (agate's MaxPrecision), 0 for nan and inf. */
function decimalPlaces(text: string): number {
  const match = /^[+-]?(\p{Nd}[\p{Nd}_]*)?(?:\.([\p{Nd}_]*))?(?:[eE]([+-]?[\p{Nd}_]+))?$/u.exec(text);
  if (!match) return 0;
  const whole = (match[1] ?? '').replace(/_/g, '');
  const fraction = (match[2] ?? '').replace(/_/g, '');
  const exponent = Number((match[3] ?? '0').replace(/_/g, ''));
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return 0;
  const trailingZeros = digits.length - digits.replace(/0+$/, '').length;
  return Math.max(0, -(exponent - fraction.length + trailingZeros));
}

function validDate(year: number, month: number, day: number): boolean {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0–99 as 1900–1999
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

// Python's strptime: %Y four digits, %m and %d one or two (a day may be ' 7'), %H/%M/%S one or two
const DATE = /^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])$/;
const DATETIME = /^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])\s+(2[0-3]|[01]\d|\d):([0-5]\d|\d):(6[01]|[0-5]\d|\d)$/;
// isodate.parse_datetime: a date, an upper-case T, a time, an optional zone
const ISO_DATETIME =
  /^(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}-W\d{2}-?\d|\d{4}-?\d{3})T\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

const isDate = (cell: string) => {
  const m = DATE.exec(strip(cell));
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
};
const isDateTime = (cell: string) => {
  const m = DATETIME.exec(strip(cell));
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
};
const isBoolean = (cell: string) => ['true', 'false'].includes(strip(cell.replace(/,/g, '')).toLowerCase());

/** The type agate gives a column of CSV cells, as dbt-duckdb creates it. */
export function agateType(cells: readonly string[]): SeedType {
  const values = cells.filter((cell) => !isNull(cell));
  // agate's Integer takes only Python ints: from a CSV, a column with no value at all
  if (values.length === 0) return 'INTEGER';
  const numbers = values.map(decimalText);
  if (numbers.every((text) => text !== undefined)) {
    return numbers.some((text) => decimalPlaces(text as string) > 0) ? 'DOUBLE' : 'INTEGER';
  }
  if (values.every(isDate)) return 'DATE';
  if (values.every(isDateTime)) return 'TIMESTAMP';
  if (values.every((cell) => ISO_DATETIME.test(strip(cell)))) return 'TIMESTAMP';
  if (values.every(isBoolean)) return 'BOOLEAN';
  return 'VARCHAR';
}

/** agate's name for the i-th column when its header is empty: a … z, then aa, bb, … */
const letterName = (index: number) => String.fromCharCode(97 + (index % 26)).repeat(Math.floor(index / 26) + 1);

/** agate's column names: an empty one by its position's letter, a repeated one as name_2, name_3. */
export function agateNames(header: readonly string[]): string[] {
  const names: string[] = [];
  header.forEach((raw, index) => {
    const name = raw === '' ? letterName(index) : raw;
    let unique = name;
    for (let n = 2; names.includes(unique); n++) unique = `${name}_${n}`;
    names.push(unique);
  });
  return names;
}

export interface SeedColumn {
  readonly name: string;
  readonly type: string;
}

/**
 * The columns of a seed file as dbt reads it: its header (agate's names) and each column's type,
 * agate's or the seed's column_types (matched by exact name, as dbt matches). A file dbt refuses
 * is refused: empty, a row longer than the header, two names equal but for case, a column_types
 * name no column has.
 */
export async function seedColumns(
  localPath: string,
  seed: { readonly file: string; readonly delimiter: string; readonly columnTypes?: Readonly<Record<string, string>> },
): Promise<SeedColumn[]> {
  const records = parse(await readFile(localPath, 'utf8'), {
    delimiter: seed.delimiter,
    quote: '"',
    escape: '"',
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    info: true,
  }) as unknown as { record: string[]; info: { lines: number } }[];
  const [header, ...rows] = records;
  if (!header) throw new SeedCsvError(`${seed.file} is empty: a seed needs a header row`);
  const long = rows.find((row) => row.record.length > header.record.length);
  if (long) {
    throw new SeedCsvError(
      `${seed.file} line ${long.info.lines}: ${long.record.length} values, but the header has ${header.record.length} columns`,
    );
  }
  const names = agateNames(header.record);
  const clash = names.find((name, i) => names.findIndex((other) => other.toLowerCase() === name.toLowerCase()) !== i);
  if (clash) throw new SeedCsvError(`${seed.file}: two columns named '${clash}' but for case, which one table cannot hold`);
  const types = seed.columnTypes ?? {};
  const unknown = Object.keys(types).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new SeedCsvError(
      `${seed.file}: column_types names ${unknown.map((n) => `'${n}'`).join(', ')}, which the file has no column of (names match exactly)`,
    );
  }
  return names.map((name, i) => ({ name, type: types[name] ?? agateType(rows.map((row) => row.record[i] ?? '')) }));
}

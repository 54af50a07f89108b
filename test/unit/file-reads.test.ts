// Every file meterflow reads is read with its own columns only: DuckDB's readers (and DuckLake's
// ducklake_add_data_files) take a `name=value` folder anywhere in a path as a hive partition and put
// its value into every row, so each call in src/ turns that off (or goes through readParquet).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SRC = path.join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  );
}

describe('file reads in the source', () => {
  it('turn hive partitioning off in every read_parquet, read_csv and ducklake_add_data_files call', () => {
    const unguarded = sources(SRC).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${path.relative(SRC, file)}:${i + 1}` }))
        .filter(({ line }) => /(read_parquet|read_csv|ducklake_add_data_files)\(\$\{|(read_parquet|read_csv)\(`/.test(line))
        .filter(({ line }) => !/^\s*(\/\/|\*)/.test(line) && !line.includes('hive_partitioning'))
        .map(({ at }) => at),
    );
    expect(unguarded).toEqual([]);
  });
});

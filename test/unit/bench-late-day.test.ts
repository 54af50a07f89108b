// The benches' incremental case: the last days of readings held back, each in a file of its own that
// lands later, and the rest of the sources as they were.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { holdBackLastDays } from '../../src/bench/late-day';
import { quotedString } from '../../src/duckdb/sql';
import { generateSampleData } from '../../src/generator/generate';

let work: string;
let sources: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'meterflow-late-day-'));
  sources = path.join(work, 'sources');
  await generateSampleData({ outDir: sources, meters: 3, from: '2024-12-25', to: '2024-12-31', seed: 3 });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Each day's readings (count) in the Parquet files matching `glob`. */
async function readingsByDay(glob: string): Promise<Record<string, number>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `select strftime(settlement_timestamp_utc::date, '%Y-%m-%d'), count(*)::integer from read_parquet(${quotedString(glob)}) group by all order by 1`,
    );
    return Object.fromEntries(reader.getRows().map(([day, n]) => [String(day), Number(n)]));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('holdBackLastDays', () => {
  it('holds back the last two days, one file each, oldest first, and keeps every other reading', async () => {
    const q4 = (root: string) => path.join(root, 'smart_meter_consumption_q4');
    const all = await readingsByDay(path.join(q4(sources), '*.parquet'));
    const days = Object.keys(all);
    const [secondLast, last] = days.slice(-2) as [string, string];

    const { incrementalSources, dayFiles } = await holdBackLastDays(sources, work, 2);

    expect(dayFiles).toEqual([
      path.join(q4(incrementalSources), 'late-day-1.parquet'),
      path.join(q4(incrementalSources), 'late-day-2.parquet'),
    ]);
    // not landed yet: held beside where they land
    expect(dayFiles.some((file) => existsSync(file))).toBe(false);
    expect(await readingsByDay(`${dayFiles[0]}.held`)).toEqual({ [secondLast]: all[secondLast] });
    expect(await readingsByDay(`${dayFiles[1]}.held`)).toEqual({ [last]: all[last] });
    const kept = await readingsByDay(path.join(q4(incrementalSources), '*.parquet'));
    expect(kept).toEqual(Object.fromEntries(days.slice(0, -2).map((day) => [day, all[day]])));
  });
});

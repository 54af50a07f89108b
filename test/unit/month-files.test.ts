// Where a per-month build's files are written and where the writer moves them before it commits them,
// called directly on a temporary folder with no Temporal and no lake.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { intoTableFolder } from '../../src/build/month-files';
import { monthFile } from '../../src/build/months';
import { tempDir } from '../support/files';

const TABLE = '__meterflow_pending_readings__runa';

/** A lake data path (ending in `/`) holding a month file of readings, as a build worker writes it. */
async function dataPathWithMonthFile(): Promise<{ dataPath: string; file: string }> {
  const dataPath = `${await tempDir('month-files')}/`;
  const file = monthFile(dataPath, { name: 'readings' }, '2023-01', 'run-a');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, 'parquet bytes');
  return { dataPath, file };
}

describe('month files', () => {
  it("are named by the model's folder, a year=/month= folder, the run's key and the month", () => {
    expect(monthFile('/lake/data/', { name: 'readings' }, '2023-01', 'run-a')).toBe(
      '/lake/data/main/readings/year=2023/month=1/readings-runa-2023-01.parquet',
    );
    expect(monthFile('s3://bucket/lake', { name: 'readings' }, '2024-11', 'run-a')).toBe(
      's3://bucket/lake/main/readings/year=2024/month=11/readings-runa-2024-11.parquet',
    );
  });

  it("are moved into the table's folder, keeping their year=/month= folders, and a retry finds them there", async () => {
    const { dataPath, file } = await dataPathWithMonthFile();
    const moved = `${dataPath}main/${TABLE}/year=2023/month=1/readings-runa-2023-01.parquet`;
    expect(await intoTableFolder(dataPath, 'main', 'readings', TABLE, [file])).toEqual([moved]);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(moved)).toBe(true);
    expect(await intoTableFolder(dataPath, 'main', 'readings', TABLE, [file])).toEqual([moved]);
  });

  it("stay where they are outside the model's folder, or in S3", async () => {
    const { dataPath, file } = await dataPathWithMonthFile();
    const elsewhere = `${dataPath}imports/elsewhere.parquet`;
    expect(await intoTableFolder(dataPath, 'main', 'orders', TABLE, [file, elsewhere])).toEqual([file, elsewhere]);
    expect(existsSync(file)).toBe(true);
    const inS3 = 's3://bucket/lake/main/readings/year=2023/month=1/readings-runa-2023-01.parquet';
    expect(await intoTableFolder('s3://bucket/lake/', 'main', 'readings', TABLE, [inS3])).toEqual([inS3]);
  });

  it("fail, naming the file and the table's folder, when a file is in neither place", async () => {
    const { dataPath } = await dataPathWithMonthFile();
    const gone = monthFile(dataPath, { name: 'readings' }, '2023-02', 'run-a');
    await expect(intoTableFolder(dataPath, 'main', 'readings', TABLE, [gone])).rejects.toThrow(
      `month file ${gone} of readings is gone, and not in ${dataPath}main/${TABLE}/ either`,
    );
  });
});

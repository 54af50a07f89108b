// The bench's data: one year of generated readings per meter count, made once and kept under
// .meterflow/bench/meters-<N>/sources (a `.complete` file there records what was generated).
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateSampleData } from '../generator/generate';
import { log } from './measure';

export interface BenchData {
  /** .meterflow/bench: the bench's folder, shared by every meter count. */
  readonly benchDir: string;
  /** .meterflow/bench/meters-<N>: this meter count's work (sources, warehouses, the floor's file). */
  readonly work: string;
  readonly sources: string;
  readonly readings: number;
}

/** The data for a meter count: generated on first use, then read from where it was kept. */
export async function benchData(meters: number): Promise<BenchData> {
  const benchDir = path.resolve('.meterflow', 'bench');
  const work = path.join(benchDir, `meters-${meters}`);
  const sources = path.join(work, 'sources');
  await mkdir(work, { recursive: true });
  if (!existsSync(path.join(sources, '.complete'))) {
    log(`generating ${meters} meters x one year into ${sources}`);
    const generated = await generateSampleData({ outDir: sources, meters });
    await writeFile(path.join(sources, '.complete'), JSON.stringify(generated));
  }
  const generated = JSON.parse(await readFile(path.join(sources, '.complete'), 'utf8')) as { readings: number };
  return { benchDir, work, sources, readings: generated.readings };
}

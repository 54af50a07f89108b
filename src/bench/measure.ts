// What every part of the bench measures with: wall-clock seconds, medians, percentiles, a process's
// peak resident memory, and the bench's log lines (on stderr, so stdout is the table alone).
import { readFile } from 'node:fs/promises';
import os from 'node:os';

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** A value rounded to a number of decimals (the bench's figures, ratios to two). */
export const roundTo = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/** Wall-clock seconds of a piece of work. */
export const seconds = async (work: () => Promise<unknown>): Promise<number> => {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
};

export const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

/** Peak resident memory of a process, from /proc (Linux): null where it cannot be read. */
export async function peakRssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : null;
  } catch {
    return null;
  }
}

/** The machine a bench ran on, recorded beside its figures. */
export function machine(): { cpus: number; cpu?: string; memory_gb: number; node: string; date: string } {
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  };
}

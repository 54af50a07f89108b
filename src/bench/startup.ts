// The bench's start-up part: what a run costs when there is nothing to do, as whole `meterflow run`
// commands, against the floor of a Temporal dev server starting alone. Small data: start-up, not work.
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateSampleData } from '../generator/generate';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { meterflowRun, withBenchWorkers } from './workers';

/** Median of `repeat` timings, after one untimed warm-up (the run that builds everything). */
async function timed(repeat: number, label: string, once: () => Promise<number>, log: (line: string) => void): Promise<number> {
  await once();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    times.push(await once());
    log(`${label} ${i + 1}: ${times[times.length - 1]?.toFixed(2)}s`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * startup_server_floor_s: `temporal server start-dev` alone, to ready (and stopped); startup_remote_noop_s:
 * a no-op `meterflow run` against a running server with its workers; startup_embedded_noop_s: a no-op
 * embedded `meterflow run` (server and workers started and stopped by the command).
 */
export async function measureStartup(
  server: DevServer,
  work: string,
  repeat: number,
  log: (line: string) => void,
): Promise<Record<string, number>> {
  const sources = path.join(work, 'startup-sources');
  if (!existsSync(path.join(sources, '.complete'))) {
    await generateSampleData({ outDir: sources, meters: 5, from: '2024-01-01', to: '2024-01-03', seed: 5 });
    await writeFile(path.join(sources, '.complete'), 'yes');
  }
  const floor = await timed(
    repeat,
    'startup floor (temporal server start-dev)',
    async () => {
      const started = process.hrtime.bigint();
      const alone = await startDevServer();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await alone.stop();
      return seconds;
    },
    log,
  );

  const remoteWarehouse = path.join(work, 'startup-remote');
  await rm(remoteWarehouse, { recursive: true, force: true });
  const args = ['--sources', sources, '--db', remoteWarehouse, '--out', path.join(work, 'startup-out')];
  const remote = await withBenchWorkers(server.address, `startup-${Date.now()}`, remoteWarehouse, ({ commandEnv }) =>
    timed(repeat, 'startup remote no-op run', () => meterflowRun(args, commandEnv), log),
  );

  const embeddedWarehouse = path.join(work, 'startup-embedded');
  await rm(embeddedWarehouse, { recursive: true, force: true });
  const embeddedArgs = ['--sources', sources, '--db', embeddedWarehouse, '--out', path.join(work, 'startup-out')];
  const embedded = await timed(repeat, 'startup embedded no-op run', () => meterflowRun(embeddedArgs, { TEMPORAL_ADDRESS: '' }), log);
  return { startup_server_floor_s: floor, startup_remote_noop_s: remote, startup_embedded_noop_s: embedded };
}

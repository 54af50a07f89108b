// `npm run bench:incremental`: the benchmark's incremental path on its own, with where the time goes.
// A full run, then one new day of readings lands and a second run takes it; prints both runs' seconds
// and each activity's time (scheduled → started → completed) of the incremental run. A measurement,
// not a test: it asserts nothing.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startPipeline, waitForPipeline } from '../client';
import { generateSampleData } from '../generator/generate';
import { startDevServer } from '../temporal/dev-server';
import { withBenchWorkers } from './workers';
import { holdBackLastDays } from './late-day';

const log = (line: string) => process.stderr.write(`bench:incremental: ${line}\n`);

/** Each activity of a run: its summary, when it was scheduled, started and completed (ms from the run's start). */
async function activityTimes(handle: WorkflowHandle): Promise<{ summary: string; queued: number; ran: number; at: number }[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const time = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const start = time(events[0] as (typeof events)[number]);
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  const rows: { summary: string; queued: number; ran: number; at: number }[] = [];
  for (const done of events.filter((e) => e.activityTaskCompletedEventAttributes)) {
    const attributes = done.activityTaskCompletedEventAttributes;
    const scheduled = byId.get(String(attributes?.scheduledEventId));
    const started = byId.get(String(attributes?.startedEventId));
    if (!scheduled || !started) continue;
    const data = scheduled.userMetadata?.summary?.data;
    const summary = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : '?';
    rows.push({ summary, queued: time(started) - time(scheduled), ran: time(done) - time(started), at: time(scheduled) - start });
  }
  return rows.sort((a, b) => a.at - b.at);
}

async function main(): Promise<void> {
  const options = new Command('bench:incremental')
    .option('--meters <n>', 'meters in the generated data (one year)', (v) => Number(v), 300)
    .option('--repeat <n>', 'incremental runs (each after a full one)', (v) => Number(v), 1)
    .parse(process.argv)
    .opts<{ meters: number; repeat: number }>();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const work = path.resolve('.meterflow', 'bench', `meters-${options.meters}`);
  const sources = path.join(work, 'sources');
  await mkdir(work, { recursive: true });
  if (!existsSync(path.join(sources, '.complete'))) {
    log(`generating ${options.meters} meters x one year into ${sources}`);
    await writeFile(path.join(sources, '.complete'), JSON.stringify(await generateSampleData({ outDir: sources, meters: options.meters })));
  }
  // as the bench does: hold back the last day of the year, then let it land
  const { incrementalSources, dayFiles } = await holdBackLastDays(sources, work, 1);
  const dayFile = dayFiles[0] as string;
  const server = await startDevServer();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const runOnce = (label: string, warehouse: string, fullRefresh: boolean) =>
    withBenchWorkers(server.address, label, warehouse, async ({ queues }) => {
      const started = process.hrtime.bigint();
      const handle = await startPipeline(
        client,
        {
          sourcesUri: incrementalSources,
          outUri: path.join(work, 'out'),
          writerQueue: queues.writer,
          analyticsQueue: queues.analytics,
          fullRefresh,
        },
        { taskQueue: queues.workflows },
      );
      await waitForPipeline(handle);
      return { seconds: Number(process.hrtime.bigint() - started) / 1e9, activities: await activityTimes(handle) };
    });
  try {
    for (let i = 0; i < options.repeat; i++) {
      await rm(dayFile, { force: true });
      const warehouse = path.join(work, 'incremental');
      await rm(warehouse, { recursive: true, force: true });
      const full = await runOnce(`incr-base-${Date.now()}`, warehouse, true);
      log(`full run: ${full.seconds.toFixed(2)}s`);
      for (const a of full.activities)
        log(
          `  full  +${(a.at / 1000).toFixed(2)}s queued ${(a.queued / 1000).toFixed(2)}s ran ${(a.ran / 1000).toFixed(2)}s  ${a.summary}`,
        );
      await copyFile(`${dayFile}.held`, dayFile);
      const incremental = await runOnce(`incr-${Date.now()}`, warehouse, false);
      log(`incremental run: ${incremental.seconds.toFixed(2)}s (${(incremental.seconds / full.seconds).toFixed(3)} x the full run)`);
      for (const a of incremental.activities)
        log(
          `  incr  +${(a.at / 1000).toFixed(2)}s queued ${(a.queued / 1000).toFixed(2)}s ran ${(a.ran / 1000).toFixed(2)}s  ${a.summary}`,
        );
      await writeFile(
        path.join(work, `incremental-${Date.now()}.json`),
        JSON.stringify({ meters: options.meters, full, incremental }, null, 2),
      );
    }
  } finally {
    await connection.close();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

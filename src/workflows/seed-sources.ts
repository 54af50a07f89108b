// Seeding: every source looked at in one writer activity first (an incremental run with no new files
// seeds nothing), then each source loaded into its raw table, its new version recorded in the ledger.
import type { SourceTable } from '../project/types';
import type { SeedSourceResult } from '../contract/activities';
import { checksSourcesFirst, ignoredFilesOf } from './compat';
import { childUri } from '../contract/uri';
import type { RunContext } from './run-context';
import type { RunLedger } from './run-ledger';

/** A file's columns a seed left out (its source's contract does not list them), in words. */
function unloadedColumnsText(source: SourceTable, seeded: SeedSourceResult): string[] {
  return (seeded.unloadedColumns ?? []).map(
    ({ uri, columns }) =>
      `${uri} has ${columns.length === 1 ? 'a column' : 'columns'} ${columns.map((c) => `'${c}'`).join(', ')} that source ${source.name}'s ` +
      `columns (each with a data_type) do not list: not loaded`,
  );
}

/** A source's seed input, as this run seeds it. */
function seedInput(run: RunContext, source: SourceTable) {
  return {
    source,
    uri: source.location ?? childUri(run.input.sourcesUri, source.name),
    fullRefresh: run.fullRefresh,
    logicalDate: run.logicalDate,
    warehouse: run.warehouse,
    ...(run.input.verify ? { verify: true } : {}),
    ...(run.input.sourcesMoved ? { sourcesMoved: true } : {}),
  };
}

/** Every source looked at in one writer activity: those with nothing new go in the ledger, not to be seeded. */
export async function checkSources(run: RunContext, ledger: RunLedger): Promise<void> {
  const { sources } = run.graph;
  // a first run (nothing built yet) loads every source: nothing to check
  const firstRun = Object.keys(run.built).length === 0;
  if (run.fullRefresh || run.input.verify || firstRun || sources.length === 0 || !checksSourcesFirst()) return;
  const { results } = await run.activities.writer.checkSources.executeWithOptions(run.on('seed', 'check every source for new files'), [
    { sources: sources.map((source) => seedInput(run, source)), warehouse: run.warehouse },
  ]);
  results.forEach((result, index) => {
    const source = sources[index];
    if (result && source) ledger.unchangedSources.set(source.name, result);
  });
}

/** Seed one source (unless the check found nothing new in it), noting what it loaded, ignored and set aside. */
export async function seedSource(run: RunContext, ledger: RunLedger, source: SourceTable): Promise<void> {
  const { state } = run;
  const id = `seed:${source.name}`;
  const result = await state.run(id, async () => {
    const seeded =
      ledger.unchangedSources.get(source.name) ??
      (await run.activities.writer.seedSource.executeWithOptions(run.on('seed', `seed ${source.name}`), [seedInput(run, source)]));
    ledger.sourceFiles.push(...seeded.files.map((file) => ({ source: source.name, ...file })));
    const ignored = ignoredFilesOf(seeded);
    state.node(id).note = [
      seeded.changed ? `${seeded.loadedFiles.length} file(s) loaded, ${seeded.removedFiles.length} removed` : 'no new or changed files',
      ...(seeded.verifiedFiles !== undefined
        ? [`${seeded.verifiedFiles} verified by checksum, ${seeded.differedFiles?.length ?? 0} differed`]
        : []),
      ...(ignored.length > 0
        ? [`${ignored.length} ignored (not .parquet): ${ignored.slice(0, 5).join(', ')}${ignored.length > 5 ? ', …' : ''}`]
        : []),
      ...(seeded.setAside ?? []).map((entry) => {
        const rows = `${entry.rows} ${entry.rows === 1 ? 'row' : 'rows'}`;
        return entry.kept ? `${rows} fail ${entry.test} (warn: kept)` : `${rows} set aside by ${entry.test}`;
      }),
    ].join(', ');
    const unloaded = unloadedColumnsText(source, seeded);
    if (unloaded.length > 0) state.node(id).warnings = unloaded;
    return seeded;
  });
  ledger.versions.set(id, {
    current: result.version,
    before: result.previousVersion,
    ...(result.changed ? { changedOver: result.window ?? 'all' } : {}),
  });
  if (!result.changed) state.markUnchanged(id, state.node(id).note ?? 'no new or changed files');
}

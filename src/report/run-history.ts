// The runs' records in an out location, local or S3: each run's run.json beside its report, and the
// grid of the last runs (`<out>/index.html`) rewritten from them after every run.
import { runFolderName } from '../contract/uri';
import { dbtManifest, dbtRunResults, type ArtifactsInput } from './dbt-artifacts';
import type { Readable } from 'node:stream';
import { joinUri, type StorageResolver } from '../storage';
import { GRID_RUNS, gridRuns, renderGridHtml } from './grid';
import { parseRunRecord, type RunRecord } from './run-record';

export const RUN_RECORD_FILE = 'run.json';
export const GRID_FILE = 'index.html';

/**
 * The out location a run's report lies in, from its URI (`<out>/runs/<workflow id>/report.html`, as
 * the workflow names it); undefined for a report anywhere else, which then gets no grid.
 */
export function outLocationOf(reportUri: string, workflowId: string): string | undefined {
  const suffix = `/runs/${runFolderName(workflowId)}/report.html`;
  return reportUri.endsWith(suffix) && reportUri.length > suffix.length ? reportUri.slice(0, -suffix.length) : undefined;
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}

/** Write a run's record beside its report; returns its URI. */
export async function writeRunRecord(storage: StorageResolver, outUri: string, record: RunRecord): Promise<string> {
  const uri = joinUri(outUri, 'runs', runFolderName(record.workflowId), RUN_RECORD_FILE);
  await storage.forUri(uri).write(uri, `${JSON.stringify(record, null, 1)}\n`);
  return uri;
}

/** dbt's manifest.json and run_results.json of a run, beside its record (see dbt-artifacts.ts). */
export async function writeDbtArtifacts(storage: StorageResolver, outUri: string, input: ArtifactsInput): Promise<void> {
  for (const [file, artifact] of [
    ['manifest.json', dbtManifest(input)],
    ['run_results.json', dbtRunResults(input)],
  ] as const) {
    const uri = joinUri(outUri, 'runs', runFolderName(input.workflowId), file);
    await storage.forUri(uri).write(uri, `${JSON.stringify(artifact)}\n`);
  }
}

export interface RunRecords {
  readonly records: RunRecord[];
  /** run.json files that could not be read as a record (corrupt, or a newer format): left out of the grid. */
  readonly unreadable: string[];
}

/**
 * The records of the most recently written runs in an out location. Only the newest files (twice
 * the grid's runs, by modification time) are read, so a location with years of runs costs a few
 * dozen reads, not one per run ever made.
 */
export async function readRunRecords(storage: StorageResolver, outUri: string, limit = 2 * GRID_RUNS): Promise<RunRecords> {
  const runsUri = joinUri(outUri, 'runs');
  const store = storage.forUri(runsUri);
  // each run's folder holds its record; its logs (a file an attempt) are below, and not walked
  const files = (await store.list(runsUri, { maxDepth: 2 }))
    .filter((object) => {
      const parts = object.name.split('/');
      return parts.length === 2 && parts[1] === RUN_RECORD_FILE;
    })
    .sort((a, b) => b.modified.getTime() - a.modified.getTime())
    .slice(0, limit);
  const records: RunRecord[] = [];
  const unreadable: string[] = [];
  for (const file of files) {
    const record = parseRunRecord(await text(await store.read(file.uri)));
    if (record) records.push(record);
    else unreadable.push(file.uri);
  }
  return { records, unreadable };
}

/** Rewrite `<out>/index.html` from the runs' records; returns its URI and the runs it shows. */
export async function writeRunGrid(
  storage: StorageResolver,
  outUri: string,
  options: { readonly webUiUrl?: string; readonly now: Date },
): Promise<{ uri: string; runs: number; unreadable: string[] }> {
  const { records, unreadable } = await readRunRecords(storage, outUri);
  const html = await renderGridHtml(records, options);
  const uri = joinUri(outUri, GRID_FILE);
  await storage.forUri(uri).write(uri, html);
  return { uri, runs: gridRuns(records).length, unreadable };
}

// The report activity: a frame (heartbeats, failure classification) around the run report in
// src/report/run-report.ts, which renders it and writes the run's record and the grid of runs.
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { renderRunReport, type ReportContext, type RunExecution } from '../report/run-report';
import type { StorageResolver } from '../storage';
import { temporalWebUiUrl } from '../config';
import type { WithPinnedReader } from '../duckdb/readers';
import type { DuckdbSettings } from '../duckdb/settings';
import { pinnedReaders } from '../warehouse/warehouse';
import { activityContext, activityFrame } from './context';
import type { RenderReportInput, RenderReportResult } from '../contract/activities';

export interface ReportDependencies {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly duckdb: DuckdbSettings;
  /** The Temporal Web UI the grid of runs links each run to; TEMPORAL_UI_URL or `meterflow dev`'s by default. */
  readonly webUiUrl?: string;
  readonly logger?: Logger;
  /** The worker's attachments of pinned versions, shared with its analytics (one made here otherwise). */
  readonly withPinnedReader?: WithPinnedReader;
}

/** The run this activity works for, as its record keeps it (nothing outside an activity). */
function runExecution(): RunExecution {
  const info = activityContext()?.info;
  return {
    ...(info?.workflowExecution?.runId ? { runId: info.workflowExecution.runId } : {}),
    ...(info?.workflowNamespace ? { namespace: info.workflowNamespace } : {}),
  };
}

export function createReportActivities({ project, storage, duckdb, webUiUrl = temporalWebUiUrl(), logger, ...deps }: ReportDependencies) {
  const context: ReportContext = {
    project,
    storage,
    duckdb,
    webUiUrl,
    ...(logger ? { logger } : {}),
    withPinnedReader: deps.withPinnedReader ?? pinnedReaders(duckdb),
  };
  return {
    /**
     * Write the run's self-contained HTML report to reportUri, its record (run.json) beside it, and
     * the grid of the last runs to `<out>/index.html`: for a failed run too, so it gets its column.
     */
    async renderReport(input: RenderReportInput): Promise<RenderReportResult> {
      return activityFrame('report', () => renderRunReport(context, input, runExecution()));
    },
  };
}

// The report phase: the run's report rendered by an analytics worker (for a failed run too, opening on
// its failure), and the result the workflow returns.
import type { RenderReportInput } from './activity-types';
import type { PipelineResult } from '../contract/run';
import type { Published } from './publish-run';
import type { RunContext } from './run-context';
import type { RunLedger } from './run-ledger';
import { keyedTable, tableKey, tableOf, type ModelNode } from '../project/types';

/** The run's report: its analytics, or (for a failed run) the failure first. */
export function renderReport(
  run: RunContext,
  ledger: RunLedger,
  extra: Partial<Pick<RenderReportInput, 'master' | 'analyticsOutputs' | 'analyticsTables' | 'failure'>>,
) {
  const { state } = run;
  return run.activities.analytics.renderReport.executeWithOptions(
    run.on('report', extra.failure ? "render the failed run's report" : 'render the run report'),
    [
      {
        workflowId: run.workflowId,
        startedAt: run.runStartTime.toISOString(),
        logicalDate: run.logicalDate,
        reportUri: run.reportUri,
        analyticsOutputs: [],
        ...extra,
        sqlHashes: run.planned.stateHashes,
        nodes: state.nodes.filter((n) => n.id !== run.graph.reportId),
        dataTests: state.dataTests,
        sourceFiles: ledger.sourceFiles,
      },
    ],
  );
}

/** A model's table as `schema.name` (`main.<model>` unless its schema or alias config says otherwise). */
const tableLabel = (model: ModelNode) => `${tableOf(model).schema}.${tableOf(model).name}`;

/** A master table as a pinned snapshot names it (tableKey). */
function tableKeyOf(run: RunContext, name: string): string {
  const model = run.planned.plan.models.find((m) => m.name === name);
  return tableKey(model ? tableOf(model) : keyedTable(name));
}

/**
 * The report node: the report reads the published master and analytics tables (an incremental model's
 * result file holds its changed periods only) at the version this run left current.
 */
export async function reportRun(run: RunContext, ledger: RunLedger, snapshotVersion: number | undefined): Promise<void> {
  const { snapshotId, masterTables, analyticsModels, reportId } = run.graph;
  await run.state.run(reportId, async () => {
    const master = snapshotId
      ? {
          warehouse: run.warehouse,
          ...(snapshotVersion !== undefined ? { version: snapshotVersion } : {}),
          relations: Object.fromEntries(masterTables.map((t) => [t, tableKeyOf(run, t)])),
        }
      : undefined;
    const report = await renderReport(run, ledger, {
      ...(master ? { master } : {}),
      analyticsOutputs: [],
      analyticsTables: analyticsModels.map((model) => model.name),
    });
    return { ...report, rows: null };
  });
}

/** What a run that succeeded returns: its nodes, the rows of every table it seeded, built or published, and its tests. */
export function runResult(run: RunContext, published: Published): PipelineResult {
  const { state, input } = run;
  const { sources, buildable, analyticsModels } = run.graph;
  const { snapshotVersion } = published;
  const rowsOf = (id: string) => (state.has(id) ? (state.node(id).rows ?? null) : null);
  return {
    workflowId: run.workflowId,
    logicalDate: run.logicalDate,
    warehousePath: run.warehouse,
    ...(input.project?.hash ? { projectHash: input.project.hash } : {}),
    ...(snapshotVersion !== undefined ? { snapshotVersion } : {}),
    nodes: state.nodes,
    tables: [
      ...sources.map((s) => ({ table: `raw.${s.name}`, rows: rowsOf(`seed:${s.name}`) })),
      ...buildable.map((m) => ({ table: tableLabel(m), rows: rowsOf(`model:${m.name}`) })),
      ...published.tables.flatMap((t) => {
        const model = analyticsModels.find((m) => m.name === t.model);
        return model ? [{ table: tableLabel(model), rows: t.rows }] : [];
      }),
    ],
    dataTests: state.dataTests,
    reportUri: run.reportUri,
  };
}

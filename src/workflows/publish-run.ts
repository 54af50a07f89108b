// The publish phase: the run's whole output becomes visible at once (rebuilt models, analytics results,
// and what each was built from) in one lake transaction, or nothing when nothing is new.
import type { AnalyticsModelResult, EventWindow } from './activity-types';
import type { RunContext } from './run-context';
import type { RunLedger } from './run-ledger';
import type { AnalyticsChoice } from './run-analytics';
import { inputVersions } from './up-to-date';

/** What the publish left: the tables it published with their rows, and the lake version now current. */
export interface Published {
  readonly tables: readonly { model: string; rows: number | null }[];
  readonly snapshotVersion: number | undefined;
}

export async function publishRun(
  run: RunContext,
  ledger: RunLedger,
  choice: AnalyticsChoice,
  analyticsResults: readonly AnalyticsModelResult[],
  snapshotVersion: number | undefined,
): Promise<Published> {
  const { state, buildId, version } = run;
  const { stateHashes } = run.planned;
  const { buildable, publishId } = run.graph;
  const rebuiltModels = buildable.filter((model) => ledger.rebuilt.has(model.name));
  if (rebuiltModels.length === 0 && analyticsResults.length === 0 && ledger.testsRun.length === 0) {
    state.markUnchanged(publishId, 'nothing new to publish');
    return { tables: [], snapshotVersion };
  }
  const published = await state.run(publishId, () =>
    run.activities.writer.publishRun.executeWithOptions(
      run.on('publish', `publish ${rebuiltModels.length} models and ${analyticsResults.length} analytics results`),
      [
        {
          buildId,
          vars: run.vars,
          warehouse: run.warehouse,
          models: rebuiltModels.map((model) => {
            const { inputs, window } = ledger.rebuilt.get(model.name) as { inputs: Record<string, string>; window?: EventWindow };
            const modelState = { stateHash: stateHashes[model.name] as string, version, inputs };
            return { model: model.name, state: modelState, ...(window ? { window } : {}) };
          }),
          analytics: analyticsResults.map(({ model, outputUri, window }) => ({
            model,
            outputUri,
            ...(window ? { window } : {}),
            state: {
              stateHash: stateHashes[model] as string,
              version,
              inputs: inputVersions(choice.inputs.get(model) ?? {}),
            },
          })),
          tests: ledger.testsRun,
          run: run.workflowId,
        },
      ],
    ),
  );
  return { tables: published.tables, snapshotVersion: published.snapshotVersion };
}

// What a run of a selection reaches besides the models it selects: the sources it seeds and the
// singular tests it runs. Pure, for workflow code: the run's graph (workflows/run-graph.ts) and the
// plan's digest of the env vars the run renders with (build/plan.ts) both take it from here.
import { runsOnOf, type ProjectPlan, type SingularTest } from './types';

export interface RunReach {
  /** The sources (and dbt seeds) the run seeds. */
  readonly seeded: ReadonlySet<string>;
  /**
   * The singular tests it runs: those over sources it seeds and models it builds (not analytics ones),
   * and a source's relationships test run after its model (SingularTest.of) wherever the run seeds the
   * source: against the model's published version where the run does not build it (as `dbt build`
   * selects a test any of whose parents it selects); and a unit test wherever its model is selected.
   */
  readonly singularTests: readonly SingularTest[];
}

export function runReach(plan: Pick<ProjectPlan, 'models' | 'sources' | 'singularTests'>, selected: ReadonlySet<string>): RunReach {
  const chosen = plan.models.filter((model) => selected.has(model.name));
  const seeded = new Set(chosen.flatMap((model) => model.sources));
  // dbt seeds: every one in a run of every model (as `dbt build`), else those the selection reads
  if (plan.models.every((model) => selected.has(model.name))) for (const source of plan.sources) if (source.seed) seeded.add(source.name);
  const built = new Set(chosen.filter((model) => runsOnOf(model) !== 'analytics').map((model) => model.name));
  // (a unit test runs wherever its model is selected, on its inputs' published columns where the run builds none)
  const singularTests = plan.singularTests.filter((t) =>
    t.unit
      ? selected.has(t.unit.model)
      : t.sources.every((s) => seeded.has(s)) && (t.of !== undefined || t.refs.every((r) => built.has(r))),
  );
  return { seeded, singularTests };
}

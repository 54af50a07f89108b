// The build phase: every seed, model and singular test of the run, each started once the nodes it waits
// for are done, whatever order they were declared in (the writer still runs one activity at a time).
import { allOrCancel } from './all-or-cancel';
import { buildModel } from './build-models';
import type { RunContext } from './run-context';
import type { RunLedger } from './run-ledger';
import { checkSources, seedSource } from './seed-sources';
import { runSingularTest } from './singular-tests';
import { startsReadersAfterBuild } from './compat';
import type { ModelNode } from '../project/types';

/** The models with a test that reads a model reading them, directly or through others. */
function testedAgainstReaders(models: readonly ModelNode[]): Set<string> {
  const byName = new Map(models.map((model) => [model.name, model]));
  const reads = (from: string, target: string, seen = new Set<string>()): boolean => {
    if (seen.has(from)) return false;
    seen.add(from);
    const refs = byName.get(from)?.refs ?? [];
    return refs.includes(target) || refs.some((ref) => reads(ref, target, seen));
  };
  return new Set(models.filter((model) => (model.testRefs ?? []).some((ref) => reads(ref, model.name))).map((model) => model.name));
}

/** Seed, build and test in DAG order; at the first failure the rest is cancelled and the failure thrown. */
export async function runNodes(run: RunContext, ledger: RunLedger): Promise<void> {
  const { state } = run;
  const { sources, singularTests, buildable } = run.graph;
  await checkSources(run, ledger);
  const work = new Map<string, () => Promise<void>>([
    ...sources.map((source) => [`seed:${source.name}`, () => seedSource(run, ledger, source)] as const),
    ...singularTests.map((test) => [`test:${test.name}`, () => runSingularTest(run, ledger, test)] as const),
    ...buildable.map((model) => [`model:${model.name}`, () => buildModel(run, ledger, model)] as const),
  ]);
  const started = new Map<string, Promise<void>>();
  // a model tested against a model that reads it: its readers wait for its build alone, as its tests
  // wait for theirs (asked only of such runs, whose histories before never ended)
  const testedLate = testedAgainstReaders(buildable);
  const afterBuild = testedLate.size > 0 && startsReadersAfterBuild() ? testedLate : new Set<string>();
  const waitFor = (dep: string): Promise<unknown> => {
    const model = dep.startsWith('model:') ? dep.slice('model:'.length) : undefined;
    const built = model !== undefined && afterBuild.has(model) ? ledger.builtSignal(model) : undefined;
    // (its node's failure still fails the wait)
    return built ? Promise.race([built, task(dep)]) : task(dep);
  };
  const task = (id: string): Promise<void> => {
    let promise = started.get(id);
    if (!promise) {
      promise = Promise.all((state.has(id) ? state.node(id).dependsOn : []).map(waitFor)).then(() => work.get(id)?.());
      started.set(id, promise);
    }
    return promise;
  };
  // NOTE: models wait for every seed, not only their own: a run that refuses a file builds nothing,
  // and "after the seed step" is a point in the history that a reset can return to.
  const seedsDone = Promise.all(sources.map((source) => task(`seed:${source.name}`)));
  seedsDone.catch(() => undefined); // a failed seed surfaces through its own node
  for (const model of buildable) {
    const build = work.get(`model:${model.name}`) as () => Promise<void>;
    work.set(`model:${model.name}`, () => seedsDone.then(build));
  }
  // NOTE: awaiting every node (not only the master's inputs) surfaces any failure, and handles
  // every promise so that a failure leaves no unhandled rejection behind.
  await allOrCancel(() => [...work.keys()].map(task));
}

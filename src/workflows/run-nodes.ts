// The build phase: every seed, model and singular test of the run, each started once the nodes it waits
// for are done, whatever order they were declared in (the writer still runs one activity at a time).
import { allOrCancel } from './all-or-cancel';
import { buildModel } from './build-models';
import type { RunContext } from './run-context';
import type { RunLedger } from './run-ledger';
import { checkSources, seedSource } from './seed-sources';
import { runSingularTest } from './singular-tests';

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
  const task = (id: string): Promise<void> => {
    let promise = started.get(id);
    if (!promise) {
      promise = Promise.all((state.has(id) ? state.node(id).dependsOn : []).map(task)).then(() => work.get(id)?.());
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

// What a run's nodes have done so far, for the nodes and phases after them: the one mutable record the
// phases share. Each entry is written by the node that did the work (named below), and the ledger is
// passed to every phase explicitly.
import { CancellationScope } from '@temporalio/workflow';
import type { EventWindow, SeedSourceResult, SourceFileRecord } from './activity-types';
import type { ModelNode } from '../project/types';
import type { BuiltState, InputVersion } from './up-to-date';

/** Two windows of event times that are the same. */
const sameWindow = (a: EventWindow | undefined, b: EventWindow | undefined) =>
  a !== undefined && b !== undefined && a.from === b.from && a.to === b.to;

export class RunLedger {
  /** Seeds and models as this run sees them: versions before and now, and how this run changed them (seeds, models, the analytics choice). */
  readonly versions = new Map<string, InputVersion>();
  /**
   * Models this run rebuilt: what they were built from, the window when rebuilt over one only, and the
   * new version's rows as its build counted them (not for a view).
   */
  readonly rebuilt = new Map<string, { inputs: Record<string, string>; window?: EventWindow; rows?: number }>();
  /** Singular tests this run ran: recorded at publish, so an unchanged test is not run again (singular tests). */
  readonly testsRun: { test: string; state: BuiltState }[] = [];
  /** The files each seed read, for the report (seeds). */
  readonly sourceFiles: SourceFileRecord[] = [];
  /** Sources with nothing to load, as one activity found them before any was seeded: not seeded again (checkSources). */
  readonly unchangedSources = new Map<string, SeedSourceResult>();
  // each model of the run, once its new version exists (true) or it is up to date (false), before its
  // tests: what a test that reads another model (a relationships test's `to`) waits for
  private readonly builtSignals = new Map<string, (rebuiltNow: boolean) => void>();
  private readonly builtNow: Map<string, Promise<boolean>>;

  constructor(
    private readonly built: Readonly<Record<string, BuiltState>>,
    buildable: readonly ModelNode[],
  ) {
    this.builtNow = new Map(
      buildable.map((model) => [model.name, new Promise<boolean>((resolve) => this.builtSignals.set(model.name, resolve))] as const),
    );
  }

  /** A seed's or model's version as this run sees it: as published, until this run changes it. */
  versionOf(id: string): InputVersion {
    const published = id.startsWith('model:') ? this.built[id.slice('model:'.length)]?.version : undefined;
    return this.versions.get(id) ?? { current: published, before: published };
  }

  /** The versions of what a node reads: its sources' seeds and the models it refs. */
  inputsOf(sourceNames: readonly string[], refs: readonly string[]): Record<string, InputVersion> {
    return Object.fromEntries(
      [...sourceNames.map((s) => `seed:${s}`), ...refs.map((r) => `model:${r}`)].map((id) => [id, this.versionOf(id)]),
    );
  }

  /** A model's new version exists (true) or it is up to date (false): its readers' tests may go on. */
  modelBuilt(model: string, rebuiltNow: boolean): void {
    this.builtSignals.get(model)?.(rebuiltNow);
  }

  /** Resolves once the model is built (true) or found up to date (false). */
  builtSignal(model: string): Promise<boolean> | undefined {
    return this.builtNow.get(model);
  }

  /** The models a model's tests read besides it, rebuilt by this run: waited for, then read as new. */
  async pendingTestRefs(model: ModelNode): Promise<string[]> {
    const testRefs = model.testRefs ?? [];
    const waited = Promise.all(testRefs.map(async (ref) => ((await this.builtNow.get(ref)) === true ? [ref] : [])));
    return (await Promise.race([waited, CancellationScope.current().cancelRequested])).flat();
  }

  /** Upstream models rebuilt over exactly this window: read as their rebuilt rows alone. */
  refsRebuiltOver(refs: readonly string[], window: EventWindow): string[] {
    return refs.filter((ref) => sameWindow(this.rebuilt.get(ref)?.window, window));
  }
}

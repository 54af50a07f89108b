// The run's progress query and sources-landed signal, and the little they read and write: which nodes
// to show, whether the run is done, and whether files landed while it seeded.
import { setHandler } from '@temporalio/workflow';
import { progressQuery, sourcesLandedSignal } from '../contract/run';
import type { RunStart } from './run-context';
import { RunState } from './run-state';

export class RunHandlers {
  /** The nodes the progress query shows: none until the run is planned, then the run's own. */
  shown: RunState;
  /** Set once the run has ended, whatever its outcome. */
  done = false;
  /** Why the run goes on as new when it ends: files that landed while it seeded (a note, or a default). */
  landedDuringRun: string | undefined;
  private seedingStarted = false;

  constructor({ workflowId, startedAt, logicalDate, kind }: RunStart) {
    this.shown = new RunState([], { kind, logicalDate });
    setHandler(progressQuery, () => ({
      workflowId,
      startedAt,
      logicalDate,
      nodes: this.shown.nodes,
      done: this.done,
      dataTests: this.shown.dataTests,
      ...(this.shown.notifications.length > 0 ? { notifications: this.shown.notifications } : {}),
    }));
    setHandler(sourcesLandedSignal, (landed) => {
      // files that land before seeding are seen by this run; later ones need another
      if (this.seedingStarted) this.landedDuringRun = landed?.note ?? 'new source files';
    });
  }

  /** From here on, files that land are not seen by this run. */
  startSeeding(): void {
    this.seedingStarted = true;
  }
}

// A bound on how many activities of one kind a run has pending at once, in workflow code (plain
// promises: deterministic). Temporal fails a workflow that has 2,000 activities pending; a run's
// per-month builds and tests of several models may all be fanning out at the same time, so they
// share one pool of slots and the rest wait their turn, in the order they asked.
import { CancellationScope } from '@temporalio/workflow';

/** Month activities (builds and tests) a run has pending at once, over all its models. */
export const MONTH_ACTIVITY_SLOTS = 400;

export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /**
   * Run work once a slot is free. With a slot free the work starts at once, in the same turn (so a
   * run under the bound schedules exactly what it did before slots existed); otherwise it waits for
   * the next slot let go. Work whose scope is cancelled while it waits does not start.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (CancellationScope.current().consideredCancelled) {
        this.release();
        throw new Error('cancelled while waiting for a slot');
      }
    }
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

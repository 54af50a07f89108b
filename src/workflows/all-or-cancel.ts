// Work run side by side that fails as one: how a run's phases fan out without leaving work behind.
import { CancellationScope } from '@temporalio/workflow';

/**
 * Run work side by side; at the first failure, cancel the rest and wait until their workers have
 * stopped them (so a failed run leaves nothing running and no node `running`), then throw it.
 */
export async function allOrCancel<T>(start: () => Promise<T>[]): Promise<T[]> {
  const scope = new CancellationScope();
  let started: Promise<T>[] = [];
  try {
    return await scope.run(() => {
      started = start();
      return Promise.all(started);
    });
  } catch (err) {
    scope.cancel();
    await Promise.allSettled(started);
    throw err;
  }
}

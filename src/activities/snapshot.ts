// The snapshot activity: a frame (heartbeats, failure classification) around pinning the lake version
// analytics read, in src/build/snapshot.ts.
import type { Logger } from '../logger';
import type { Warehouse } from '../warehouse/warehouse';
import type { LoadedProject } from '../project/load';
import * as building from '../build';
import { activityFrame } from './context';
import type { PinnedSnapshot, PinSnapshotInput } from '../contract/activities';

export interface SnapshotDependencies {
  readonly warehouse: Warehouse;
  readonly logger: Logger;
  readonly project: LoadedProject;
}

export function createSnapshotActivities({ warehouse, logger, project }: SnapshotDependencies) {
  return {
    /** The lake version analytics read, and the relation of each master table there (see building.pinSnapshot). */
    async pinSnapshot(input: PinSnapshotInput): Promise<PinnedSnapshot> {
      return activityFrame('snapshot', () => building.pinSnapshot({ warehouse, logger, project }, input));
    },
  };
}

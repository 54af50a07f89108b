// The lake maintenance activity on the writer: a frame (heartbeats, cancellation, failure
// classification) around src/build/maintenance.ts, which does the work.
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { Warehouse } from '../warehouse/warehouse';
import * as building from '../build';
import { activityFrame, interruptOnCancel } from './context';
import type { MaintainLakeInput, MaintainLakeResult } from '../contract/activities';

export interface MaintenanceDependencies {
  readonly warehouse: Warehouse;
  readonly logger: Logger;
  /** Its models built per month are left unmerged (see building.maintainLake). */
  readonly project?: LoadedProject;
}

export function createMaintenanceActivities({ warehouse, logger, project }: MaintenanceDependencies) {
  // a cancelled activity interrupts its DuckDB work
  const context: building.MaintenanceContext = { warehouse, logger, project, interruptible: interruptOnCancel };
  return {
    /** Merge small files, expire snapshots past the retention, delete the files nothing references. */
    async maintainLake(input: MaintainLakeInput): Promise<MaintainLakeResult> {
      return activityFrame('maintain lake', () => building.maintainLake(context, input));
    },
  };
}

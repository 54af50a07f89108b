// The seed activities: each a frame (heartbeats, cancellation, failure classification) around seeding
// in src/seed, which does the work.
import type { Logger } from '../logger';
import type { StorageResolver } from '../storage';
import type { Warehouse } from '../warehouse/warehouse';
import * as seeding from '../seed';
import { activityFrame, interruptOnCancel } from './context';
import type { CheckSourcesInput, CheckSourcesResult, SeedSourceInput, SeedSourceResult } from '../contract/activities';

export interface SeedDependencies {
  readonly warehouse: Warehouse;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

export function createSeedActivities({ warehouse, storage, logger }: SeedDependencies) {
  // a cancelled activity interrupts the seed's DuckDB work
  const context: seeding.SeedContext = { warehouse, storage, logger, interruptible: interruptOnCancel };
  return {
    /** A source's new, changed and removed files loaded into raw.<source> (see seeding.seedSource). */
    async seedSource(input: SeedSourceInput): Promise<SeedSourceResult> {
      return activityFrame(`seed ${input.source.name}`, () => seeding.seedSource(context, input));
    },

    /**
     * Every source looked at in one activity (see seeding.checkSources): a run with no new files
     * seeds nothing, in one round trip instead of one a source.
     */
    async checkSources({ sources }: CheckSourcesInput): Promise<CheckSourcesResult> {
      return activityFrame('check sources', async () => ({ results: await seeding.checkSources(context, sources) }));
    },
  };
}

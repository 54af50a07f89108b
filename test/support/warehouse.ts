// A real warehouse file in a temp folder with the writer activities over it, called directly (no Temporal).
import { runsOnOf } from '../../src/project/types';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { createAnalyticsWorkerActivities, createWriterActivities } from '../../src/activities';
import { defaultProjectDir } from '../../src/config';
import { createLogger } from '../../src/logger';
import { loadProject, type LoadedProject } from '../../src/project/load';
import { createStorageResolver } from '../../src/storage';
import { Warehouse } from '../../src/warehouse/warehouse';
import { tempDir } from './files';

export interface WarehouseFixture {
  readonly dir: string;
  readonly warehouse: Warehouse;
  readonly project: LoadedProject;
  readonly writer: ReturnType<typeof createWriterActivities>;
  readonly analytics: ReturnType<typeof createAnalyticsWorkerActivities>;
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): void;
}

/** A new warehouse in a temp folder, or (`copyOf`) a copy there of a warehouse folder, opened for writing. */
export async function openWarehouseFixture(label: string, projectDir = defaultProjectDir(), copyOf?: string): Promise<WarehouseFixture> {
  const dir = await tempDir(label);
  if (copyOf) await cp(copyOf, path.join(dir, 'warehouse-warehouse'), { recursive: true });
  const warehouse = await Warehouse.open(path.join(dir, 'warehouse-warehouse'));
  const project = await loadProject(projectDir);
  const storage = createStorageResolver();
  const logger = createLogger('test', 'silent');
  return {
    dir,
    warehouse,
    project,
    writer: createWriterActivities({ warehouse, project, storage, logger }),
    analytics: createAnalyticsWorkerActivities({ project, storage, logger, duckdb: {} }),
    query: (sql) =>
      warehouse.withConnection(async (connection) => (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]),
    close: () => warehouse.close(),
  };
}

/**
 * Seed every source from `<sourcesDir>/<name>`, build every staging and master model and publish them,
 * as a run would; `sourcesMoved` when the warehouse's rows were loaded from another folder.
 */
export async function seedAndBuild(fixture: WarehouseFixture, sourcesDir: string, { sourcesMoved = false } = {}): Promise<void> {
  for (const source of fixture.project.plan.sources) {
    await fixture.writer.seedSource({ source, uri: path.join(sourcesDir, source.name), ...(sourcesMoved ? { sourcesMoved } : {}) });
  }
  const built: string[] = [];
  for (const model of fixture.project.plan.models.filter((m) => runsOnOf(m) !== 'analytics')) {
    await fixture.writer.buildModel({ model: model.name, buildId: 'test', pendingRefs: model.refs.filter((r) => built.includes(r)) });
    built.push(model.name);
  }
  await fixture.writer.publishRun({
    buildId: 'test',
    models: built.map((model) => ({ model, state: { stateHash: 'test', version: 'test', inputs: {} } })),
    analytics: [],
  });
}

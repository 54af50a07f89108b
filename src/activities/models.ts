// Building models in the warehouse: each model replaces its table or view in one transaction, so a
// failed build leaves the previous version readable.
import type { DuckDBConnection } from '@duckdb/node-api';
import { ModelBuildError, ProjectError } from '../errors';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { renderModel, type RelationResolver } from '../project/render';
import type { ModelNode } from '../project/types';
import { duckdbMessage, isPermanentDuckdbError, relation } from '../warehouse/sql';
import type { Warehouse } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import { createHash } from 'node:crypto';
import { selectModels } from '../project/select';
import { latestSnapshot, readModelStates, recordModelState } from './state';
import type { BuildModelInput, BuildModelResult, PlannedRun, PlanRunInput } from './types';

/** The schema models are built in: dbt's default, so dbt-duckdb and meterflow agree on names. */
export const MODEL_SCHEMA = 'main';

export interface ModelDependencies {
  readonly warehouse: Warehouse;
  readonly project: LoadedProject;
  readonly logger: Logger;
}

/** Resolve refs and sources to warehouse relations. */
export function warehouseResolver(project: LoadedProject): RelationResolver {
  return {
    ref: (model) => relation(MODEL_SCHEMA, model),
    source: (sourceName, table) => {
      const source = project.plan.sources.find((s) => s.sourceName === sourceName && s.name === table);
      return relation(source?.schema ?? sourceName, table);
    },
  };
}

export function findModel(project: LoadedProject, name: string): ModelNode {
  const model = project.plan.models.find((candidate) => candidate.name === name);
  if (!model) throw new ProjectError(`no model named '${name}' in ${project.dir}`);
  return model;
}

/** Render a model's SQL for the given resolver, with the run's vars over the project's. */
export function renderModelSql(
  project: LoadedProject,
  model: ModelNode,
  resolver: RelationResolver,
  vars: Readonly<Record<string, unknown>> = {},
): string {
  return renderModel({
    file: model.file,
    template: project.templates.get(model.name) ?? '',
    resolver,
    vars: { ...project.plan.vars, ...vars },
    self: relation(MODEL_SCHEMA, model.name),
  }).sql;
}

/** Whether a relation in the model schema is a table, a view, or absent. */
export async function existingKind(connection: DuckDBConnection, name: string): Promise<'table' | 'view' | undefined> {
  const reader = await connection.runAndReadAll(
    `select table_type from information_schema.tables where table_schema = $schema and table_name = $name`,
    { schema: MODEL_SCHEMA, name },
  );
  const type = reader.getRowObjectsJS()[0]?.table_type;
  if (type === undefined) return undefined;
  return String(type) === 'VIEW' ? 'view' : 'table';
}

export function createModelActivities({ warehouse, project, logger }: ModelDependencies) {
  return {
    /**
     * The project's sources and models in build order (the DAG the workflow runs), the selection,
     * and which models the warehouse holds out of date.
     */
    async planRun({ vars = {}, select, exclude }: PlanRunInput): Promise<PlannedRun> {
      return activityFrame('plan', async () => {
        const selected = selectModels(project.plan.models, select, exclude);
        const stateHashes: Record<string, string> = {};
        for (const model of project.plan.models) {
          const { usedVars } = renderModel({
            file: model.file,
            template: project.templates.get(model.name) ?? '',
            resolver: warehouseResolver(project),
            vars: { ...project.plan.vars, ...vars },
            self: relation(MODEL_SCHEMA, model.name),
          });
          stateHashes[model.name] = createHash('sha256')
            .update(JSON.stringify([project.templates.get(model.name), model.materialized, usedVars]))
            .digest('hex')
            .slice(0, 16);
        }
        return warehouse.withConnection(async (connection) => {
          const built = await readModelStates(connection);
          const stale: string[] = [];
          for (const model of project.plan.models) {
            const exists = (await existingKind(connection, model.name)) !== undefined;
            if (!exists || built.get(model.name) !== stateHashes[model.name]) stale.push(model.name);
          }
          const snapshotUri = await latestSnapshot(connection);
          return {
            plan: project.plan,
            selected,
            stateHashes,
            stale,
            warehousePath: warehouse.path,
            ...(snapshotUri ? { latestSnapshotUri: snapshotUri } : {}),
          };
        });
      });
    },

    /** Build one model in the warehouse, replacing its previous version atomically. */
    async buildModel({ model: name, vars, stateHash }: BuildModelInput): Promise<BuildModelResult> {
      return activityFrame(`model ${name}`, async () => {
        const started = Date.now();
        const model = findModel(project, name);
        const sql = renderModelSql(project, model, warehouseResolver(project), vars);
        const target = relation(MODEL_SCHEMA, model.name);
        const rows = await warehouse.transaction(async (connection) =>
          interruptOnCancel(connection, async () => {
            const existing = await existingKind(connection, model.name);
            if (existing !== undefined && existing !== model.materialized) {
              await connection.run(`drop ${existing} ${target}`);
            }
            try {
              await connection.run(`create or replace ${model.materialized} ${target} as\n${sql}`);
            } catch (err) {
              if (!isPermanentDuckdbError(err)) throw err;
              throw new ModelBuildError(`model ${model.name} (${model.file}): ${duckdbMessage(err)}`, model.name, model.file);
            }
            await recordModelState(connection, model.name, stateHash);
            if (model.materialized === 'view') return null;
            const count = await connection.runAndReadAll(`select count(*)::bigint as n from ${target}`);
            return Number(count.getRowObjectsJS()[0]?.n ?? 0);
          }),
        );
        logger.info({ model: model.name, rows }, 'built model');
        return {
          model: model.name,
          relation: `${MODEL_SCHEMA}.${model.name}`,
          materialized: model.materialized,
          rows,
          durationMs: Date.now() - started,
        };
      });
    },
  };
}

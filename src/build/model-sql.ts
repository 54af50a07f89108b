// Models as SQL: the names of a run's new versions, refs and sources resolved to warehouse relations,
// and a model's SQL rendered with them.
import { ModelBuildError, ProjectError } from '../errors';
import type { LoadedProject } from '../project/load';
import { renderModel, type RelationResolver, type RenderedModel, type RenderOptions } from '../project/render';
import type { QueryAnswers } from '../project/render-queries';
import type { RelationColumns } from '../project/dbt-adapter';
import { DEFAULT_MODEL_SCHEMA, sourceTableOf, tableOf, type DataTest, type ModelNode, type TableName } from '../project/types';
import { duckdbMessage, isPermanentDuckdbError, quotedIdentifier, quotedString, relation } from '../duckdb/sql';
import type { EventWindow, MonthPart } from '../contract/activities';
import { buildKey } from './housekeeping';

/** The schema models are built in unless their schema config says otherwise: dbt's default, so dbt-duckdb and meterflow agree on names. */
export const MODEL_SCHEMA = DEFAULT_MODEL_SCHEMA;

/** A model's published table or view, as SQL. */
export const modelRelation = (model: Pick<ModelNode, 'name' | 'table'>): string => {
  const table = tableOf(model);
  return relation(table.schema, table.name);
};

/** One of a model's working tables (its pending version, its delta), as SQL: beside its published one, in its schema. */
export const besideModel = (model: Pick<ModelNode, 'name' | 'table'>, name: string): string => relation(tableOf(model).schema, name);

/** Where a model's new version waits for its tests before it is swapped in: one per model and run. */
export function pendingName(model: string, buildId: string): string {
  return `__meterflow_pending_${model}__${buildKey(buildId)}`;
}

/** Where an incremental model's rebuilt rows for the changed window wait, beside its pending version. */
export function deltaName(model: string, buildId: string): string {
  return pendingName(`${model}__delta`, buildId);
}

/**
 * SQL for "the event time lies in the window", both ends included to the microsecond the window is
 * written in: up to, not including, the microsecond after its end. (`between` left out an event time
 * of nanoseconds within its last microsecond, 23:59:59.9999995 on a month's last day, which then lay
 * in no month's window.)
 */
export function inWindow(column: string, window: EventWindow): string {
  const time = quotedIdentifier(column);
  return `(${time} >= ${quotedString(window.from)}::timestamp and ${time} < ${quotedString(window.to)}::timestamp + interval 1 microsecond)`;
}

/**
 * One part of a month of a model split by a column: its range of the column (or its hash). With
 * `nullsOnly`, the rows whose key is NULL instead, which a first part planned without NULL keys adds.
 */
export type SplitPart = MonthPart & { readonly column: string; readonly nullsOnly?: true };

/** SQL for "the split column lies in this part's range" (NULL keys in the first), or, for a part with no range, "hashes to this part". */
export function inPart({ column, index, of, from, to, nullKeys, nullsOnly }: SplitPart): string {
  const key = quotedIdentifier(column);
  if (nullsOnly) return `${key} is null`;
  if (from === undefined && to === undefined) return `hash(${key}) % ${of} = ${index}`;
  const above = from === undefined ? [] : [`${key} >= ${quotedString(from)}`];
  const withNulls = from === undefined && nullKeys !== false;
  const below = to === undefined ? [] : [withNulls ? `(${key} < ${quotedString(to)} or ${key} is null)` : `${key} < ${quotedString(to)}`];
  return [...above, ...below].join(' and ');
}

/** A model's pending version as a relation. */
export const pendingRelationOf = (model: Pick<ModelNode, 'name' | 'table'>, buildId: string) =>
  besideModel(model, pendingName(model.name, buildId));

/**
 * An error from a model's SQL: a permanent DuckDB error becomes a ModelBuildError naming the model and
 * its file (and `context`, e.g. the month); anything else (a lost connection, say) is left as it is.
 */
export function modelSqlError(err: unknown, model: ModelNode, context = ''): unknown {
  if (!isPermanentDuckdbError(err)) return err;
  return new ModelBuildError(`model ${model.name} (${model.file}): ${duckdbMessage(err)}${context}`, model.name, model.file);
}

/**
 * Resolve refs and sources to warehouse relations. Refs to models this run has rebuilt but not yet
 * published resolve to their new versions, so the run's models read each other's new versions.
 * With a window (an incremental build, or one month of a per-month build), inputs that have an
 * event_time are read within it only, as dbt's microbatch does, and upstream models rebuilt over the
 * run's window (`windowRefs`) are read as their changed rows (within the window too: a month of them).
 * With a part (one part of a month of a split model), refs split by the same column are read as
 * that part's rows only. `ref(…).render()` and `source(…).render()` read every event time, as dbt's
 * opt-out of its microbatch filter does (a part's rows still of the part alone).
 */
export function warehouseResolver(
  project: LoadedProject,
  pending: { buildId: string; models: readonly string[] } = { buildId: '', models: [] },
  windowed?: { window: EventWindow; windowRefs: readonly string[]; part?: SplitPart },
): RelationResolver {
  // read whole (`.render()`): every event time, of the new version where the run rebuilt a window of it
  const resolverOf = (window: EventWindow | undefined, windowRefs: readonly string[]): RelationResolver => {
    const within = (name: string, eventTime: string | undefined, splitBy?: string) => {
      const part = windowed?.part && windowed.part.column === splitBy ? windowed.part : undefined;
      // NOTE: a part of NULL keys reads none of these refs: the plan found none NULL (nullKeys false).
      // Written `false`, DuckDB drops the joins they feed at once: `key is null` still built the other
      // sides' hash tables (0.14 s against 6 ms for the shipped master's month)
      const ofPart = part ? [part.nullsOnly ? 'false' : inPart(part)] : [];
      const conditions = [...(window && eventTime ? [inWindow(eventTime, window)] : []), ...ofPart];
      return conditions.length > 0 ? `(select * from ${name} where ${conditions.join(' and ')})` : name;
    };
    return {
      ref: (model) => {
        const seed = seedRelation(project, model);
        if (seed) return seed;
        const node = project.plan.models.find((m) => m.name === model);
        const table = refTable(node ?? { name: model }, pending, windowRefs);
        return within(relation(table.schema, table.name), node?.eventTime, node?.split?.column);
      },
      source: (sourceName, table) => {
        const source = sourceTableOf(project.plan, sourceName, table);
        return within(sourceRelation(source?.schema ?? sourceName, table), source?.eventTime);
      },
    };
  };
  const identifier = (model: string) => publishedTableOf(project, model).name;
  return { ...resolverOf(windowed?.window, windowed?.windowRefs ?? []), whole: resolverOf(undefined, []), identifier };
}

/**
 * The table a ref reads: its changed rows where the run rebuilt it over its window (`windowRefs`),
 * this run's unpublished version where it has one, the published one otherwise.
 */
export function refTable(
  model: Pick<ModelNode, 'name' | 'table'>,
  pending: { buildId: string; models: readonly string[] },
  windowRefs: readonly string[],
): TableName {
  const { schema } = tableOf(model);
  if (windowRefs.includes(model.name)) return { schema, name: deltaName(model.name, pending.buildId) };
  return pending.models.includes(model.name) ? { schema, name: pendingName(model.name, pending.buildId) } : tableOf(model);
}

/**
 * A source as models read it: its raw table without the column meterflow keeps each row's file in,
 * so that `select *` (and `select distinct *`) gives the source's columns, as under dbt.
 */
export function sourceRelation(schema: string, name: string): string {
  return `(select * exclude (_source_file) from ${relation(schema, name)})`;
}

/**
 * A dbt seed as models read it: its table without the column meterflow keeps each row's file in.
 * Undefined when `name` is no seed of the project.
 */
export function seedRelation(project: LoadedProject, name: string): string | undefined {
  const seed = project.plan.sources.find((source) => source.seed && source.name === name);
  return seed ? sourceRelation(seed.schema, seed.name) : undefined;
}

/**
 * Tests whose failures are rows of one slice of the table by `column` alone, so the slice can be
 * tested by itself: row-by-row checks, and uniqueness on keys that include the column. With the event
 * time, an incremental build tests its rebuilt rows only; with a split column, a part its own file.
 */
export function holdsWithinWindow(test: DataTest, column: string): boolean {
  // a threshold (warn_if, error_if, limit) judges the whole table's failing rows, not a window's
  if (test.warnIf !== undefined || test.errorIf !== undefined || test.limit !== undefined) return false;
  switch (test.kind) {
    case 'not_null':
    case 'accepted_values':
    case 'expression_is_true':
    case 'relationships':
    case 'accepted_range':
    case 'on_time_grid':
    case 'all_finite':
    case 'contract':
      return true;
    case 'unique_combination_of_columns':
      return (test.args.combination_of_columns as unknown[]).includes(column);
    case 'unique':
      return test.column === column;
    default:
      return false;
  }
}

/** The published table a ref names: a model's (tableOf), a seed's, else `main.<name>`. */
export function publishedTableOf(project: LoadedProject, ref: string): TableName {
  const model = project.plan.models.find((candidate) => candidate.name === ref);
  if (model) return tableOf(model);
  const seed = project.plan.sources.find((source) => source.seed && source.name === ref);
  return { schema: seed?.schema ?? MODEL_SCHEMA, name: ref };
}

export function findModel(project: LoadedProject, name: string): ModelNode {
  const model = project.plan.models.find((candidate) => candidate.name === name);
  if (!model) throw new ProjectError(`no model named '${name}' in ${project.dir}`);
  return model;
}

/**
 * A resolver that inlines the project's ephemeral models, as dbt does: a ref to one is its own SQL,
 * rendered with the same resolver, as a subquery. Every other ref and source goes to `resolver`.
 * `inlined` is given each ephemeral model's rendering (what vars and env vars it read).
 */
export function inliningEphemerals(
  project: LoadedProject,
  resolver: RelationResolver,
  vars: Readonly<Record<string, unknown>>,
  answers: RenderAnswers = {},
  inlined: (rendered: RenderedModel) => void = () => undefined,
): RelationResolver {
  const ephemerals = new Map((project.plan.ephemerals ?? []).map((model) => [model.name, model]));
  if (ephemerals.size === 0) return resolver;
  const inlining: RelationResolver = {
    ref: (name) => {
      const ephemeral = ephemerals.get(name);
      if (!ephemeral) return resolver.ref(name);
      const template = project.templates.get(name) ?? '';
      const rendered = renderModel({
        file: ephemeral.file,
        template,
        resolver: inlining,
        vars,
        self: name,
        ...nodeConfigOf(project, name),
        projectName: project.plan.projectName,
        ...answers,
      });
      inlined(rendered);
      return `(${rendered.sql})`;
    },
    source: (sourceName, table) => resolver.source(sourceName, table),
    ...(resolver.identifier ? { identifier: resolver.identifier } : {}),
    // `.render()` in a model or an ephemeral model it inlines: the relations read whole, inlined alike
    ...(resolver.whole ? { whole: inliningEphemerals(project, resolver.whole, vars, answers, inlined) } : {}),
  };
  return inlining;
}

/** What the warehouse answers a render: its inputs' columns (build/columns.ts) and its queries (build/render-answered.ts). */
export type RenderAnswers = Pick<RenderOptions, 'columns' | 'queries'>;

/**
 * Render a model's SQL to run, for the given resolver, with the run's vars over the project's.
 * `incremental`: is_incremental() true; `columns`: its inputs' columns, for a model that asks
 * (build/columns.ts); `queries`: the answers of this render pass (build/render-answered.ts), without
 * which a template's queries are refused.
 */
export function renderModelSql(
  project: LoadedProject,
  model: ModelNode,
  resolver: RelationResolver,
  vars: Readonly<Record<string, unknown>> = {},
  {
    incremental = false,
    columns,
    queries,
  }: { readonly incremental?: boolean; readonly columns?: RelationColumns; readonly queries?: QueryAnswers } = {},
): string {
  const allVars = { ...project.plan.vars, ...vars };
  return renderModel({
    file: model.file,
    template: project.templates.get(model.name) ?? '',
    resolver: inliningEphemerals(project, resolver, allVars, { columns, queries }),
    vars: allVars,
    self: modelRelation(model),
    projectName: project.plan.projectName,
    incremental,
    columns,
    queries,
    ...nodeConfigOf(project, model.name),
  }).sql;
}

/** A model's resolved config as a render takes it (config.get()), where the project kept it. */
export function nodeConfigOf(project: LoadedProject, name: string): Pick<RenderOptions, 'nodeConfig'> {
  const config = project.configs?.get(name);
  return config ? { nodeConfig: config } : {};
}

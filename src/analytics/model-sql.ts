// An analytics model's SQL over the lake at the run's pinned version: refs to the master read the
// pinned table (a window's periods only, when the master changed over a window), refs to analytics
// models this run computed read its results with the published rows of the other periods.
import { ProjectError } from '../errors';
import type { LoadedProject } from '../project/load';
import type { RelationColumns } from '../project/dbt-adapter';
import type { RelationResolver } from '../project/render';
import { runsOnOf, sourceTableOf, type ModelNode } from '../project/types';
import { readParquet } from '../duckdb/sql';
import type { RunAnalyticsModelInput } from '../contract/activities';
import { modelRelation, publishedTableOf, renderModelSql, seedRelation, sourceRelation } from '../build/model-sql';
import { keyedRelation } from '../build/relations';
import { periodSpanOf, periodStartsOf } from '../build/periods';
import type { QueryAnswers } from '../project/render-queries';

/**
 * A model's new version where its result holds only some periods: the published rows of the other
 * periods (at the pinned version) and the result's.
 */
export function withPublishedRest(model: ModelNode, resultFile: string, window: RunAnalyticsModelInput['window']): string {
  const rows = `select * from ${readParquet([resultFile])}`;
  if (!window || !model.period || !model.eventTime) return `(${rows})`;
  return `(select * from ${modelRelation(model)} where not (${periodStartsOf(model.eventTime, model.period, window)}) union all ${rows})`;
}

/**
 * What a test of an analytics model reads for `ref`, whole: a seed, a table at the pinned version, or
 * another analytics model's new version when this run computed it (as published otherwise).
 */
export function testRefRelation(
  project: LoadedProject,
  model: ModelNode,
  ref: string,
  { snapshot, upstream = [] }: RunAnalyticsModelInput,
  upstreamFiles: ReadonlyMap<string, string>,
): string {
  const seed = seedRelation(project, ref);
  if (seed) return seed;
  const pinned = snapshot.relations[ref];
  if (pinned !== undefined) return keyedRelation(pinned);
  const other = project.plan.models.find((m) => m.name === ref && runsOnOf(m) === 'analytics');
  if (!other) {
    throw new ProjectError(
      `${model.file}: a relationships test of ${model.name} reads ${ref}, which is not in ${snapshot.warehouse} at version ${snapshot.version}`,
      model.file,
    );
  }
  return newVersionOf(other, upstream, upstreamFiles);
}

/** Another analytics model's new version: its result of this run, or (not computed by it) as published. */
function newVersionOf(
  other: ModelNode,
  upstream: NonNullable<RunAnalyticsModelInput['upstream']>,
  upstreamFiles: ReadonlyMap<string, string>,
): string {
  const file = upstreamFiles.get(other.name);
  if (file === undefined) return modelRelation(other);
  return withPublishedRest(other, file, upstream.find((output) => output.model === other.name)?.window);
}

/**
 * The model's refs and sources resolved at the pinned version. `upstreamFiles`: the local result
 * files of the analytics models it refs that this run computed.
 */
export function analyticsResolver(
  project: LoadedProject,
  model: ModelNode,
  { snapshot, window, upstream = [] }: RunAnalyticsModelInput,
  upstreamFiles: ReadonlyMap<string, string>,
): RelationResolver {
  const at = `${snapshot.warehouse} at version ${snapshot.version}`;
  // `whole`: every period (dbt's `ref(…).render()`), not those of the window alone
  const refAt = (whole: boolean) => (ref: string) => {
    const seed = seedRelation(project, ref);
    if (seed) return seed;
    const pinned = snapshot.relations[ref];
    if (pinned !== undefined) {
      const master = keyedRelation(pinned);
      if (!window || !model.period || whole) return master;
      // the whole periods that hold the changed settlement times: their rows are computed anew
      const eventTime = project.plan.models.find((m) => m.name === ref)?.eventTime;
      if (!eventTime) throw new ProjectError(`${model.file}: ref('${ref}') has no event_time to read a window of`, model.file);
      return `(select * from ${master} where ${periodSpanOf(eventTime, model.period, window)})`;
    }
    const other = project.plan.models.find((m) => m.name === ref && runsOnOf(m) === 'analytics');
    if (!other) throw new ProjectError(`${model.file}: ref('${ref}') is not in the snapshot of ${at}`, model.file);
    return newVersionOf(other, upstream, upstreamFiles);
  };
  // a source as seeded, at the pinned version (the run's seeds come before the pin)
  const source = (sourceName: string, table: string) => {
    const found = sourceTableOf(project.plan, sourceName, table);
    return sourceRelation(found?.schema ?? sourceName, table);
  };
  const identifier = (ref: string) => publishedTableOf(project, ref).name;
  return { ref: refAt(false), source, whole: { ref: refAt(true), source }, identifier };
}

/** The model's SQL at the pinned version (analyticsResolver), with its inputs' columns if it asks for them, for one render pass. */
export function analyticsModelSql(
  project: LoadedProject,
  model: ModelNode,
  input: RunAnalyticsModelInput,
  upstreamFiles: ReadonlyMap<string, string>,
  answers: { readonly columns?: RelationColumns; readonly queries?: QueryAnswers } = {},
): string {
  return renderModelSql(project, model, analyticsResolver(project, model, input, upstreamFiles), input.vars, answers);
}

// Planning a run on the writer: the project's DAG and selection, the hash of what each model's build
// depends on, which models the warehouse holds (and of which state), and what a run must not replace.
import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PlannedRun, PlanRunInput } from '../contract/activities';
import { ForeignTableError, ProjectError } from '../errors';
import type { LoadedProject } from '../project/load';
import { environmentDigest, type EnvironmentDigest } from '../project/environment';
import { renderModel, type RenderedModel } from '../project/render';
import { PyFloat } from '../project/jinja-python';
import { NO_COLUMNS } from '../project/dbt-adapter';
import { selectModels } from '../project/select';
import { RUN_STARTED_AT_VAR } from '../project/types';
import { runReach } from '../project/run-reach';
import { readBuiltStates, type BuiltState } from '../warehouse/state';
import type { ModelContext } from './context';
import { dropLeftovers, foreignTables } from './housekeeping';
import { inliningEphemerals, modelRelation, warehouseResolver } from './model-sql';
import { existingKinds, tableKey } from './relations';
import { sourceTestOf, tableOf } from '../project/types';

/** In a template's Jinja: a float literal, a division, or a filter that gives a float. */
const FLOAT_PRONE = /\d\.\d|\/|\|\s*(?:float|round|abs|sum)\b/;

/**
 * Whether a model's Jinja may print a whole float (or reads a var whose dbt_project.yml value is one):
 * meterflow printed `2` for Python's `2.0` before it printed floats as Python does, so such a model's
 * state is marked, and it is rebuilt once after that upgrade (an incremental one would otherwise add
 * rows of another column type to its table).
 */
export function mayPrintFloats(template: string, vars: Readonly<Record<string, unknown>>): boolean {
  const jinja = (template.match(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g) ?? []).join('\n');
  if (FLOAT_PRONE.test(jinja)) return true;
  return Object.entries(vars).some(([name, value]) => value instanceof PyFloat && jinja.includes(name));
}

type Reads = Pick<RenderedModel, 'usedVars' | 'usedEnv'>;

/** `into` with the entries of `more` it lacks added after its own (so a hash of it moves only when something was added). */
const withMissing = <T>(into: Record<string, T>, more: Readonly<Record<string, T>>) => {
  for (const [name, value] of Object.entries(more)) if (!(name in into)) into[name] = value;
};

/**
 * A rendering's reads. The is_incremental() branch is rendered for its reads alone: one that cannot
 * be rendered here (a var given only to runs that add rows) adds none, and fails the build that renders it.
 */
function renderReads(incremental: boolean, render: () => Reads): Reads {
  if (!incremental) return render();
  try {
    return render();
  } catch (err) {
    if (err instanceof ProjectError) return { usedVars: {}, usedEnv: {} };
    throw err;
  }
}

/**
 * The vars and environment variables a model or singular test reads: in its own template, in the
 * ephemeral models it inlines, and (for an incremental model) in its `is_incremental()` branch too.
 */
function readsOf(
  project: LoadedProject,
  node: { file: string; template: string; self: string; incremental: boolean },
  vars: Readonly<Record<string, unknown>>,
): Reads {
  const reads: { usedVars: Record<string, unknown>; usedEnv: Record<string, string> } = { usedVars: {}, usedEnv: {} };
  const inlined: Reads[] = [];
  for (const incremental of node.incremental ? [false, true] : [false]) {
    const rendered = renderReads(incremental, () =>
      renderModel({
        file: node.file,
        template: node.template,
        resolver: inliningEphemerals(project, warehouseResolver(project), vars, { columns: NO_COLUMNS, queries: 'discover' }, (r) =>
          inlined.push(r),
        ),
        vars,
        self: node.self,
        incremental,
        // (the columns of its inputs and its queries' rows: part of their state, not of this hash)
        columns: NO_COLUMNS,
        queries: 'discover',
        projectName: project.plan.projectName,
      }),
    );
    for (const read of [rendered, ...inlined.splice(0)]) {
      withMissing(reads.usedVars, read.usedVars);
      withMissing(reads.usedEnv, read.usedEnv);
    }
  }
  return reads;
}

/**
 * A hash of what each model's (and singular test's) build depends on: a changed one is out of date.
 * `readEnv` is told the environment variables each model (and `test:<name>`) read.
 */
export function stateHashesOf(
  project: LoadedProject,
  vars: Readonly<Record<string, unknown>>,
  readEnv: (node: string, names: string[]) => void = () => undefined,
): Record<string, string> {
  const hash = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
  const allVars = { ...project.plan.vars, ...vars };
  const stateHashes: Record<string, string> = {};
  for (const model of project.plan.models) {
    const template = project.templates.get(model.name) ?? '';
    const self = modelRelation(model);
    const { usedVars, usedEnv } = readsOf(
      project,
      { file: model.file, template, self, incremental: model.materialized === 'incremental' },
      allVars,
    );
    readEnv(model.name, Object.keys(usedEnv));
    // and the ephemeral models it inlines (only where it inlines any: other hashes stay as they were)
    const inlined = (model.inlines ?? []).map((name) => project.templates.get(name));
    stateHashes[model.name] = hash([
      project.templates.get(model.name),
      model.materialized,
      usedVars,
      model.tests,
      ...(inlined.length > 0 ? [inlined] : []),
      // (only where it reads any: other hashes stay as they were)
      ...(Object.keys(usedEnv).length > 0 ? [usedEnv] : []),
      ...(mayPrintFloats(template, project.plan.vars) ? ['python floats'] : []),
      // an incremental model without an event_time runs on every run, as dbt runs it: its rows may be
      // added whatever its inputs (an append without a filter, a day's snapshot of a table)
      ...(model.incremental && model.resourceType !== 'snapshot' ? [allVars[RUN_STARTED_AT_VAR] ?? 'every run'] : []),
    ]);
  }
  for (const test of project.plan.singularTests) {
    const id = `test:${test.name}`;
    const template = project.templates.get(id) ?? '';
    const { usedVars, usedEnv } = readsOf(project, { file: test.file, template, self: test.name, incremental: false }, allVars);
    readEnv(id, Object.keys(usedEnv));
    // the vars and env vars it reads (only where it reads any: other hashes stay as they were)
    const reads = Object.keys(usedVars).length + Object.keys(usedEnv).length > 0 ? [usedVars, usedEnv] : [];
    // and the ephemeral models it inlines (only where it inlines any)
    const inlined = (test.inlines ?? []).map((name) => project.templates.get(name));
    // a source's relationships test run after its model: that test as the YAML gives it
    const of = test.of ? [sourceTestOf(project.plan, test.of)?.test] : [];
    // a unit test: its fixtures and expected rows
    const unit = test.unit ? [test.unit] : [];
    stateHashes[id] = hash([template, test.severity, ...reads, ...(inlined.length > 0 ? [inlined] : []), ...of, ...unit]);
  }
  return stateHashes;
}

/** The recorded state of each model the warehouse holds, and of each singular test run before. */
function builtOf(
  project: LoadedProject,
  states: ReadonlyMap<string, BuiltState>,
  kinds: ReadonlyMap<string, string>,
): Record<string, BuiltState> {
  const built: Record<string, BuiltState> = {};
  for (const model of project.plan.models) {
    const state = states.get(model.name);
    if (state && kinds.has(tableKey(tableOf(model)))) built[model.name] = state;
  }
  for (const test of project.plan.singularTests) {
    const state = states.get(`test:${test.name}`);
    if (state) built[`test:${test.name}`] = state;
  }
  return built;
}

/** The warehouse's side of a plan: what it holds, its foreign tables refused, and dead runs' leftovers dropped. */
async function inspectWarehouse(
  { warehouse, project, logger, owners }: ModelContext,
  connection: DuckDBConnection,
  selected: string[],
  { buildId, force = false }: PlanRunInput,
): Promise<Pick<PlannedRun, 'built' | 'droppedLeftovers'>> {
  const states = await readBuiltStates(connection);
  const kinds = await existingKinds(connection);
  const built = builtOf(project, states, kinds);
  const foreign = await foreignTables(connection, project, selected, states);
  if (foreign.length > 0 && !force) {
    throw new ForeignTableError(
      `the warehouse ${warehouse.path} holds ${foreign.join(', ')}, which meterflow did not create; ` +
        'it will not replace them: move them elsewhere, or run with --force to replace them',
      foreign,
    );
  }
  const droppedLeftovers = buildId ? await dropLeftovers(connection, buildId, owners) : [];
  if (droppedLeftovers.length > 0) logger.warn({ dropped: droppedLeftovers }, 'dropped unpublished versions left by runs that ended');
  return { built, droppedLeftovers };
}

/** The models a run of this selection renders, and the singular tests it runs (`test:<name>`), as its graph has them. */
function renderedBy(project: LoadedProject, selected: readonly string[]): Set<string> {
  const { singularTests } = runReach(project.plan, new Set(selected));
  return new Set([...selected, ...singularTests.map((test) => `test:${test.name}`)]);
}

/**
 * The state hashes of a run of `selected`, and the digest of the environment variables it renders
 * with (undefined if none): those its models and singular tests read (the others are not rendered
 * by this run), and those the naming macros read, which decide where every table goes.
 */
export function plannedReads(
  project: LoadedProject,
  selected: readonly string[],
  vars: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): { stateHashes: Record<string, string>; env: EnvironmentDigest | undefined } {
  const rendered = renderedBy(project, selected);
  const envNames = new Set<string>(project.plan.namingEnv);
  const stateHashes = stateHashesOf(project, vars, (node, names) => rendered.has(node) && names.forEach((name) => envNames.add(name)));
  return { stateHashes, env: envNames.size > 0 ? environmentDigest(envNames, env) : undefined };
}

/**
 * The project's sources and models in build order (the DAG the workflow runs), the selection,
 * and which models the warehouse holds out of date.
 */
export async function planRun(context: ModelContext, input: PlanRunInput): Promise<PlannedRun> {
  const { warehouse, project } = context;
  const { vars = {} } = input;
  // (the input's select, exclude and selector)
  const selected = selectModels(project.selection, input);
  const { stateHashes, env } = plannedReads(project, selected, vars, process.env);
  const { built, droppedLeftovers } = await warehouse.withConnection((connection) =>
    inspectWarehouse(context, connection, selected, input),
  );
  return {
    plan: project.plan,
    selected,
    stateHashes,
    built,
    droppedLeftovers,
    warehousePath: warehouse.path,
    // the env_var values the models got here: every later activity checks its worker has the same
    ...(env ? { env } : {}),
  };
}

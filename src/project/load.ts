// Loads a dbt project folder: dbt_project.yml, the YAML property files (sources, models) and the
// SQL models, and turns it into a ProjectPlan whose models are in build order.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ProjectError } from '../errors';
import { topologicalOrder } from './dag';
import { DBT_BUILTIN_TESTS, NATIVE_TESTS, parseTestConfig, relationshipsTarget, type TestConfig, type TestNames } from './data-tests';
import { genericTestNames, renderGenericTests } from './generic-tests';
import { bundleTemplate } from './macro-bundle';
import { builtinNamingMacros, builtinTestDispatchers, loadMacros, macrosUsedBy, type MacroFile } from './macros';
import { installedPackages } from './packages';
import { modelTable, namingMacros, type NamingMacros } from './model-table';
import { NO_COLUMNS } from './dbt-adapter';
import { renderModel, type RelationResolver } from './render';
import { asTags, fqnOf, mergeConfig, projectConfigFor, runsOnAsked, runsOnOf, splitOf, type NodeConfig } from './model-config';
import { refuseHooks, refuseUnsupported } from './unsupported';
import { contractTests } from './contracts';
import {
  columnDocs,
  eventTimeColumn,
  IDENTIFIER,
  listFiles,
  modelTests,
  readProjectFile,
  readProperties,
  seedKey,
  type ProjectFile,
  type Properties,
  type PropertyModel,
} from './project-files';
import { checkUnitInputs, unitTestOf, type UnitTestEntry } from './unit-tests';
import { snapshotBlocks, snapshotBuildConfig, snapshotSpec, snapshotTemplate, type SnapshotBlock } from './dbt-snapshots';
import { selectionGraph } from './selection-graph';
import { readYamlSelectors } from './yaml-selectors';
import type { SelectionGraph } from './select';
import {
  ANALYTICS_PERIODS,
  DEFAULT_MODEL_SCHEMA,
  ON_SCHEMA_CHANGE,
  type OnSchemaChange,
  runsOnOf as modelRunsOn,
  tableKey,
  TARGET_NAME_VAR,
  tableOf,
} from './types';
import type {
  AnalyticsPeriod,
  DataTest,
  EphemeralModel,
  ModelNode,
  ProjectPlan,
  RunsOn,
  IncrementalConfig,
  SingularTest,
  SourceTable,
  TableName,
} from './types';

/** A loaded project: the plan plus the SQL templates, which stay on the workers. */
export interface LoadedProject {
  readonly dir: string;
  readonly plan: ProjectPlan;
  /** Each model's (and `test:<name>`'s) template, bundled with the macro files it uses. */
  readonly templates: ReadonlyMap<string, string>;
  /** Each model's resolved config (dbt_project.yml's, its YAML's, its config() calls'), for config.get(). */
  readonly configs?: ReadonlyMap<string, NodeConfig>;
  /** What `--select` and `--exclude` are read against (select.ts). */
  readonly selection: SelectionGraph;
  readonly macros: readonly MacroFile[];
}

/**
 * A resolver that records what a template refs and which sources it reads, refusing undeclared
 * sources (and, once the models are known, refs to no model).
 */
function recordingResolver(
  file: string,
  sourceKeys: ReadonlyMap<string, SourceTable>,
  knownModels?: ReadonlySet<string>,
): { resolver: RelationResolver; refs: Set<string>; used: Set<string> } {
  const refs = new Set<string>();
  const used = new Set<string>();
  const resolver: RelationResolver = {
    ref: (model) => {
      // a dbt seed is ref'd as a model is, and read as a source is: seeded before any model builds
      if (sourceKeys.get(seedKey(model))) {
        used.add(model);
        return model;
      }
      if (knownModels && !knownModels.has(model)) throw new ProjectError(`${file}: ref('${model}') names no model in the project`, file);
      refs.add(model);
      return model;
    },
    source: (sourceName, table) => {
      const source = sourceKeys.get(`${sourceName}.${table}`);
      if (!source) throw new ProjectError(`${file}: source('${sourceName}', '${table}') is not declared in any sources YAML`, file);
      used.add(source.name);
      return table;
    },
  };
  return { resolver, refs, used };
}

/**
 * `meta.period` of an analytics model: the period its rows are per (a `date_trunc` unit), for an
 * incremental model whose event_time is the period's start.
 */
function analyticsPeriod(meta: unknown, model: { runsOn: RunsOn; materialized: string; eventTime?: string }, file: string, name: string) {
  const period = (meta as { period?: unknown } | undefined)?.period;
  if (period === undefined || period === null) return undefined;
  if (typeof period !== 'string' || !(ANALYTICS_PERIODS as readonly string[]).includes(period)) {
    throw new ProjectError(`${file}: meta.period of '${name}' must be one of ${ANALYTICS_PERIODS.join(', ')}`, file);
  }
  if (model.runsOn !== 'analytics' || model.materialized !== 'incremental' || !model.eventTime) {
    throw new ProjectError(
      `${file}: meta.period of '${name}' needs an incremental analytics model whose event_time is the period's start`,
      file,
    );
  }
  return period as AnalyticsPeriod;
}

/**
 * A microbatch model's batches as meterflow builds them: a month each, from dbt's `begin` (returned,
 * as `YYYY-MM-DD HH:MM:SS`). A batch_size other than a month would compute each row from another
 * span of inputs than dbt does, and a `begin` elsewhere than on the build queue would not be honoured:
 * both refused, naming the file.
 */
function microbatchBegin(config: Readonly<Record<string, unknown>>, runsOn: RunsOn, file: string, name: string): string | undefined {
  if (config.incremental_strategy !== 'microbatch') return undefined;
  const batchSize = config.batch_size;
  if (batchSize !== undefined && batchSize !== 'month') {
    throw new ProjectError(
      `${file}: '${name}' has batch_size='${String(batchSize)}', but meterflow builds a microbatch model a month at a time, ` +
        `each month from its inputs' rows of that month: set batch_size='month' (dbt then batches by month too)`,
      file,
    );
  }
  const begin = config.begin;
  if (begin === undefined || begin === null) return undefined;
  const text = begin instanceof Date ? begin.toISOString() : String(begin);
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?(?:\.0+)?Z?$/.exec(text.trim());
  if (!match) throw new ProjectError(`${file}: begin of '${name}' must be a date or a time (YYYY-MM-DD[ HH:MM:SS]), not '${text}'`, file);
  if (runsOn !== 'build') {
    throw new ProjectError(`${file}: '${name}' has a begin, which meterflow honours on the build queue only, not runs_on: ${runsOn}`, file);
  }
  const time = match[2] ?? '00:00:00';
  return `${match[1]} ${time.length === 5 ? `${time}:00` : time}`;
}

/**
 * An incremental model without an event_time: how dbt-duckdb adds its rows (its default: delete+insert
 * with a unique_key, append without). `merge` leaves the rows delete+insert does; any other strategy
 * is refused, naming the file.
 */
function incrementalConfig(config: Readonly<Record<string, unknown>>, file: string, name: string): IncrementalConfig {
  const key = config.unique_key;
  const uniqueKey = key === undefined || key === null ? [] : Array.isArray(key) ? key.map(String) : [String(key)];
  // one string is used by dbt as SQL on each side (`(key) in (select (key) …)`); a list's items are columns
  const keyExpression = typeof key === 'string' && !IDENTIFIER.test(key) ? { uniqueKeyIsExpression: true } : {};
  for (const column of Array.isArray(key) ? uniqueKey : []) {
    if (!IDENTIFIER.test(column)) {
      throw new ProjectError(`${file}: unique_key of '${name}' is a list, whose items must be column names, not '${column}'`, file);
    }
  }
  const fullRefresh = config.full_refresh;
  if (fullRefresh !== undefined && fullRefresh !== null && typeof fullRefresh !== 'boolean') {
    throw new ProjectError(`${file}: full_refresh of '${name}' must be true or false, not '${String(fullRefresh)}'`, file);
  }
  const onSchemaChange = config.on_schema_change ?? 'ignore';
  if (!(ON_SCHEMA_CHANGE as readonly unknown[]).includes(onSchemaChange)) {
    throw new ProjectError(
      `${file}: on_schema_change of '${name}' must be one of ${ON_SCHEMA_CHANGE.join(', ')}, not '${String(onSchemaChange)}'`,
      file,
    );
  }
  const refresh = { onSchemaChange: onSchemaChange as OnSchemaChange, ...(typeof fullRefresh === 'boolean' ? { fullRefresh } : {}) };
  const asked = config.incremental_strategy ?? (uniqueKey.length > 0 ? 'delete+insert' : 'append');
  // dbt-core's delete+insert without a unique_key deletes nothing: it inserts, as append does
  if (asked === 'append' || (asked === 'delete+insert' && uniqueKey.length === 0)) return { uniqueKey: [], ...refresh };
  if (asked === 'delete+insert' || (asked === 'merge' && uniqueKey.length > 0)) return { uniqueKey, ...keyExpression, ...refresh };
  throw new ProjectError(
    `${file}: '${name}' is incremental with incremental_strategy='${String(asked)}'${uniqueKey.length === 0 ? ' and no unique_key' : ''}: ` +
      `without an event_time meterflow adds its rows by append, or by delete+insert or merge on a unique_key`,
    file,
  );
}

/** The SQL model files under the model paths, each with the path dbt's fqn is taken from. */
async function modelFiles(project: ProjectFile): Promise<{ file: string; underPath: string }[]> {
  const found: { file: string; underPath: string }[] = [];
  for (const modelPath of project.modelPaths) {
    const root = path.join(project.dir, modelPath);
    for (const file of await listFiles(root)) if (file.endsWith('.sql')) found.push({ file, underPath: path.relative(root, file) });
  }
  return found;
}

/** A model as loaded, before ephemeral models are inlined into the models that read them. */
interface ModelDraft extends ModelNode {
  readonly ephemeral: boolean;
  /** Its resolved config (LoadedProject.configs; not in the plan). */
  readonly config: NodeConfig;
  /** dbt's fqn (the selection graph's; not in the plan). */
  readonly fqn: readonly string[];
  /** Whether meta.meterflow.runs_on was given (otherwise runsOn is the default, and may follow its refs). */
  readonly runsOnAsked: boolean;
}

/**
 * The config dbt_project.yml's `data_tests:` (or older `tests:`) block gives the tests of a YAML file:
 * each level on the way down to the file's folder (under its model, seed or test path) laid over the one
 * above, as dbt configures a test node by its fqn.
 */
function testDefaultsFor(project: ProjectFile, file: string): Record<string, unknown> {
  const parts = file.split(/[\\/]/).slice(0, -1);
  const searchPaths = [...project.modelPaths, ...project.seedPaths, ...project.testPaths].map((p) => p.replace(/\/+$/, ''));
  const under = parts.length > 0 && searchPaths.includes(parts[0] as string) ? parts.slice(1) : parts;
  return projectConfigFor(project.raw.data_tests ?? project.raw.tests, [project.name, ...under]) as Record<string, unknown>;
}

/** What a model's custom generic tests are rendered with, and its table named with. */
interface TestContext {
  readonly tests: TestNames;
  readonly macros: readonly MacroFile[];
  readonly naming: NamingMacros;
  /** What tests' arguments and SQL are rendered with: the project's vars and the run's given (TestVars). */
  readonly testVars: TestVars;
}

/**
 * The vars tests render with: dbt_project.yml's, the run's over them (all of them where the run is
 * planned; the ones tests read, on a worker); and the names tests read, which the plan lists among the
 * vars a worker's project is loaded with (projectFileVars), so that every worker renders them alike.
 */
interface TestVars {
  readonly values: Readonly<Record<string, unknown>>;
  readonly read: Set<string>;
}

/** Each config refuseUnapplied refuses, with what meterflow does instead. */
const UNAPPLIED_CONFIGS: Readonly<Record<string, string>> = {
  incremental_predicates: 'every row of a new key replaces its rows',
  // (dbt-duckdb reads `predicates` as incremental_predicates; a differential probe found it ignored)
  predicates: 'every row of a new key replaces its rows',
  merge_update_columns: "a merge replaces every column of a key's rows",
  merge_exclude_columns: "a merge replaces every column of a key's rows",
  // (a differential probe found it ignored: a `set` before the model's SQL changes its rows' order)
  sql_header: "the model's SQL runs without it; put a setting it needs in the model's SQL",
};

/**
 * dbt configs that change a model's rows and that meterflow does not apply: refused, naming the file,
 * rather than built without them.
 */
function refuseUnapplied(config: NodeConfig, relative: string, name: string): void {
  const given = (value: unknown) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
  const key = Object.keys(UNAPPLIED_CONFIGS).find((candidate) => given(config[candidate]));
  if (key !== undefined) {
    throw new ProjectError(`${relative}: '${name}' has ${key}, which meterflow does not apply: ${UNAPPLIED_CONFIGS[key]}`, relative);
  }
}

/** What a model's config says of how it is built: its materialization, where it runs, by month or in parts, incrementally how. */
function howBuilt(config: NodeConfig, relative: string, name: string) {
  refuseUnapplied(config, relative, name);
  const materialized = String(config.materialized ?? 'view');
  if (!['table', 'view', 'incremental', 'ephemeral'].includes(materialized)) {
    throw new ProjectError(
      `${relative}: materialized='${materialized}' is not supported (table, view, incremental or ephemeral; meterflow runs no custom materialization)`,
      relative,
    );
  }
  const ephemeral = materialized === 'ephemeral';
  const kept = ephemeral ? 'view' : (materialized as ModelNode['materialized']);
  const eventTime = eventTimeColumn(config.event_time, relative, name);
  const runsOn = ephemeral ? 'writer' : runsOnOf(config, kept, eventTime, relative, name);
  const period = analyticsPeriod(config.meta, { runsOn, materialized, ...(eventTime ? { eventTime } : {}) }, relative, name);
  const split = splitOf(config, runsOn, relative, name);
  const begin = microbatchBegin(config, runsOn, relative, name);
  const incremental = materialized === 'incremental' && !eventTime ? incrementalConfig(config, relative, name) : undefined;
  if (incremental && runsOn === 'analytics') {
    throw new ProjectError(
      `${relative}: '${name}' is incremental without an event_time and runs_on: analytics, which computes a model whole ` +
        `on every run: it is added to as dbt does on the writer only (no runs_on), or give it an event_time and meta.period`,
      relative,
    );
  }
  return {
    runsOn,
    materialized: kept,
    ephemeral,
    ...(eventTime ? { eventTime } : {}),
    ...(begin ? { begin } : {}),
    ...(incremental ? { incremental } : {}),
    ...(period ? { period } : {}),
    ...(split ? { split } : {}),
  };
}

/** One model file: rendered once with recording resolvers for its refs, sources and config. */
function loadModel(
  project: ProjectFile,
  properties: Properties,
  sourceKeys: ReadonlyMap<string, SourceTable>,
  file: { relative: string; underPath: string; template: string; name?: string },
  testContext: TestContext,
  snapshot?: SnapshotNode,
): ModelDraft | undefined {
  const { relative, template } = file;
  const name = file.name ?? path.basename(relative, '.sql');
  const { resolver: recorder, refs, used } = recordingResolver(relative, sourceKeys);
  const rendered = renderModel({
    file: relative,
    template,
    resolver: recorder,
    vars: project.vars,
    self: name,
    columns: NO_COLUMNS,
    // its queries' rows, as at dbt's parse: none (its SQL is not kept)
    queries: 'discover',
    projectName: project.name,
  });
  const property = snapshot ? snapshot.property : properties.models.get(name);
  const fqn = snapshot?.fqn ?? fqnOf(project.name, file.underPath, name);
  // (a snapshot is built as an incremental model merged on dbt_scd_id: its own config is what config.get() and selectors read)
  const config: NodeConfig = snapshot
    ? { ...mergeConfig(snapshot.config, rendered.config), materialized: 'snapshot' }
    : mergeConfig(mergeConfig(projectConfigFor(project.modelsBlock, fqn), property?.config), rendered.config);
  if (config.enabled === false) return undefined;
  refuseHooks(config, relative, name);
  const how = howBuilt(snapshot ? mergeConfig(config, snapshot.build) : config, relative, name);
  const { ephemeral } = how;
  const parsed = modelTests(property, name, relative, testContext.tests);
  const generic = renderGenericTests(parsed.tests, {
    file: property?.file ?? relative,
    macros: testContext.macros,
    vars: testContext.testVars.values,
    sources: sourceKeys,
    varsRead: testContext.testVars.read,
  });
  const { refs: genericRefs } = generic;
  // an enforced contract's checks, meterflow's own (not a project's not_null)
  const contracted = { name, materialized: how.materialized, file: property?.file ?? relative };
  const tests = [...generic.tests, ...contractTests(contracted, config.contract, property?.columns ?? [], property?.constraints)];
  const testRefs = [...new Set([...parsed.testRefs, ...genericRefs])].filter((ref) => ref !== name);
  if (ephemeral && tests.length > 0)
    throw new ProjectError(
      `${relative}: ephemeral model '${name}' has tests, which meterflow does not run (an ephemeral model has no table; dbt tests its inlined SQL): test a model that reads it`,
      relative,
    );
  // an ephemeral model has no table of its own
  const table = snapshot ? snapshot.table : ephemeral ? undefined : modelTable(config, { name, fqn, relative }, testContext.naming);
  return {
    name,
    ...(snapshot ? { resourceType: 'snapshot' as const } : {}),
    ...(table ? { table } : {}),
    ...how,
    runsOnAsked: runsOnAsked(config),
    // (dbt's default materialization, as its config gives it)
    config: { ...config, materialized: config.materialized ?? 'view' },
    fqn,
    file: relative,
    refs: [...refs],
    sources: [...used],
    tags: asTags(config.tags),
    ...(property?.description ? { description: property.description.trim() } : {}),
    columns: columnDocs(property?.columns),
    tests,
    ...(testRefs.length > 0 ? { testRefs } : {}),
  };
}

/** Two models (or a model and a seed) built as one table are refused, as dbt refuses them. */
function refuseSharedTables(models: readonly ModelNode[], sources: readonly SourceTable[]): void {
  const owners = new Map<string, string>();
  const claim = (table: { schema: string; name: string }, what: string) => {
    const key = `${table.schema}.${table.name}`.toLowerCase();
    const other = owners.get(key);
    if (other)
      throw new ProjectError(`${other} and ${what} would both be built as ${table.schema}.${table.name}: give one another schema or alias`);
    owners.set(key, what);
  };
  for (const model of models) claim(tableOf(model), `model '${model.name}' (${model.file})`);
  for (const seed of sources.filter((source) => source.seed)) claim(seed, `seed '${seed.name}' (${seed.seed?.file})`);
}

/**
 * Ephemeral models leave the DAG: a model that reads one reads what it reads (refs and sources) and
 * inlines its SQL. A cycle through ephemeral models is named as any other.
 */
type Reach = (node: { refs: readonly string[]; sources: readonly string[] }) => { refs: string[]; sources: string[]; inlines: string[] };

function inlineEphemerals(drafts: readonly ModelDraft[]): { models: ModelNode[]; ephemerals: EphemeralModel[]; reach: Reach } {
  const ephemeral = new Map(drafts.filter((d) => d.ephemeral).map((d) => [d.name, d]));
  topologicalOrder(drafts); // names a missing ref or a cycle, ephemeral models included
  const reach: Reach = (draft) => {
    const refs = new Set<string>();
    const sources = new Set(draft.sources);
    const inlines: string[] = [];
    const pending = [...draft.refs];
    for (let ref = pending.shift(); ref !== undefined; ref = pending.shift()) {
      const inlined = ephemeral.get(ref);
      if (!inlined) refs.add(ref);
      else if (!inlines.includes(ref)) {
        inlines.push(ref);
        inlined.sources.forEach((source) => sources.add(source));
        pending.push(...inlined.refs);
      }
    }
    return { refs: [...refs], sources: [...sources], inlines };
  };
  const models = drafts
    .filter((draft) => !draft.ephemeral)
    .map(({ ephemeral: _e, config: _c, fqn: _f, ...model }) => {
      const { refs, sources, inlines } = reach(model);
      return { ...model, refs, sources, ...(inlines.length > 0 ? { inlines } : {}) };
    });
  return { models: followReadOnlyRefs(models), ephemerals: [...ephemeral.values()].map(({ name, file }) => ({ name, file })), reach };
}

/**
 * A model with no runs_on of its own that reads a read-only model (runs_on: analytics) is read-only
 * too: it runs after the model it reads, on the analytics queue, as dbt would run it after that model.
 * A view there is computed (and tested) like the others, and published as a view (build/publish.ts).
 */
function followReadOnlyRefs(models: readonly (Omit<ModelDraft, 'ephemeral' | 'config' | 'fqn'> & ModelNode)[]): ModelNode[] {
  const runsOn = new Map(models.map((model) => [model.name, model.runsOn]));
  const followed = new Map<string, ModelNode>();
  for (const model of topologicalOrder(models)) {
    const { runsOnAsked: asked, ...node } = model;
    const readOnlyRef = model.refs.find((ref) => runsOn.get(ref) === 'analytics');
    if (asked || model.runsOn === 'analytics' || readOnlyRef === undefined) {
      followed.set(model.name, node);
      continue;
    }
    runsOn.set(model.name, 'analytics');
    followed.set(model.name, { ...node, runsOn: 'analytics' });
  }
  return models.map((model) => followed.get(model.name) as ModelNode);
}

/** Whether `from` reads `target`, or is tested against it, directly or through the models it reads or is tested against. */
function readsTransitively(byName: ReadonlyMap<string, ModelNode>, from: string, target: string, seen = new Set<string>()): boolean {
  if (seen.has(from)) return false;
  seen.add(from);
  const model = byName.get(from);
  const reads = [...(model?.refs ?? []), ...(model?.testRefs ?? [])];
  return reads.includes(target) || reads.some((ref) => readsTransitively(byName, ref, target, seen));
}

/**
 * What a model may read. Read-only models run after every build, so a model whose config asks for the
 * writer or the build queue may not read one (one that asks for nothing follows it: followReadOnlyRefs),
 * nor be tested against one (it is tested as it is built). A read-only model's tests may read another
 * read-only model (it then runs after that one), save one that reads it back. Everything else goes as
 * the DAG allows.
 */
function checkRefDirections(models: readonly ModelNode[], testRefs = false): void {
  const byName = new Map(models.map((model) => [model.name, model]));
  for (const model of models) {
    if (model.runsOn === 'analytics') {
      const loop = testRefs
        ? model.testRefs?.find((ref) => byName.get(ref)?.runsOn === 'analytics' && readsTransitively(byName, ref, model.name))
        : undefined;
      if (loop) {
        throw new ProjectError(
          `${model.file}: a relationships test of read-only '${model.name}' reads '${loop}', which reads '${model.name}' (or is tested against it): ` +
            `'${model.name}' is tested before '${loop}' is computed; test the relationship on '${loop}' instead`,
          model.file,
        );
      }
      continue;
    }
    for (const ref of testRefs ? (model.testRefs ?? []) : model.refs) {
      if (byName.get(ref)?.runsOn !== 'analytics') continue;
      const wayOut = testRefs
        ? `a ${model.runsOn} model is tested as it is built: give '${model.name}' meta.meterflow.runs_on: analytics, or let '${ref}' be built by the writer`
        : `give '${model.name}' meta.meterflow.runs_on: analytics (or no runs_on: it then runs read-only after '${ref}'), or let '${ref}' be built by the writer`;
      throw new ProjectError(
        `${model.file}: '${model.name}' (runs_on: ${model.runsOn}) ${testRefs ? 'has a test that reads' : 'refs'} '${ref}', which runs read-only (runs_on: analytics) after every build: ${wayOut}`,
        model.file,
      );
    }
  }
}

/**
 * A source with the seeds its relationships tests read (`to: ref('x')`, where x's schema and alias put
 * it), for its seed, which knows no project, and the tests whose `to` is a model, run after the model
 * is built (afterModels). One naming neither, or an analytics model (published after every test), is
 * refused.
 */
function withTestTables(source: SourceTable, models: readonly ModelNode[], sources: readonly SourceTable[], file: string): SourceTable {
  const testTables: Record<string, string> = {};
  const afterModels: string[] = [];
  for (const test of source.tests) {
    const ref = relationshipsTarget(test);
    if (ref === undefined) continue;
    const model = models.find((candidate) => candidate.name === ref);
    const seed = sources.find((candidate) => candidate.seed && candidate.name === ref);
    if (!model && !seed) {
      throw new ProjectError(
        `${file}: a relationships test of source '${source.name}' reads ref('${ref}'), which names no model or seed`,
        file,
      );
    }
    if (seed) testTables[ref] = tableKey({ schema: seed.schema, name: ref });
    else if (model && modelRunsOn(model) === 'analytics') {
      throw new ProjectError(
        `${file}: the relationships test ${test.id} of source '${source.name}' reads analytics model '${ref}', which a run publishes after its tests: test it against a model the run builds before`,
        file,
      );
    } else afterModels.push(test.id);
  }
  return {
    ...source,
    ...(Object.keys(testTables).length > 0 ? { testTables } : {}),
    ...(afterModels.length > 0 ? { afterModels } : {}),
  };
}

/**
 * The relationships tests of sources and seeds whose `to` is a model, as tests of their own: each
 * runs once the run has built its model, on the model's new version, and fails the run before it
 * publishes (as dbt runs such a test after both its parents); its file is the YAML that declares it
 * (`yamlOf`). A singular test or model of the same name is refused.
 */
function testsAfterModels(
  sources: readonly SourceTable[],
  singularTests: readonly SingularTest[],
  models: readonly ModelNode[],
  yamlOf: (source: SourceTable) => string,
): SingularTest[] {
  return sources.flatMap((source) =>
    (source.afterModels ?? []).map((id) => {
      const test = source.tests.find((candidate) => candidate.id === id) as DataTest;
      const file = yamlOf(source);
      // (its node is `test:<id>`, as a singular test's and a model's tests' are)
      if (singularTests.some((singular) => singular.name === id) || models.some((model) => model.name === id)) {
        throw new ProjectError(`${file}: the test ${id} of source '${source.name}' has the name of a singular test or model too`, file);
      }
      return {
        name: id,
        file,
        refs: [relationshipsTarget(test) as string],
        sources: [source.name],
        severity: test.severity,
        of: { source: source.name, test: id },
      };
    }),
  );
}

/**
 * Seeds whose relationships tests read each other in a circle: each waits to be seeded until the
 * seeds its tests read are (workflows/run-graph.ts), so a circle is refused, naming it.
 */
function refuseSeedTestCycles(sources: readonly SourceTable[]): void {
  const reads = (name: string) =>
    Object.keys(sources.find((source) => source.name === name)?.testTables ?? {}).filter((to) =>
      sources.some((source) => source.seed && source.name === to),
    );
  const visit = (name: string, path: string[]): void => {
    if (path.includes(name)) {
      const circle = [...path.slice(path.indexOf(name)), name];
      throw new ProjectError(
        `the relationships tests of seeds ${circle.join(' → ')} read each other in a circle: no seed could be checked first`,
      );
    }
    for (const to of reads(name)) if (to !== name) visit(to, [...path, name]);
  };
  for (const source of sources.filter((s) => s.seed)) visit(source.name, []);
}

/** The singular tests: every .sql file under test-paths outside `generic/` folders. */
async function loadSingularTests(
  project: ProjectFile,
  macros: readonly MacroFile[],
  sourceKeys: ReadonlyMap<string, SourceTable>,
  modelNames: ReadonlySet<string>,
  templates: Map<string, string>,
  reach: Reach,
  yamlOf: ReadonlyMap<string, PropertyModel>,
): Promise<SingularTest[]> {
  const singularTests: SingularTest[] = [];
  for (const testPath of project.testPaths) {
    const root = path.join(project.dir, testPath);
    const files = await listFiles(root);
    // (not generic tests' files, nor unit tests' fixtures, which are the test path's fixtures/ folder)
    const parts = (f: string) => path.relative(root, f).split(path.sep);
    for (const file of files.filter((f) => f.endsWith('.sql') && !parts(f).includes('generic') && parts(f)[0] !== 'fixtures')) {
      const relative = path.relative(project.dir, file);
      const name = path.basename(file, '.sql');
      if (!IDENTIFIER.test(name)) throw new ProjectError(`${relative}: '${name}' is not a valid test name`, relative);
      const template = await readFile(file, 'utf8').then((text) => bundleTemplate(text, macrosUsedBy(text, macros)));
      templates.set(`test:${name}`, template);
      const { resolver, refs, used } = recordingResolver(relative, sourceKeys, modelNames);
      const { config } = renderModel({
        file: relative,
        template,
        vars: project.vars,
        self: name,
        resolver,
        columns: NO_COLUMNS,
        queries: 'discover',
        projectName: project.name,
      });
      // its config as dbt resolves it: dbt_project.yml's data_tests: block, its properties YAML's
      // (`data_tests: [{name: …, config: …}]`), then its config() call
      const configured = { ...testDefaultsFor(project, relative), ...(yamlOf.get(name)?.config ?? {}), ...config };
      if (configured.enabled === false) {
        templates.delete(`test:${name}`);
        continue;
      }
      const { severity, failCalc, thresholds } = parseTestConfig(configured as TestConfig, relative, `singular test '${name}'`);
      const read = reach({ refs: [...refs], sources: [...used] });
      singularTests.push({
        name,
        file: relative,
        refs: read.refs,
        sources: read.sources,
        severity,
        ...thresholds,
        ...(failCalc !== undefined ? { failCalc } : {}),
        ...(read.inlines.length > 0 ? { inlines: read.inlines } : {}),
      });
    }
  }
  return singularTests;
}

/** Every model file under the model paths, loaded (disabled ones left out), and its template by name. */
async function loadModels(
  project: ProjectFile,
  properties: Properties,
  sourceKeys: ReadonlyMap<string, SourceTable>,
  context: TestContext,
): Promise<{ drafts: ModelDraft[]; templates: Map<string, string> }> {
  const templates = new Map<string, string>();
  const drafts: ModelDraft[] = [];
  for (const { file, underPath } of await modelFiles(project)) {
    const relative = path.relative(project.dir, file);
    const name = path.basename(file, '.sql');
    if (!IDENTIFIER.test(name)) throw new ProjectError(`${relative}: '${name}' is not a valid model name`, relative);
    if (templates.has(name)) throw new ProjectError(`${relative}: a second model named '${name}'`, relative);
    const template = await readFile(file, 'utf8').then((text) => bundleTemplate(text, macrosUsedBy(text, context.macros)));
    const draft = loadModel(project, properties, sourceKeys, { relative, underPath, template }, context);
    if (!draft) continue;
    templates.set(name, template);
    drafts.push(draft);
  }
  return { drafts, templates };
}

/** What makes a model of a dbt snapshot: its resolved config, its YAML entry and where its table goes. */
interface SnapshotNode {
  readonly config: NodeConfig;
  readonly property: PropertyModel | undefined;
  readonly table: TableName | undefined;
  /** How its table takes a query's new columns (snapshotBuildConfig). */
  readonly build: NodeConfig;
  readonly fqn: string[];
}

/** A snapshot's table: its target_schema as written (dbt's older config), else named as a model's is. */
function snapshotTable(config: NodeConfig, node: { name: string; fqn: string[]; relative: string }, naming: NamingMacros) {
  const target = config.target_schema;
  if (target === undefined || target === null) return modelTable(config, { ...node, resourceType: 'snapshot' }, naming);
  if (typeof target !== 'string' || !IDENTIFIER.test(target)) {
    throw new ProjectError(`${node.relative}: the target_schema of snapshot '${node.name}' must be a plain SQL name`, node.relative);
  }
  // (its name as a model's: its alias, or the project's generate_alias_name)
  const { target_schema: _target, schema: _schema, ...named } = config;
  const alias = modelTable(named, { ...node, resourceType: 'snapshot' }, naming)?.name ?? node.name;
  return target === DEFAULT_MODEL_SCHEMA && alias === node.name ? undefined : { schema: target, name: alias };
}

/**
 * One dbt snapshot, loaded as the incremental model that builds it (dbt-snapshots.ts): its config from
 * dbt_project.yml's `snapshots:` block, its YAML entry and its `config()` call, read from its query first.
 */
function loadSnapshot(
  project: ProjectFile,
  properties: Properties,
  sourceKeys: ReadonlyMap<string, SourceTable>,
  file: { relative: string; underPath: string; block: SnapshotBlock },
  context: TestContext,
): { draft: ModelDraft; template: string } | undefined {
  const { relative, underPath, block } = file;
  const { name } = block;
  if (!IDENTIFIER.test(name)) throw new ProjectError(`${relative}: '${name}' is not a valid snapshot name`, relative);
  const property = properties.snapshots.get(name);
  const query = bundleTemplate(block.body, macrosUsedBy(block.body, context.macros));
  const { resolver } = recordingResolver(relative, sourceKeys);
  const rendered = renderModel({
    file: relative,
    template: query,
    resolver,
    vars: project.vars,
    self: name,
    columns: NO_COLUMNS,
    queries: 'discover',
    projectName: project.name,
  });
  // (a snapshot's fqn holds its file's name, as dbt's: snapshots/hist/meters.sql's m is [project, hist, meters, m])
  const fqn = fqnOf(project.name, underPath.endsWith('.sql') ? path.join(underPath.slice(0, -'.sql'.length), name) : underPath, name);
  const config = mergeConfig(mergeConfig(projectConfigFor(project.raw.snapshots, fqn), property?.config), rendered.config);
  if (config.enabled === false) return undefined;
  const spec = snapshotSpec(config, relative, name);
  const text = snapshotTemplate(block.body, spec);
  const template = bundleTemplate(text, macrosUsedBy(text, context.macros));
  const table = snapshotTable(config, { name, fqn, relative }, context.naming);
  const build = snapshotBuildConfig();
  const draft = loadModel(project, properties, sourceKeys, { relative, underPath, template, name }, context, {
    config,
    property,
    table,
    build,
    fqn,
  });
  return draft ? { draft, template } : undefined;
}

/** Every snapshot: the blocks of the .sql files under snapshot-paths, and those YAML defines with a `relation`. */
async function loadSnapshots(
  project: ProjectFile,
  properties: Properties,
  sourceKeys: ReadonlyMap<string, SourceTable>,
  context: TestContext,
  templates: Map<string, string>,
): Promise<ModelDraft[]> {
  const found: { relative: string; underPath: string; block: SnapshotBlock }[] = [];
  for (const snapshotPath of project.snapshotPaths) {
    const root = path.join(project.dir, snapshotPath);
    for (const file of (await listFiles(root)).filter((f) => f.endsWith('.sql'))) {
      const blocks = snapshotBlocks(await readFile(file, 'utf8'));
      for (const block of blocks) found.push({ relative: path.relative(project.dir, file), underPath: path.relative(root, file), block });
    }
  }
  for (const [name, property] of properties.snapshots) {
    if (property.relation === undefined) continue;
    const relative = property.file as string;
    if (!/^\s*(ref|source)\s*\(.*\)\s*$/s.test(property.relation)) {
      throw new ProjectError(`${relative}: the relation of snapshot '${name}' must be a ref() or source() call`, relative);
    }
    const underPath = relative.split(/[\\/]/).slice(1).join('/');
    found.push({ relative, underPath, block: { name, body: `select * from {{ ${property.relation} }}` } });
  }
  const drafts: ModelDraft[] = [];
  for (const file of found) {
    if (templates.has(file.block.name)) {
      throw new ProjectError(`${file.relative}: a snapshot named '${file.block.name}', as another model or snapshot is`, file.relative);
    }
    const loaded = loadSnapshot(project, properties, sourceKeys, file, context);
    if (!loaded) continue;
    templates.set(file.block.name, loaded.template);
    drafts.push(loaded.draft);
  }
  return drafts;
}

/**
 * dbt unit tests, each a singular test of its own (SingularTest.unit) over its model's inputs, its
 * template the model's: checked against what the model reads, directly (ephemeral models not inlined).
 */
async function loadUnitTests(
  project: ProjectFile,
  entries: readonly UnitTestEntry[],
  sourceKeys: ReadonlyMap<string, SourceTable>,
  loaded: { models: readonly ModelNode[]; ephemerals: readonly EphemeralModel[]; tests: readonly SingularTest[] },
  templates: Map<string, string>,
): Promise<SingularTest[]> {
  // the files under a test path's fixtures/ folder (dbt's place for them)
  const underTests = await Promise.all(
    project.testPaths.map(async (p) =>
      (await listFiles(path.join(project.dir, p))).map((f) => path.relative(path.join(project.dir, p), f)),
    ),
  );
  const fixtureFiles = underTests.flatMap((files, i) =>
    files.filter((f) => f.split(path.sep)[0] === 'fixtures').map((f) => path.join(project.dir, project.testPaths[i] as string, f)),
  );
  const taken = new Set(loaded.tests.map((t) => t.name));
  const unitTests: SingularTest[] = [];
  for (const entry of entries) {
    // dbt_project.yml's unit_tests: block, by the YAML file's folders, under the test's own config
    const underPath = entry.file.split(/[\\/]/).slice(1).join('/');
    const defaults = projectConfigFor(project.raw.unit_tests, fqnOf(project.name, underPath, String(entry.name)));
    const config = { ...defaults, ...(typeof entry.config === 'object' && entry.config !== null ? entry.config : {}) };
    const spec = await unitTestOf({ ...entry, config }, fixtureFiles);
    if (!spec) continue;
    const { file } = entry;
    const model = loaded.models.find((m) => m.name === spec.model);
    if (!model || model.resourceType === 'snapshot') {
      throw new ProjectError(`${file}: unit test '${spec.name}' is of '${spec.model}', which is no model of the project`, file);
    }
    if (taken.has(spec.name)) throw new ProjectError(`${file}: a second test named '${spec.name}'`, file);
    taken.add(spec.name);
    const template = templates.get(model.name) as string;
    const { resolver, refs, used } = recordingResolver(model.file, sourceKeys);
    renderModel({
      file: model.file,
      template,
      resolver,
      vars: { ...project.vars, ...spec.vars },
      self: model.name,
      incremental: spec.incremental ?? false,
      columns: NO_COLUMNS,
      queries: 'discover',
      projectName: project.name,
    });
    const seeds = new Set([...used].filter((name) => sourceKeys.has(seedKey(name))));
    const sourceKey = (name: string) => [...sourceKeys].find(([key, s]) => s.name === name && !key.startsWith('ref:'))?.[0];
    const keys = new Set([
      ...[...refs, ...seeds].map((r) => `ref:${r}`),
      ...[...used].filter((u) => !seeds.has(u)).map((u) => `source:${sourceKey(u)}`),
    ]);
    checkUnitInputs(
      spec,
      { keys, seeds, ephemerals: new Set(loaded.ephemerals.map((e) => e.name)) },
      file,
      model.incremental !== undefined,
    );
    templates.set(`test:${spec.name}`, template);
    const { name, seedsAsTheyAre: _seeds, ...unit } = spec;
    const built = (ref: string) => loaded.models.some((m) => m.name === ref && modelRunsOn(m) !== 'analytics');
    // (its inputs, read with its vars: built before it runs, as it types its fixtures from them)
    const inputs = [...new Set([...model.refs, ...refs])].filter(built);
    unitTests.push({ name, file, refs: inputs, sources: [...new Set([...model.sources, ...used])], severity: 'error', unit });
  }
  return unitTests;
}

/** A seed named as a model (ref() would be ambiguous), and a model's relationships test to no model or seed, refused. */
function refuseUnknownRefs(models: readonly ModelNode[], refable: ReadonlySet<string>, sources: readonly SourceTable[]): void {
  const seedNames = new Set(sources.filter((s) => s.seed).map((s) => s.name));
  for (const name of seedNames) {
    if (refable.has(name)) throw new ProjectError(`a seed and a model are both named '${name}': ref('${name}') would be ambiguous`);
  }
  const modelNames = new Set(models.map((m) => m.name));
  for (const model of models) {
    const unknown = model.testRefs?.find((ref) => !modelNames.has(ref) && !seedNames.has(ref));
    if (unknown)
      throw new ProjectError(
        `${model.file}: a relationships test of '${model.name}' reads ref('${unknown}'), which names no model`,
        model.file,
      );
  }
}

/**
 * Load and validate a dbt project, laid out as dbt allows. Errors name the file at fault.
 * `vars`: a run's vars, which dbt_project.yml's Jinja reads (only those; none: each var's default).
 */
export async function loadProject(
  projectDir: string,
  { vars = {} }: { vars?: Readonly<Record<string, unknown>> } = {},
): Promise<LoadedProject> {
  const dir = path.resolve(projectDir);
  const project = await readProjectFile(dir, vars);
  const targetName = typeof vars[TARGET_NAME_VAR] === 'string' ? (vars[TARGET_NAME_VAR] as string) : undefined;
  const { macros, generics, naming } = await projectMacros(project, { ...project.vars, ...vars });
  const tests: TestNames = { generics, defaultsFor: (file) => testDefaultsFor(project, file) };
  const properties = await readProperties(project, tests, naming);
  const sourceKeys = new Map(
    properties.sources.map((source) => [source.seed ? seedKey(source.name) : `${source.sourceName}.${source.name}`, source]),
  );
  // a source that is a seed's table reads the seed
  for (const [key, seed] of properties.seedSources) sourceKeys.set(key, sourceKeys.get(seedKey(seed)) as SourceTable);
  // sources' and seeds' own generic tests, rendered now that every source is known
  const testVars: TestVars = { values: { ...project.vars, ...vars }, read: new Set() };
  const sources = properties.sources.map((source) => ({
    ...source,
    tests: renderGenericTests(source.tests, {
      file: source.seed?.file ?? source.name,
      macros,
      vars: testVars.values,
      sources: sourceKeys,
      varsRead: testVars.read,
    }).tests,
  }));

  const context = { tests, macros, naming, testVars };
  const { drafts, templates } = await loadModels(project, properties, sourceKeys, context);
  drafts.push(...(await loadSnapshots(project, properties, sourceKeys, context, templates)));
  const configs = new Map(drafts.map((draft) => [draft.name, draft.config]));
  const { models, ephemerals, reach } = inlineEphemerals(drafts);
  const ordered = topologicalOrder(models);
  checkRefDirections(ordered);
  const refable = new Set([...ordered.map((m) => m.name), ...ephemerals.map((e) => e.name)]);
  refuseUnknownRefs(ordered, refable, sources);
  checkRefDirections(ordered, true);
  refuseSharedTables(ordered, sources);
  // the YAML file that declares a source's tests, for what names them
  const yamlOf = (source: SourceTable) =>
    source.seed ? (properties.seeds.get(source.name)?.file ?? source.seed.file) : (properties.sourceFiles.get(source.name) ?? source.name);
  const tested = sources.map((source) => withTestTables(source, ordered, sources, yamlOf(source)));
  refuseSeedTestCycles(tested);
  const written = await loadSingularTests(project, macros, sourceKeys, refable, templates, reach, properties.singularTests);
  const afterModels = testsAfterModels(tested, written, ordered, yamlOf);
  const loaded = { models: ordered, ephemerals, tests: [...written, ...afterModels] };
  const unitTests = await loadUnitTests(project, properties.unitTests, sourceKeys, loaded, templates);
  const singularTests = [...written, ...afterModels, ...unitTests];
  refuseTestNamedTwice([...ordered.flatMap((model) => model.tests), ...tested.flatMap((source) => source.tests)]);
  const plan: ProjectPlan = {
    projectName: project.name,
    sources: tested,
    models: ordered,
    ...(ephemerals.length > 0 ? { ephemerals } : {}),
    singularTests,
    vars: project.vars,
    // (and dbt_project.yml's, which decide configs alike)
    ...(naming.envRead?.size || project.reads.env.size
      ? { namingEnv: [...new Set([...(naming.envRead ?? []), ...project.reads.env])].sort() }
      : {}),
    // (and the vars tests read: a worker loads the project with the run's values of both)
    // (and the run's target name, which configs, naming macros and models may read)
    ...(projectFileVars(project, testVars, naming, targetName) ?? {}),
    ...(properties.seedSources.size > 0 ? { seedSources: Object.fromEntries(properties.seedSources) } : {}),
  };
  const selection = await projectSelection(project, properties, vars, { drafts, models: ordered, sources: tested });
  return { dir, plan, templates, macros, configs, selection };
}

/** A test's own name given to two tests (or the name another test has): refused, as dbt refuses it. */
function refuseTestNamedTwice(tests: readonly DataTest[]): void {
  const byId = new Map<string, DataTest[]>();
  for (const test of tests) byId.set(test.id, [...(byId.get(test.id) ?? []), test]);
  const twice = [...byId.values()].find((same) => same.length > 1 && same.some((test) => test.named));
  if (twice) {
    const on = twice.map((test) => `${test.target}${test.column ? `.${test.column}` : ''}`).join(' and ');
    throw new ProjectError(`two tests are named '${twice[0]?.id}' (on ${on}): dbt refuses it; give each test a name of its own`);
  }
}

/**
 * The run's vars a worker loads the project with (ProjectPlan.projectFileVars): those dbt_project.yml,
 * tests' arguments and the naming macros read, and the run's target name, which configs, naming
 * macros and models may read.
 */
function projectFileVars(project: ProjectFile, testVars: TestVars, naming: NamingMacros, targetName: string | undefined) {
  const names = new Set([...project.reads.vars, ...testVars.read, ...(naming.varsRead ?? []), ...(targetName ? [TARGET_NAME_VAR] : [])]);
  return names.size > 0 ? { projectFileVars: [...names].sort() } : undefined;
}

/**
 * The project's macros, the installed packages' (checked against packages.yml) and dbt's own generic
 * tests where the project changes them; the generic test names they define, and the naming macros.
 */
async function projectMacros(
  project: ProjectFile,
  vars: Readonly<Record<string, unknown>>,
): Promise<{ macros: MacroFile[]; generics: Set<string>; naming: NamingMacros }> {
  const { dir } = project;
  const packages = await installedPackages(dir, project.raw);
  await refuseUnsupported(project.dir, project.raw, project.modelPaths, project.snapshotPaths, listFiles, packages);
  // a generic test file whose every test is meterflow's own definition of a test it runs natively is
  // dbt's alone; another definition of such a name, or of dbt's own tests, runs as written
  const native = new Set(NATIVE_TESTS.filter((name) => !DBT_BUILTIN_TESTS.includes(name)));
  const own = await loadMacros(dir, project.macroPaths, project.testPaths, native);
  // and the installed packages', each under its name (dbt_utils.star, dbt_utils.expression_is_true)
  const packaged = await Promise.all(packages.map((pkg) => loadMacros(dir, pkg.macroPaths, pkg.testPaths, new Set(), pkg.name)));
  const macros = [...own, ...packaged.flat(), ...builtinTestDispatchers(own), ...builtinNamingMacros(own)];
  // (a package's naming macros are not the project's: dbt takes the project's own only)
  return { macros, generics: genericTestNames(macros), naming: namingMacros(own, { macros, vars }) };
}

/** What --select, --exclude and --selector read: the nodes as loaded, and the project's selectors.yml. */
async function projectSelection(
  project: ProjectFile,
  properties: Properties,
  vars: Readonly<Record<string, unknown>>,
  nodes: { drafts: readonly ModelDraft[]; models: readonly ModelNode[]; sources: readonly SourceTable[] },
): Promise<SelectionGraph> {
  const yamlSelectors = await readYamlSelectors(project.dir, vars);
  return selectionGraph({
    ...(yamlSelectors ? { selectors: yamlSelectors } : {}),
    projectName: project.name,
    ...nodes,
    seedSources: properties.seedSources,
    selectable: properties.selectable,
    yamlFile: (kind, name) =>
      (kind === 'seed' ? properties.seeds : kind === 'snapshot' ? properties.snapshots : properties.models).get(name)?.file,
    sourceFile: (table) => properties.sourceFiles.get(table),
  });
}

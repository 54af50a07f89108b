// dbt's artifacts for a meterflow run, so that the tools people point at dbt's target folder read it:
// manifest.json (schema v12, dbt 1.8 to 1.10) with the project's models, seeds, sources and tests, and
// run_results.json (schema v6) with one result per node the run had: models and seeds `success`,
// `error`, `skipped` or `reused` (up to date, not run again), tests `pass`, `fail`, `warn` or
// `skipped`. Pure: the report activity writes them beside the run's record (run.json).
import { relationshipsTarget } from '../project/data-tests';
import { escapeRegExp } from '../project/fnmatch';
import { splitBundle } from '../project/macro-bundle';
import {
  runsOnOf,
  tableOf,
  unitInputCall,
  type DataTest,
  type ModelNode,
  type ProjectPlan,
  type SingularTest,
  type SourceTable,
  type UnitTestRows,
} from '../project/types';
import type { DataTestOutcome, NodeProgress } from '../contract/run';

export const MANIFEST_SCHEMA = 'https://schemas.getdbt.com/dbt/manifest/v12.json';
export const RUN_RESULTS_SCHEMA = 'https://schemas.getdbt.com/dbt/run-results/v6.json';
/** The dbt version whose artifacts these follow (the schemas above are the ones it writes). */
export const DBT_VERSION = '1.10.15';

export interface ArtifactsInput {
  readonly plan: ProjectPlan;
  /** Each model's template (macro files bundled in front are left out of raw_code). */
  readonly templates: ReadonlyMap<string, string>;
  readonly workflowId: string;
  readonly startedAt?: string;
  readonly generatedAt: Date;
  readonly nodes: readonly NodeProgress[];
  readonly dataTests: readonly DataTestOutcome[];
  readonly sqlHashes?: Readonly<Record<string, string>>;
  /** The database (catalog) name the tables are in. */
  readonly database: string;
}

type Json = Record<string, unknown>;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** dbt's unique ids (a snapshot's is `snapshot.<project>.<name>`, though meterflow builds it as a model). */
const ids = (plan: ProjectPlan) => {
  const project = plan.projectName;
  const snapshots = new Set(plan.models.filter((m) => m.resourceType === 'snapshot').map((m) => m.name));
  const unitTests = new Map(plan.singularTests.flatMap((t) => (t.unit ? [[t.name, t.unit.model] as const] : [])));
  return {
    model: (name: string) => `${snapshots.has(name) ? 'snapshot' : 'model'}.${project}.${name}`,
    seed: (name: string) => `seed.${project}.${name}`,
    source: (source: SourceTable) => `source.${project}.${source.sourceName}.${source.name}`,
    test: (name: string) => (unitTests.has(name) ? `unit_test.${project}.${unitTests.get(name)}.${name}` : `test.${project}.${name}`),
  };
};

/** A file's path under its model or seed path, as dbt's `path` gives it. */
const underSearchPath = (file: string) => file.split('/').slice(1).join('/') || file;

function columnsOf(columns: readonly { name: string; description?: string; dataType?: string }[]): Json {
  return Object.fromEntries(
    columns.map((column) => [
      column.name,
      {
        name: column.name,
        description: column.description ?? '',
        meta: {},
        data_type: column.dataType ?? null,
        constraints: [],
        quote: null,
        tags: [],
      },
    ]),
  );
}

function common(input: ArtifactsInput, kind: string, uniqueId: string, name: string, file: string): Json {
  const { plan } = input;
  return {
    database: input.database,
    schema: 'main',
    name,
    resource_type: kind,
    package_name: plan.projectName,
    path: underSearchPath(file),
    original_file_path: file,
    unique_id: uniqueId,
    fqn: [plan.projectName, ...underSearchPath(file).split('/').slice(0, -1), name],
    alias: name,
    checksum: { name: 'sha256', checksum: input.sqlHashes?.[name] ?? '' },
    tags: [],
    description: '',
    meta: {},
    docs: { show: true, node_color: null },
    unrendered_config: {},
  };
}

/** A model's relation as dbt writes it in its artifacts: `"database"."schema"."alias"`. */
function modelRelationName(input: ArtifactsInput, model: ModelNode): string {
  const table = tableOf(model);
  return `${quote(input.database)}.${quote(table.schema)}.${quote(table.name)}`;
}

function modelNode(input: ArtifactsInput, model: ModelNode): Json {
  const id = ids(input.plan);
  const seeds = new Set(input.plan.sources.filter((s) => s.seed).map((s) => s.name));
  const bySource = new Map(input.plan.sources.map((s) => [s.name, s]));
  const readSources = model.sources.map((name) => bySource.get(name)).filter((s): s is SourceTable => s !== undefined);
  const table = tableOf(model);
  return {
    ...common(input, model.resourceType ?? 'model', id.model(model.name), model.name, model.file),
    schema: table.schema,
    alias: table.name,
    config: {
      enabled: true,
      materialized: model.resourceType ?? model.materialized,
      tags: [...model.tags],
      meta: { meterflow: { runs_on: runsOnOf(model) }, ...(model.period ? { period: model.period } : {}) },
      ...(model.eventTime ? { event_time: model.eventTime } : {}),
    },
    tags: [...model.tags],
    description: model.description ?? '',
    columns: columnsOf(model.columns),
    relation_name: modelRelationName(input, model),
    raw_code: splitBundle(input.templates.get(model.name) ?? '').model,
    language: 'sql',
    refs: [...model.refs, ...readSources.filter((s) => s.seed).map((s) => s.name)].map((name) => ({ name, package: null, version: null })),
    sources: readSources.filter((s) => !s.seed).map((s) => [s.sourceName, s.name]),
    metrics: [],
    depends_on: {
      macros: [],
      nodes: [...model.refs.map(id.model), ...readSources.map((s) => (seeds.has(s.name) ? id.seed(s.name) : id.source(s)))],
    },
  };
}

function seedNode(input: ArtifactsInput, seed: SourceTable): Json {
  const file = seed.seed?.file ?? seed.name;
  return {
    ...common(input, 'seed', ids(input.plan).seed(seed.name), seed.name, file),
    schema: seed.schema,
    config: {
      enabled: true,
      materialized: 'seed',
      delimiter: seed.seed?.delimiter ?? ',',
      ...(seed.seed?.columnTypes ? { column_types: seed.seed.columnTypes } : {}),
    },
    description: seed.description ?? '',
    columns: columnsOf(seed.columns),
    relation_name: `${quote(input.database)}.${quote(seed.schema)}.${quote(seed.name)}`,
    root_path: '',
    depends_on: { macros: [] },
  };
}

function sourceNode(input: ArtifactsInput, source: SourceTable): Json {
  const uniqueId = ids(input.plan).source(source);
  return {
    database: input.database,
    schema: source.schema,
    name: source.name,
    resource_type: 'source',
    package_name: input.plan.projectName,
    path: '',
    original_file_path: '',
    unique_id: uniqueId,
    fqn: [input.plan.projectName, source.sourceName, source.name],
    source_name: source.sourceName,
    source_description: '',
    loader: 'meterflow',
    identifier: source.name,
    description: source.description ?? '',
    columns: columnsOf(source.columns),
    meta: {},
    source_meta: {},
    tags: [],
    config: { enabled: true },
    relation_name: `${quote(input.database)}.${quote(source.schema)}.${quote(source.name)}`,
  };
}

/** A YAML test on a model, seed or source: dbt's test node, its kwargs the test's arguments. */
function testNode(input: ArtifactsInput, test: DataTest, attachedTo: string, file: string, reads: string[]): Json {
  const uniqueId = ids(input.plan).test(test.id);
  return {
    ...common(input, 'test', uniqueId, test.id, file),
    path: `${test.id}.sql`,
    fqn: [input.plan.projectName, test.id],
    checksum: { name: 'none', checksum: '' },
    config: {
      enabled: true,
      materialized: 'test',
      severity: test.severity.toUpperCase(),
      ...(test.where ? { where: test.where } : {}),
      tags: [],
      meta: {},
    },
    language: 'sql',
    refs: [],
    sources: [],
    metrics: [],
    depends_on: { macros: [], nodes: [attachedTo, ...reads] },
    column_name: test.column ?? null,
    attached_node: attachedTo,
    test_metadata: { name: test.kind, kwargs: { ...(test.column ? { column_name: test.column } : {}), ...test.args }, namespace: null },
  };
}

/** manifest.json: the project as dbt's manifest describes it (v12). */
export function dbtManifest(input: ArtifactsInput): Json {
  const { plan } = input;
  const id = ids(plan);
  const nodes: Record<string, Json> = {};
  const sources: Record<string, Json> = {};
  // what a relationships test reads besides what it tests
  const readsOf = (test: DataTest): string[] => {
    const to = relationshipsTarget(test);
    return to ? [plan.models.some((m) => m.name === to) ? id.model(to) : id.seed(to)] : [];
  };
  for (const model of plan.models) {
    nodes[id.model(model.name)] = modelNode(input, model);
    for (const test of model.tests) nodes[id.test(test.id)] = testNode(input, test, id.model(model.name), model.file, readsOf(test));
  }
  for (const source of plan.sources) {
    const owner = source.seed ? id.seed(source.name) : id.source(source);
    if (source.seed) nodes[owner] = seedNode(input, source);
    else sources[owner] = sourceNode(input, source);
    for (const test of source.tests) nodes[id.test(test.id)] = testNode(input, test, owner, source.seed?.file ?? '', readsOf(test));
  }
  // (a source's test run after its model is the source's test above)
  for (const test of plan.singularTests.filter((t) => !t.of && !t.unit)) {
    nodes[id.test(test.name)] = {
      ...common(input, 'test', id.test(test.name), test.name, test.file),
      config: { enabled: true, materialized: 'test', severity: test.severity.toUpperCase(), tags: [], meta: {} },
      language: 'sql',
      refs: test.refs.map((name) => ({ name, package: null, version: null })),
      sources: [],
      metrics: [],
      depends_on: { macros: [], nodes: test.refs.map(id.model) },
    };
  }
  const parentMap: Record<string, string[]> = {};
  const childMap: Record<string, string[]> = {};
  for (const uniqueId of [...Object.keys(nodes), ...Object.keys(sources)]) childMap[uniqueId] = [];
  for (const [uniqueId, node] of Object.entries(nodes)) {
    const parents = ((node.depends_on as { nodes?: string[] }).nodes ?? []).filter((p) => p in childMap);
    parentMap[uniqueId] = parents;
    for (const parent of parents) childMap[parent]?.push(uniqueId);
  }
  for (const uniqueId of Object.keys(sources)) parentMap[uniqueId] = [];
  return {
    metadata: {
      dbt_schema_version: MANIFEST_SCHEMA,
      dbt_version: DBT_VERSION,
      generated_at: input.generatedAt.toISOString(),
      invocation_id: input.workflowId,
      env: {},
      project_name: plan.projectName,
      adapter_type: 'duckdb',
    },
    nodes,
    sources,
    macros: {},
    docs: {},
    exposures: {},
    metrics: {},
    groups: {},
    selectors: {},
    disabled: {},
    parent_map: parentMap,
    child_map: childMap,
    group_map: {},
    saved_queries: {},
    semantic_models: {},
    unit_tests: Object.fromEntries(plan.singularTests.flatMap((t) => (t.unit ? [[id.test(t.name), unitTestNode(input, t)]] : []))),
  };
}

/** A dbt unit test as the manifest lists it: its model, fixtures and expected rows. */
function unitTestNode(input: ArtifactsInput, test: SingularTest): Json {
  const unit = test.unit as NonNullable<SingularTest['unit']>;
  const id = ids(input.plan);
  const rows = (fixture: UnitTestRows) =>
    'sql' in fixture ? { format: 'sql', rows: fixture.sql } : { format: 'dict', rows: fixture.rows };
  return {
    name: test.name,
    resource_type: 'unit_test',
    package_name: input.plan.projectName,
    path: underSearchPath(test.file),
    original_file_path: test.file,
    unique_id: id.test(test.name),
    fqn: [input.plan.projectName, unit.model, test.name],
    description: '',
    schema: tableOf(input.plan.models.find((m) => m.name === unit.model) ?? { name: unit.model }).schema,
    model: unit.model,
    given: unit.given.map((given) => ({ input: unitInputCall(given.input), ...rows(given), fixture: null })),
    expect: { ...rows(unit.expect), fixture: null },
    overrides:
      unit.vars || unit.incremental !== undefined
        ? { vars: unit.vars ?? {}, macros: unit.incremental === undefined ? {} : { is_incremental: unit.incremental }, env_vars: {} }
        : null,
    depends_on: { macros: [], nodes: [id.model(unit.model)] },
    config: { tags: [], meta: {}, enabled: true },
  };
}

/** A node's state as dbt says it of a model or seed. */
function nodeStatus(node: NodeProgress): string {
  switch (node.state) {
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'error';
    case 'unchanged':
      return 'reused';
    default:
      return 'skipped';
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function timing(node: NodeProgress | undefined): { timing: Json[]; execution_time: number } {
  if (node?.startedAt === undefined || node.finishedAt === undefined) return { timing: [], execution_time: 0 };
  return {
    timing: [{ name: 'execute', started_at: iso(node.startedAt), completed_at: iso(node.finishedAt) }],
    execution_time: (node.finishedAt - node.startedAt) / 1000,
  };
}

/** One result of run_results.json, for a node of the run (its timing, rows and message). */
type AddResult = (uniqueId: string, node: NodeProgress | undefined, status: string, extra?: Json) => void;
type NodesById = ReadonlyMap<string, NodeProgress>;

/** What a model built by a run that then failed says: its build succeeded, its table did not change. */
export const BUILT_NOT_PUBLISHED = 'built, but not published: the run failed before publishing, so its table is as it was';

/** The seeds' and models' results (a seed commits as it loads; a model only with the run's publish). */
function nodeResults(input: ArtifactsInput, byId: NodesById, add: AddResult): void {
  const { plan } = input;
  const id = ids(plan);
  for (const source of plan.sources.filter((s) => s.seed)) {
    const node = byId.get(`seed:${source.name}`);
    if (node) add(id.seed(source.name), node, nodeStatus(node));
  }
  const publish = byId.get('publish:run');
  const unpublished = publish !== undefined && publish.state !== 'succeeded';
  for (const model of plan.models) {
    const node = byId.get(`model:${model.name}`) ?? byId.get(`analytics:${model.name}`);
    if (!node) continue;
    // a model whose own tests failed was built: dbt says success of it and fail of its tests
    // (shown failed by runs before 2026-12-08; since, built with a note naming its failed tests)
    const testsFailed =
      (node.state === 'failed' && testsFailedOf(model.name, node.error)) ||
      (node.state === 'succeeded' && BUILT_TESTS_NOTE.test(node.note ?? ''));
    const status = testsFailed ? 'success' : nodeStatus(node);
    add(id.model(model.name), node, status, {
      relation_name: modelRelationName(input, model),
      ...(testsFailed ? { message: BUILT_TESTS_FAILED } : status === 'success' && unpublished ? { message: BUILT_NOT_PUBLISHED } : {}),
    });
  }
}

/** What a model whose tests failed says: built, tested, and its table left as it was. */
export const BUILT_TESTS_FAILED = 'built, but its tests failed, so it was not published: its table is as it was';

/** A model node's note when its build succeeded and its tests failed (workflows/run-state.ts). */
const BUILT_TESTS_NOTE = /^built; test:\S+ failed, so it was not published$/;

/** Whether a model node's error is its own data tests' failure (`data tests of m [for 2024-01] failed: …`). */
const testsFailedOf = (model: string, error: string | undefined) =>
  error !== undefined && error.startsWith(`data tests of ${model} `) && /^data tests of \S+( for [^:]+)? failed/.test(error);

/** The results of the tests that ran (once each): the ids of those tests. */
function testsRun(input: ArtifactsInput, byId: NodesById, add: AddResult): Set<string> {
  const { plan } = input;
  const id = ids(plan);
  const known = new Set([...plan.models.flatMap((m) => m.tests), ...plan.sources.flatMap((s) => s.tests)].map((t) => t.id));
  const ran = new Set<string>();
  for (const outcome of input.dataTests) {
    const singular = plan.singularTests.some((t) => t.name === outcome.test);
    if ((!known.has(outcome.test) && !singular) || ran.has(outcome.test)) continue;
    ran.add(outcome.test);
    const node = byId.get(`test:${singular ? outcome.test : outcome.target}`) ?? byId.get(`seed:${outcome.target}`);
    add(id.test(outcome.test), node, outcome.status, { failures: outcome.failures, message: null });
  }
  return ran;
}

/** The tests of the run's nodes that did not run: their model was up to date, or the run stopped first. */
function testsNotRun(input: ArtifactsInput, byId: NodesById, ran: ReadonlySet<string>, add: AddResult): void {
  const { plan } = input;
  const id = ids(plan);
  for (const model of plan.models) {
    const node = byId.get(`test:${model.name}`);
    if (!node) continue;
    for (const test of model.tests.filter((t) => !ran.has(t.id))) {
      add(id.test(test.id), node, 'skipped', { message: node.state === 'unchanged' ? 'model unchanged: not run again' : null });
    }
  }
  // a source's test run after its model
  for (const test of plan.singularTests.filter((t) => t.of && !ran.has(t.name))) {
    const node = byId.get(`test:${test.name}`);
    if (node)
      add(id.test(test.name), node, 'skipped', { message: node.state === 'unchanged' ? 'its inputs are unchanged: not run again' : null });
  }
  // a source's and a seed's tests are checked as their files load: an error one refuses the file,
  // a warn one keeps or sets aside its failing rows (the seed's note says so); unchanged files are not checked again
  for (const source of plan.sources) {
    const node = byId.get(`seed:${source.name}`);
    if (!node) continue;
    const afterModels = new Set(source.afterModels ?? []);
    for (const test of source.tests.filter((t) => !ran.has(t.id) && !afterModels.has(t.id))) {
      const said = seedTestSaid(node, test.id);
      const status = node.state === 'succeeded' ? (said ? 'warn' : 'pass') : node.state === 'failed' && said ? 'fail' : 'skipped';
      add(id.test(test.id), node, status, {
        message: node.state === 'unchanged' ? 'no new file: not checked again' : null,
        failures: said?.failures ?? (status === 'pass' ? 0 : null),
      });
    }
  }
}

/**
 * What a seed node says of one of its tests: a refusal's `(data test <id>: N failures)`, or its
 * note's `N rows fail <id> (warn: kept)` or `N rows set aside by <id>`; nothing where it names none.
 */
function seedTestSaid(node: NodeProgress, testId: string): { failures: number } | undefined {
  const id = escapeRegExp(testId);
  const said =
    new RegExp(`\\(data test ${id}: (\\d+) failures?\\)`).exec(node.error ?? '') ??
    new RegExp(`(\\d+) rows? (?:fail ${id} \\(warn|set aside by ${id}(?![\\w]))`).exec(node.note ?? '');
  return said ? { failures: Number(said[1]) } : undefined;
}

/** run_results.json: one result per model, seed and test of the run (v6). */
export function dbtRunResults(input: ArtifactsInput): Json {
  const byId = new Map(input.nodes.map((node) => [node.id, node]));
  const results: Json[] = [];
  const add: AddResult = (uniqueId, node, status, extra = {}) =>
    results.push({
      status,
      ...timing(node),
      thread_id: 'meterflow',
      adapter_response: node?.rows !== undefined && node.rows !== null ? { rows_affected: node.rows } : {},
      message: node?.error ?? node?.note ?? null,
      failures: null,
      unique_id: uniqueId,
      compiled: null,
      compiled_code: null,
      relation_name: null,
      ...extra,
    });
  nodeResults(input, byId, add);
  const ran = testsRun(input, byId, add);
  testsNotRun(input, byId, ran, add);
  const started = input.startedAt ? Date.parse(input.startedAt) : undefined;
  return {
    metadata: {
      dbt_schema_version: RUN_RESULTS_SCHEMA,
      dbt_version: DBT_VERSION,
      generated_at: input.generatedAt.toISOString(),
      invocation_id: input.workflowId,
      ...(input.startedAt ? { invocation_started_at: input.startedAt } : {}),
      env: {},
    },
    results,
    elapsed_time: started === undefined ? 0 : (input.generatedAt.getTime() - started) / 1000,
    args: { which: 'build', invocation_command: `meterflow run (${input.workflowId})` },
  };
}

// The files of a dbt project as they are read, before any model: dbt_project.yml (its Jinja rendered,
// its vars, folders and config blocks), the properties YAML under every resource path (sources, and
// the entries of models, seeds, snapshots and unit tests) and the seeds' CSV files. load.ts makes the
// project's plan of them.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseEventTimeWindow } from './event-window';
import { ProjectError } from '../errors';
import { readBelow } from './skipped-folders';
import { parseDbtYaml, parseDbtYamlKeepingFloats } from './dbt-yaml';
import { parseFreshness, parseTests, relationshipsTarget, type TestNames } from './data-tests';
import { modelTable, type NamingMacros } from './model-table';
import { fqnOf, mergeConfig, projectConfigFor, type NodeConfig } from './model-config';
import { describedWithDocs, loadDocBlocks } from './doc-blocks';
import { type UnitTestEntry } from './unit-tests';
import { renderProjectYaml, type ProjectYamlReads } from './project-yaml';
import { refuseHooks } from './unsupported';
import { TARGET_NAME_VAR, type ColumnDoc, type DataTest, type SourceTable } from './types';

/** A plain SQL name: a model's, a source's, a project's. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface PropertyColumn {
  name: string;
  /** dbt's `quote: true`: the column's name is quoted where its tests name it ("order id"). */
  quote?: unknown;
  description?: string;
  data_type?: string;
  constraints?: unknown;
  data_tests?: unknown;
  tests?: unknown;
}

export interface PropertyModel {
  name?: string;
  description?: string;
  config?: Record<string, unknown>;
  columns?: PropertyColumn[];
  constraints?: unknown;
  data_tests?: unknown;
  tests?: unknown;
  file?: string;
  /** A snapshot defined in YAML (dbt 1.9): the relation it copies, `ref('x')` or `source('s', 't')`. */
  relation?: string;
}

export interface PropertySource {
  name?: string;
  schema?: string;
  tables?: {
    name?: string;
    description?: string;
    meta?: { location?: string; event_time_window?: unknown };
    config?: { event_time?: string };
    columns?: PropertyColumn[];
    freshness?: unknown;
    loaded_at_field?: unknown;
  }[];
  freshness?: unknown;
  loaded_at_field?: unknown;
}

export async function readYaml(file: string, projectDir: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8');
  try {
    const parsed: unknown = parseDbtYaml(text);
    return (parsed ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new ProjectError(`${path.relative(projectDir, file)}: invalid YAML: ${(err as Error).message}`, file);
  }
}

/**
 * Every file under a folder, sorted; a folder that does not exist has none (dbt's folders are
 * optional). Hidden files and folders, and tools' folders, are left out, as the project's
 * fingerprint leaves them out (skipped-folders.ts): a file read is a file counted.
 */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => readBelow(dir, file))
    .sort();
}

/** A column as its tests name it: quoted where its properties say `quote: true`, as dbt passes it to a test. */
export const testedColumn = (column: PropertyColumn): string =>
  column.quote === true ? `"${String(column.name).replace(/"/g, '""')}"` : column.name;

export function columnDocs(columns: PropertyModel['columns']): ColumnDoc[] {
  return (columns ?? []).map((column) => ({
    name: column.name,
    ...(column.data_type ? { dataType: column.data_type } : {}),
    ...(column.description ? { description: column.description } : {}),
  }));
}

/** A list of folders from dbt_project.yml (`model-paths`, `seed-paths`…), or its default. */
export function pathsOf(project: Record<string, unknown>, key: string, fallback: string): string[] {
  const value = project[key];
  if (value === undefined || value === null) return [fallback];
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) {
    throw new ProjectError(`dbt_project.yml: ${key} must be a list of folders`, 'dbt_project.yml');
  }
  return value as string[];
}

/**
 * A source's own location must be a URI of its own (absolute path, file:// or s3://), never a
 * relative path that could climb out of the folder the project was given.
 */
export function checkLocation(location: string, file: string, source: string): void {
  const absolute = location.startsWith('s3://') || location.startsWith('file://') || path.isAbsolute(location);
  if (!absolute || location.split(/[\\/]/).includes('..')) {
    throw new ProjectError(
      `${file}: meta.location of source ${source} must be an absolute path, file:// or s3:// URI without '..', not '${location}'`,
      file,
    );
  }
}

/** Two tests of one kind on one model (two expressions, say) get _2, _3… so every id is unique. */
export function uniqueIds(tests: DataTest[]): DataTest[] {
  const seen = new Map<string, number>();
  return tests.map((test) => {
    const count = (seen.get(test.id) ?? 0) + 1;
    seen.set(test.id, count);
    return count === 1 ? test : { ...test, id: `${test.id}_${count}` };
  });
}

/** dbt's `event_time` config: a column name, used in SQL, so a plain identifier. */
export function eventTimeColumn(value: unknown, file: string, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new ProjectError(`${file}: event_time of '${name}' must be a column name`, file);
  }
  return value;
}

/** How a dbt seed is found among the sources, by the name models ref() it by. */
export const seedKey = (name: string) => `ref:${name}`;

/**
 * dbt_project.yml's vars as the project's models see them: the global ones, with those under the
 * project's own name (`vars: {my_project: {x: 1}}`, dbt's vars scoped to a project) over them.
 */
export function projectVars(vars: unknown, name: string): Record<string, unknown> {
  if (!isPlainObject(vars)) return {};
  const { [name]: scoped, ...global } = vars;
  return isPlainObject(scoped) ? { ...global, ...scoped } : { ...vars };
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** dbt_project.yml, read: the project's name, vars, folders and config blocks. */
export interface ProjectFile {
  readonly dir: string;
  readonly file: string;
  readonly name: string;
  readonly vars: Record<string, unknown>;
  readonly modelPaths: readonly string[];
  readonly macroPaths: readonly string[];
  readonly testPaths: readonly string[];
  readonly seedPaths: readonly string[];
  readonly snapshotPaths: readonly string[];
  /** dbt_project.yml's `models:` and `seeds:` blocks, resolved per node by model-config.ts. */
  readonly modelsBlock: unknown;
  readonly seedsBlock: unknown;
  /** The file as read, its Jinja rendered (project-yaml.ts). */
  readonly raw: Record<string, unknown>;
  /** The vars and environment variables that rendering read. */
  readonly reads: ProjectYamlReads;
}

export async function readProjectFile(dir: string, runVars: Readonly<Record<string, unknown>> = {}): Promise<ProjectFile> {
  const file = path.join(dir, 'dbt_project.yml');
  const { raw, reads } = renderProjectYaml(
    await readYaml(file, dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new ProjectError(`no dbt_project.yml in ${dir}`, file);
      throw err;
    }),
    runVars,
  );
  const name = String(raw.name ?? 'meterflow');
  if (!IDENTIFIER.test(name)) throw new ProjectError(`dbt_project.yml: name '${name}' is not a valid project name`, file);
  return {
    dir,
    file,
    name,
    // (read again keeping whole floats floats: `rate: 1.0` prints 1.0 in a template)
    vars: {
      ...projectVars((parseDbtYamlKeepingFloats(await readFile(file, 'utf8')) as { vars?: unknown } | null)?.vars, name),
      // the run's target name: the project's templates read it as target.name wherever they render
      ...(typeof runVars[TARGET_NAME_VAR] === 'string' ? { [TARGET_NAME_VAR]: runVars[TARGET_NAME_VAR] } : {}),
    },
    modelPaths: pathsOf(raw, 'model-paths', 'models'),
    macroPaths: pathsOf(raw, 'macro-paths', 'macros'),
    testPaths: pathsOf(raw, 'test-paths', 'tests'),
    seedPaths: pathsOf(raw, 'seed-paths', 'seeds'),
    snapshotPaths: pathsOf(raw, 'snapshot-paths', 'snapshots'),
    modelsBlock: raw.models,
    seedsBlock: raw.seeds,
    raw,
    reads,
  };
}

/**
 * The Markdown files dbt reads docs blocks from: under `docs-paths`, else under every resource path
 * (models, seeds, macros, tests, snapshots, analyses), each once.
 */
export async function docFiles(project: ProjectFile): Promise<string[]> {
  const folders =
    project.raw['docs-paths'] !== undefined
      ? pathsOf(project.raw, 'docs-paths', 'docs')
      : [
          ...project.modelPaths,
          ...project.seedPaths,
          ...project.macroPaths,
          ...project.testPaths,
          ...project.snapshotPaths,
          ...pathsOf(project.raw, 'analysis-paths', 'analyses'),
        ];
  const files = new Set<string>();
  for (const folder of new Set(folders)) {
    for (const file of await listFiles(path.join(project.dir, folder)))
      if (file.endsWith('.md')) files.add(path.relative(project.dir, file));
  }
  return [...files].sort();
}

/** The property files' content: declared sources, and each model's (and seed's) properties. */
export interface Properties {
  readonly sources: SourceTable[];
  /** The YAML file each source table is declared in, by name. */
  readonly sourceFiles: Map<string, string>;
  /** Sources that are a seed's table (`ecom.raw_customers`), read as that seed: the seed's name by `source.table`. */
  readonly seedSources: ReadonlyMap<string, string>;
  readonly models: Map<string, PropertyModel>;
  readonly seeds: Map<string, PropertyModel>;
  readonly snapshots: Map<string, PropertyModel>;
  /** Singular tests' properties (`data_tests:` entries by name: their config and description). */
  readonly singularTests: Map<string, PropertyModel>;
  /** `unit_tests:` entries, each with its file. */
  readonly unitTests: UnitTestEntry[];
  /** What dbt's selectors read of each seed (by name) and source table (by `source:<source>.<table>`). */
  readonly selectable: Map<string, SelectableFacts>;
}

/** A seed's or source table's fqn and config (its tags among them), as dbt's selectors read them. */
export interface SelectableFacts {
  readonly fqn: readonly string[];
  readonly config: NodeConfig;
}

/** A file's path under the first of the search paths holding it (as dbt's fqn is taken), else the path itself. */
function underSearchPaths(searchPaths: readonly string[], relativeFile: string): string {
  const root = searchPaths.find((dir) => !path.relative(dir, relativeFile).startsWith('..'));
  return root === undefined ? relativeFile : path.relative(root, relativeFile);
}

/**
 * Each source table one property file declares, with its fqn (the project, the file's folders under
 * its model path, the source, the table) and config: dbt_project.yml's `sources:` block, then the
 * source's, then the table's; `tags` add up and `meta` merges, as dbt resolves them.
 */
function sourceSelectables(project: ProjectFile, yaml: Record<string, unknown>, relativeFile: string): [string, SelectableFacts][] {
  type Level = { name?: unknown; tags?: unknown; meta?: unknown; config?: NodeConfig };
  const folders = underSearchPaths(project.modelPaths, relativeFile).split(/[\\/]/).slice(0, -1);
  const own = (level: Level): NodeConfig => mergeConfig({ tags: level.tags, meta: level.meta }, level.config);
  return ((yaml.sources ?? []) as (Level & { tables?: Level[] })[]).flatMap((source) =>
    (source.tables ?? []).map((table): [string, SelectableFacts] => {
      const fqn = [project.name, ...folders, String(source.name), String(table.name)];
      // (dbt_project.yml's tags and meta do not reach a source's: its YAML's alone are its tags)
      const { tags: _tags, meta: _meta, ...project_ } = projectConfigFor(project.raw.sources, fqn);
      const config = [own(source), own(table)].reduce(mergeConfig, {});
      return [
        `source:${String(source.name)}.${String(table.name)}`,
        { fqn, config: { enabled: true, tags: [], meta: {}, ...project_, ...config } },
      ];
    }),
  );
}

/** The source tables one property file declares. */
export function sourcesIn(yaml: Record<string, unknown>, relativeFile: string, tests: TestNames): SourceTable[] {
  const sources: SourceTable[] = [];
  for (const source of (yaml.sources ?? []) as PropertySource[]) {
    const sourceName = String(source.name ?? '');
    for (const table of source.tables ?? []) {
      const name = String(table.name ?? '');
      if (!IDENTIFIER.test(name) || !IDENTIFIER.test(sourceName)) {
        throw new ProjectError(`${relativeFile}: source '${sourceName}.${name}' is not a valid identifier`, relativeFile);
      }
      const location = table.meta?.location;
      if (location !== undefined) checkLocation(location, relativeFile, name);
      const freshness = parseFreshness(
        table.freshness ?? source.freshness,
        table.loaded_at_field ?? source.loaded_at_field,
        relativeFile,
        name,
      );
      const eventTime = eventTimeColumn(table.config?.event_time, relativeFile, name);
      const eventTimeWindow = parseEventTimeWindow(table.meta?.event_time_window, eventTime, `${relativeFile}: source ${name}`);
      sources.push({
        name,
        sourceName,
        schema: source.schema ?? sourceName,
        ...(table.description ? { description: table.description } : {}),
        columns: columnDocs(table.columns),
        ...(location ? { location } : {}),
        // two ranges on one column (a warn floor, an error ceiling) get _2, so every id is unique
        tests: uniqueIds(
          (table.columns ?? []).flatMap((column) =>
            parseTests(column.data_tests ?? column.tests, name, relativeFile, testedColumn(column), tests),
          ),
        ),
        ...(freshness ? { freshness } : {}),
        ...(eventTime ? { eventTime } : {}),
        ...(eventTimeWindow ? { eventTimeWindow } : {}),
      });
    }
  }
  return sources;
}

/** The folders dbt reads properties YAML under: every resource path (analyses', macros' and tests' too). */
function propertyFolders(project: ProjectFile): string[] {
  const analysisPaths = pathsOf(project.raw, 'analysis-paths', 'analyses');
  const all = [...project.modelPaths, ...project.seedPaths, ...project.snapshotPaths, ...analysisPaths, ...project.macroPaths];
  return [...new Set([...all, ...project.testPaths])];
}

/** One YAML file's entries of models, seeds and snapshots, and its unit tests, added to `properties`. */
function addEntries(properties: Properties, yaml: Record<string, unknown>, relativeFile: string): void {
  for (const entry of Array.isArray(yaml.unit_tests) ? yaml.unit_tests : []) properties.unitTests.push({ ...entry, file: relativeFile });
  for (const [kind, entries] of [
    ['models', properties.models],
    ['seeds', properties.seeds],
    ['snapshots', properties.snapshots],
    ['data_tests', properties.singularTests],
  ] as const) {
    for (const entry of (yaml[kind] ?? []) as PropertyModel[]) {
      if (!entry.name) continue;
      const other = entries.get(entry.name);
      if (other) {
        // as dbt refuses it: which entry's tests and config hold is not for meterflow to guess
        throw new ProjectError(
          `${relativeFile}: ${kind.slice(0, -1)} '${entry.name}' has properties in ${other.file} too: give it one entry`,
          relativeFile,
        );
      }
      entries.set(entry.name, { ...entry, file: relativeFile });
    }
  }
}

/** What keeps a source from being read as a seed's table: what it would check or load on its own. */
function ownSourceWork(source: SourceTable): string | undefined {
  if (source.tests.length > 0) return 'tests';
  if (source.freshness) return 'a freshness check';
  if (source.location) return 'meta.location';
  if (source.eventTime) return 'an event_time';
  return undefined;
}

/**
 * Sources that name a seed's table (jaffle-shop's `ecom.raw_customers`, loaded by its seed into
 * `raw.raw_customers`), read as that seed, as dbt reads the one relation: each `source.table` key with
 * its seed's name, and the other sources. Two tables of one name otherwise are refused: meterflow keeps
 * one table of a name.
 */
function seedsReadAsSources(sources: readonly SourceTable[]): { sources: SourceTable[]; seedSources: Map<string, string> } {
  const seeds = new Map(sources.filter((s) => s.seed).map((s) => [s.name, s]));
  const seedSources = new Map<string, string>();
  const names = new Map<string, string>();
  const kept: SourceTable[] = [];
  for (const source of sources) {
    const seed = source.seed ? undefined : seeds.get(source.name);
    const key = `${source.sourceName}.${source.name}`;
    if (seed && seed.schema === source.schema && ownSourceWork(source) === undefined) {
      seedSources.set(key, seed.name);
      continue;
    }
    const other = names.get(source.name);
    if (other || seed) {
      const why = !seed
        ? ''
        : seed.schema !== source.schema
          ? `: the seed's table is ${seed.schema}.${seed.name}, the source's ${source.schema}.${source.name}`
          : `: the source is the seed's table, but has ${ownSourceWork(source)} of its own (give them to the seed)`;
      throw new ProjectError(
        `two source tables named '${source.name}' (${other ?? `seed ${seed?.name}`} and ${key})${why}: meterflow keeps one table of a name`,
        seed?.seed?.file,
      );
    }
    names.set(source.name, key);
    kept.push(source);
  }
  return { sources: kept, seedSources };
}

/** Every properties file (.yml/.yaml) under the resource paths, read, and the seeds. */
export async function readProperties(project: ProjectFile, tests: TestNames, naming: NamingMacros): Promise<Properties> {
  const properties: Properties = {
    sources: [],
    sourceFiles: new Map(),
    seedSources: new Map(),
    models: new Map(),
    seeds: new Map(),
    snapshots: new Map(),
    singularTests: new Map(),
    unitTests: [],
    selectable: new Map(),
  };
  const docs = await loadDocBlocks(project.dir, await docFiles(project));
  for (const folder of propertyFolders(project)) {
    for (const file of await listFiles(path.join(project.dir, folder))) {
      if (!file.endsWith('.yml') && !file.endsWith('.yaml')) continue;
      const relativeFile = path.relative(project.dir, file);
      const yaml = describedWithDocs(await readYaml(file, project.dir), docs, relativeFile);
      const declared = sourcesIn(yaml, relativeFile, tests);
      properties.sources.push(...declared);
      for (const source of declared) properties.sourceFiles.set(source.name, relativeFile);
      for (const [key, facts] of sourceSelectables(project, yaml, relativeFile)) properties.selectable.set(key, facts);
      addEntries(properties, yaml, relativeFile);
    }
  }
  properties.sources.push(...(await loadSeeds(project, properties, tests, naming)));
  const { sources, seedSources } = seedsReadAsSources(properties.sources);
  return { ...properties, sources, seedSources };
}

/**
 * dbt seeds: every CSV file under seed-paths, a table of the models' schema (or `main_<schema>` with
 * dbt's `+schema`) named after the file, with its YAML tests checked as it is loaded.
 */
export async function loadSeeds(
  project: ProjectFile,
  properties: Properties,
  testNames: TestNames,
  naming: NamingMacros,
): Promise<SourceTable[]> {
  const seeds: SourceTable[] = [];
  for (const seedPath of project.seedPaths) {
    const root = path.join(project.dir, seedPath);
    for (const file of (await listFiles(root)).filter((f) => f.endsWith('.csv'))) {
      const relative = path.relative(project.dir, file);
      const name = path.basename(file, '.csv');
      if (!IDENTIFIER.test(name)) throw new ProjectError(`${relative}: '${name}' is not a valid seed name`, relative);
      const property = properties.seeds.get(name);
      const fqn = fqnOf(project.name, path.relative(root, file), name);
      const config = mergeConfig(projectConfigFor(project.seedsBlock, fqn), property?.config);
      if (config.enabled === false) continue;
      refuseHooks(config, relative, name);
      const columnTypes = config.column_types;
      if (columnTypes !== undefined && (typeof columnTypes !== 'object' || columnTypes === null || Array.isArray(columnTypes))) {
        throw new ProjectError(`${relative}: column_types of seed '${name}' must be a mapping of column to type`, relative);
      }
      const delimiter = String(config.delimiter ?? ',');
      if (delimiter.length !== 1) throw new ProjectError(`${relative}: delimiter of seed '${name}' must be one character`, relative);
      if (config.alias !== undefined && config.alias !== null) {
        throw new ProjectError(
          `${relative}: the alias config of seed '${name}' is not applied by meterflow: a seed's table is named after its file`,
          relative,
        );
      }
      // its schema as a model's: main, main_<schema>, or the project's generate_schema_name
      const table = modelTable(config, { name, fqn, relative, resourceType: 'seed' }, naming);
      const schema = table?.schema ?? 'main';
      if (table !== undefined && table.name !== name) {
        throw new ProjectError(
          `${relative}: the project's generate_alias_name (${naming.alias?.file}) names seed '${name}' '${table.name}', which meterflow ` +
            "does not apply: a seed's table is named after its file; leave seeds their names there (node.resource_type == 'seed')",
          relative,
        );
      }
      const { tests: seedTests } = modelTests(property, name, relative, testNames);
      properties.selectable.set(name, { fqn, config: { enabled: true, tags: [], meta: {}, ...config, materialized: 'seed' } });
      seeds.push({
        name,
        sourceName: '',
        schema,
        ...(property?.description ? { description: property.description.trim() } : {}),
        columns: columnDocs(property?.columns),
        location: pathToFileURL(file).href,
        tests: seedTests,
        seed: {
          file: relative,
          delimiter,
          ...(columnTypes ? { columnTypes: Object.fromEntries(Object.entries(columnTypes).map(([k, v]) => [k, String(v)])) } : {}),
        },
      });
    }
  }
  return seeds;
}

/** The models' YAML tests, and the models those tests read besides their own (relationships' `to`). */
export function modelTests(
  property: PropertyModel | undefined,
  name: string,
  relative: string,
  names: TestNames,
): { tests: DataTest[]; testRefs: string[] } {
  if (!property) return { tests: [], testRefs: [] };
  const file = property.file ?? relative;
  const tests = uniqueIds([
    ...parseTests(property.data_tests ?? property.tests, name, file, undefined, names),
    ...(property.columns ?? []).flatMap((column) => parseTests(column.data_tests ?? column.tests, name, file, testedColumn(column), names)),
  ]);
  const testRefs = tests.flatMap((test) => {
    const to = relationshipsTarget(test);
    return to && to !== name ? [to] : [];
  });
  return { tests, testRefs: [...new Set(testRefs)] };
}

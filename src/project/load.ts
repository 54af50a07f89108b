// Loads a dbt project folder: dbt_project.yml, the YAML property files (sources, models) and the
// SQL models, and turns it into a ProjectPlan whose models are in build order.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { parseEventTimeWindow } from './event-window';
import { ProjectError } from '../errors';
import { topologicalOrder } from './dag';
import { parseFreshness, parseTests } from './data-tests';
import { bundleTemplate } from './macro-bundle';
import { loadMacros, macrosUsedBy, type MacroFile } from './macros';
import { renderModel, type RelationResolver } from './render';
import { ANALYTICS_PERIODS } from './types';
import type {
  AnalyticsPeriod,
  ColumnDoc,
  DataTest,
  Materialization,
  ModelLayer,
  ModelNode,
  ProjectPlan,
  SingularTest,
  SourceTable,
} from './types';

const LAYERS: readonly ModelLayer[] = ['staging', 'master', 'analytics'];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A loaded project: the plan plus the SQL templates, which stay on the workers. */
export interface LoadedProject {
  readonly dir: string;
  readonly plan: ProjectPlan;
  /** Each model's (and `test:<name>`'s) template, bundled with the macro files it uses. */
  readonly templates: ReadonlyMap<string, string>;
  readonly macros: readonly MacroFile[];
}

interface PropertyColumn {
  name: string;
  description?: string;
  data_type?: string;
  data_tests?: unknown;
  tests?: unknown;
}

interface PropertyModel {
  name?: string;
  description?: string;
  config?: { tags?: string[] | string; materialized?: string; event_time?: string; meta?: unknown };
  columns?: PropertyColumn[];
  data_tests?: unknown;
  tests?: unknown;
  file?: string;
}

interface PropertySource {
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

async function readYaml(file: string, projectDir: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8');
  try {
    const parsed: unknown = YAML.parse(text);
    return (parsed ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new ProjectError(`${path.relative(projectDir, file)}: invalid YAML: ${(err as Error).message}`, file);
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

function columnDocs(columns: PropertyModel['columns']): ColumnDoc[] {
  return (columns ?? []).map((column) => ({
    name: column.name,
    ...(column.data_type ? { dataType: column.data_type } : {}),
    ...(column.description ? { description: column.description } : {}),
  }));
}

function asTags(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((tag): tag is string => typeof tag === 'string') : [];
}

/**
 * A source's own location must be a URI of its own (absolute path, file:// or s3://), never a
 * relative path that could climb out of the folder the project was given.
 */
function checkLocation(location: string, file: string, source: string): void {
  const absolute = location.startsWith('s3://') || location.startsWith('file://') || path.isAbsolute(location);
  if (!absolute || location.split(/[\\/]/).includes('..')) {
    throw new ProjectError(
      `${file}: meta.location of source ${source} must be an absolute path, file:// or s3:// URI without '..', not '${location}'`,
      file,
    );
  }
}

/** Two tests of one kind on one model (two expressions, say) get _2, _3… so every id is unique. */
function uniqueIds(tests: DataTest[]): DataTest[] {
  const seen = new Map<string, number>();
  return tests.map((test) => {
    const count = (seen.get(test.id) ?? 0) + 1;
    seen.set(test.id, count);
    return count === 1 ? test : { ...test, id: `${test.id}_${count}` };
  });
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
function analyticsPeriod(
  meta: unknown,
  model: { layer: ModelLayer; materialized: string; eventTime?: string },
  file: string,
  name: string,
) {
  const period = (meta as { period?: unknown } | undefined)?.period;
  if (period === undefined || period === null) return undefined;
  if (typeof period !== 'string' || !(ANALYTICS_PERIODS as readonly string[]).includes(period)) {
    throw new ProjectError(`${file}: meta.period of '${name}' must be one of ${ANALYTICS_PERIODS.join(', ')}`, file);
  }
  if (model.layer !== 'analytics' || model.materialized !== 'incremental' || !model.eventTime) {
    throw new ProjectError(
      `${file}: meta.period of '${name}' needs an incremental analytics model whose event_time is the period's start`,
      file,
    );
  }
  return period as AnalyticsPeriod;
}

/** dbt's `event_time` config: a column name, used in SQL, so a plain identifier. */
function eventTimeColumn(value: unknown, file: string, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new ProjectError(`${file}: event_time of '${name}' must be a column name`, file);
  }
  return value;
}

/** Load and validate a models project. Errors name the file at fault. */
export async function loadProject(projectDir: string): Promise<LoadedProject> {
  const dir = path.resolve(projectDir);
  const projectFile = path.join(dir, 'dbt_project.yml');
  const project = await readYaml(projectFile, dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new ProjectError(`no dbt_project.yml in ${dir}`, projectFile);
    throw err;
  });
  const projectName = String(project.name ?? 'meterflow');
  const vars = (project.vars ?? {}) as Record<string, unknown>;
  const modelPaths = (project['model-paths'] as string[] | undefined) ?? ['models'];
  const macros = await loadMacros(dir, (project['macro-paths'] as string[] | undefined) ?? ['macros'], 'macro-paths' in project);
  const defaultMaterialized =
    ((project.models as Record<string, Record<string, unknown>> | undefined)?.[projectName]?.['+materialized'] as
      Materialization | undefined) ?? 'view';

  const sources: SourceTable[] = [];
  const properties = new Map<string, PropertyModel>();
  const sqlFiles: { file: string; layer: ModelLayer }[] = [];

  for (const modelPath of modelPaths) {
    const layer = path.basename(modelPath) as ModelLayer;
    if (!LAYERS.includes(layer)) {
      throw new ProjectError(`dbt_project.yml: model path '${modelPath}' is not one of ${LAYERS.join(', ')}`, projectFile);
    }
    const files = await listFiles(path.join(dir, modelPath)).catch(() => {
      throw new ProjectError(`dbt_project.yml: model path '${modelPath}' does not exist`, projectFile);
    });
    for (const file of files) {
      if (file.endsWith('.sql')) sqlFiles.push({ file, layer });
      if (!file.endsWith('.yml') && !file.endsWith('.yaml')) continue;
      const yaml = await readYaml(file, dir);
      for (const source of (yaml.sources ?? []) as PropertySource[]) {
        const sourceName = String(source.name ?? '');
        for (const table of source.tables ?? []) {
          const name = String(table.name ?? '');
          if (!IDENTIFIER.test(name) || !IDENTIFIER.test(sourceName)) {
            throw new ProjectError(`${path.relative(dir, file)}: source '${sourceName}.${name}' is not a valid identifier`, file);
          }
          const relativeFile = path.relative(dir, file);
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
              (table.columns ?? []).flatMap((column) => parseTests(column.data_tests ?? column.tests, name, relativeFile, column.name)),
            ),
            ...(freshness ? { freshness } : {}),
            ...(eventTime ? { eventTime } : {}),
            ...(eventTimeWindow ? { eventTimeWindow } : {}),
          });
        }
      }
      for (const model of (yaml.models ?? []) as PropertyModel[]) {
        if (model.name) properties.set(model.name, { ...model, file: path.relative(dir, file) });
      }
    }
  }

  const sourceKeys = new Map(sources.map((source) => [`${source.sourceName}.${source.name}`, source]));
  const templates = new Map<string, string>();
  const models: ModelNode[] = [];
  for (const { file, layer } of sqlFiles) {
    const relative = path.relative(dir, file);
    const name = path.basename(file, '.sql');
    if (!IDENTIFIER.test(name)) throw new ProjectError(`${relative}: '${name}' is not a valid model name`, relative);
    if (templates.has(name)) throw new ProjectError(`${relative}: a second model named '${name}'`, relative);
    const template = await readFile(file, 'utf8').then((text) => bundleTemplate(text, macrosUsedBy(text, macros)));
    templates.set(name, template);

    // render once with recording resolvers to discover the model's refs, sources and config
    const { resolver: recorder, refs, used } = recordingResolver(relative, sourceKeys);
    const { config } = renderModel({ file: relative, template, resolver: recorder, vars, self: name });
    const materialized = (config.materialized ?? properties.get(name)?.config?.materialized ?? defaultMaterialized) as string;
    if (materialized !== 'table' && materialized !== 'view' && materialized !== 'incremental') {
      throw new ProjectError(`${relative}: materialized='${materialized}' is not supported (table, view or incremental)`, relative);
    }
    const property = properties.get(name);
    const eventTime = eventTimeColumn(config.event_time ?? property?.config?.event_time, relative, name);
    const period = analyticsPeriod(
      config.meta ?? property?.config?.meta,
      { layer, materialized, ...(eventTime ? { eventTime } : {}) },
      relative,
      name,
    );
    models.push({
      name,
      layer,
      file: relative,
      materialized,
      ...(eventTime ? { eventTime } : {}),
      ...(period ? { period } : {}),
      refs: [...refs],
      sources: [...used],
      tags: [...new Set([...asTags(property?.config?.tags), ...asTags(config.tags)])],
      ...(property?.description ? { description: property.description.trim() } : {}),
      columns: columnDocs(property?.columns),
      tests: uniqueIds(
        property
          ? [
              ...parseTests(property.data_tests ?? property.tests, name, property.file ?? relative),
              ...(property.columns ?? []).flatMap((column) =>
                parseTests(column.data_tests ?? column.tests, name, property.file ?? relative, column.name),
              ),
            ]
          : [],
      ),
    });
  }

  const ordered = topologicalOrder(models);
  const layers = new Map(ordered.map((model) => [model.name, model.layer]));
  for (const model of ordered) {
    // analytics read the master at the snapshot, and other analytics models (per-month partial
    // aggregates that a model merges) as this run computes them
    const allowed: readonly ModelLayer[] = model.layer === 'analytics' ? ['master', 'analytics'] : ['staging', 'master'];
    const misplaced = model.refs.find((ref) => !allowed.includes(layers.get(ref) as ModelLayer));
    if (misplaced) {
      throw new ProjectError(
        `${model.file}: a ${model.layer} model cannot ref the ${layers.get(misplaced)} model '${misplaced}' (it may ref ${allowed.join(' or ')} models)`,
        model.file,
      );
    }
  }
  const singularTests: SingularTest[] = [];
  for (const testPath of (project['test-paths'] as string[] | undefined) ?? ['tests']) {
    const files = await listFiles(path.join(dir, testPath)).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.sql') && !f.split(path.sep).includes('generic'))) {
      const relative = path.relative(dir, file);
      const name = path.basename(file, '.sql');
      if (!IDENTIFIER.test(name)) throw new ProjectError(`${relative}: '${name}' is not a valid test name`, relative);
      const template = await readFile(file, 'utf8').then((text) => bundleTemplate(text, macrosUsedBy(text, macros)));
      templates.set(`test:${name}`, template);
      const { resolver, refs, used } = recordingResolver(relative, sourceKeys, new Set(ordered.map((m) => m.name)));
      const { config } = renderModel({ file: relative, template, vars, self: name, resolver });
      singularTests.push({
        name,
        file: relative,
        refs: [...refs],
        sources: [...used],
        severity: config.severity === 'warn' ? 'warn' : 'error',
      });
    }
  }
  return { dir, plan: { projectName, sources, models: ordered, singularTests, vars }, templates, macros };
}

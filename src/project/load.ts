// Loads a dbt project folder: dbt_project.yml, the YAML property files (sources, models) and the
// SQL models, and turns it into a ProjectPlan whose models are in build order.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { ProjectError } from '../errors';
import { topologicalOrder } from './dag';
import { renderModel, type RelationResolver } from './render';
import type { ColumnDoc, Materialization, ModelLayer, ModelNode, ProjectPlan, SourceTable } from './types';

const LAYERS: readonly ModelLayer[] = ['staging', 'master', 'analytics'];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A loaded project: the plan plus the raw SQL templates, which stay on the workers. */
export interface LoadedProject {
  readonly dir: string;
  readonly plan: ProjectPlan;
  readonly templates: ReadonlyMap<string, string>;
}

interface PropertyModel {
  name?: string;
  description?: string;
  config?: { tags?: string[] | string; materialized?: string };
  columns?: { name: string; description?: string; data_type?: string }[];
}

interface PropertySource {
  name?: string;
  schema?: string;
  tables?: {
    name?: string;
    description?: string;
    meta?: { location?: string };
    columns?: { name: string; description?: string; data_type?: string }[];
  }[];
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
          sources.push({
            name,
            sourceName,
            schema: source.schema ?? sourceName,
            ...(table.description ? { description: table.description } : {}),
            columns: columnDocs(table.columns),
            ...(table.meta?.location ? { location: table.meta.location } : {}),
          });
        }
      }
      for (const model of (yaml.models ?? []) as PropertyModel[]) {
        if (model.name) properties.set(model.name, model);
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
    const template = await readFile(file, 'utf8');
    templates.set(name, template);

    // render once with recording resolvers to discover the model's refs, sources and config
    const refs = new Set<string>();
    const used = new Set<string>();
    const recorder: RelationResolver = {
      ref: (model) => {
        refs.add(model);
        return model;
      },
      source: (sourceName, table) => {
        const source = sourceKeys.get(`${sourceName}.${table}`);
        if (!source)
          throw new ProjectError(`${relative}: source('${sourceName}', '${table}') is not declared in any sources YAML`, relative);
        used.add(source.name);
        return table;
      },
    };
    const { config } = renderModel({ file: relative, template, resolver: recorder, vars, self: name });
    const materialized = (config.materialized ?? properties.get(name)?.config?.materialized ?? defaultMaterialized) as string;
    if (materialized !== 'table' && materialized !== 'view') {
      throw new ProjectError(`${relative}: materialized='${materialized}' is not supported (table or view)`, relative);
    }
    const property = properties.get(name);
    models.push({
      name,
      layer,
      file: relative,
      materialized,
      refs: [...refs],
      sources: [...used],
      tags: [...new Set([...asTags(property?.config?.tags), ...asTags(config.tags)])],
      ...(property?.description ? { description: property.description.trim() } : {}),
      columns: columnDocs(property?.columns),
    });
  }

  const ordered = topologicalOrder(models);
  const layers = new Map(ordered.map((model) => [model.name, model.layer]));
  for (const model of ordered) {
    // analytics run from the published snapshot, which holds the master tables only
    const allowed: readonly ModelLayer[] = model.layer === 'analytics' ? ['master'] : ['staging', 'master'];
    const misplaced = model.refs.find((ref) => !allowed.includes(layers.get(ref) as ModelLayer));
    if (misplaced) {
      throw new ProjectError(
        `${model.file}: a ${model.layer} model cannot ref the ${layers.get(misplaced)} model '${misplaced}' (it may ref ${allowed.join(' or ')} models)`,
        model.file,
      );
    }
  }
  return { dir, plan: { projectName, sources, models: ordered, vars }, templates };
}

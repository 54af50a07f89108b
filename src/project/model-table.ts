// Where a model's table goes, as dbt names it: its schema from dbt's generate_schema_name (the target
// schema `main`, or `main_<schema>` with a schema config) and its name from generate_alias_name (the
// model's name, or its alias config). A project that defines either macro gets its own. A database
// config is refused: a run builds one warehouse.
import { ProjectError } from '../errors';
import path from 'node:path';
import { macrosUsedBy, type MacroFile } from './macros';
import { bundleTemplate } from './macro-bundle';
import type { NodeConfig } from './model-config';
import { renderModel } from './render';
import { DEFAULT_MODEL_SCHEMA, type TableName } from './types';

/** What a project's generate_schema_name and generate_alias_name may read of `target`. */
const TARGET = { schema: DEFAULT_MODEL_SCHEMA, type: 'duckdb' };

/** Which of dbt's two naming macros the project defines (dbt's default for the others), and what they see. */
export interface NamingMacros {
  readonly schema?: MacroFile;
  readonly alias?: MacroFile;
  /** Every macro the project has (its own, its packages', dbt's defaults): a naming macro may call any. */
  readonly macros?: readonly MacroFile[];
  /** The vars they see, as dbt gives them: dbt_project.yml's, the run's over them (the target's name among them). */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** The environment variables they read with env_var() so far: every worker must name tables alike. */
  readonly envRead?: Set<string>;
  /** The vars they read so far: every worker loads the project with the run's values of them. */
  readonly varsRead?: Set<string>;
}

/** The project's naming macros (`own`: its own macro files; a package's are not taken, as in dbt) and what they see. */
export function namingMacros(
  own: readonly MacroFile[],
  { macros = own, vars = {} }: { macros?: readonly MacroFile[]; vars?: Readonly<Record<string, unknown>> } = {},
): NamingMacros {
  const find = (name: string) => own.find((macro) => macro.names.includes(name));
  const schema = find('generate_schema_name');
  const alias = find('generate_alias_name');
  return { ...(schema ? { schema } : {}), ...(alias ? { alias } : {}), macros, vars, envRead: new Set(), varsRead: new Set() };
}

/** The vars a naming macro is called with: its arguments, which are no var a run could set. */
const CUSTOM_VAR = '__meterflow_custom';
const NODE_VAR = '__meterflow_node';

/** One of the project's naming macros called as dbt calls it, with the custom name and the node; its output trimmed. */
function callNamingMacro(
  macro: MacroFile,
  call: string,
  { custom, node, naming }: { custom: string | null; node: object; naming: NamingMacros },
  relative: string,
): string {
  const text = `{{ ${call}(var('${CUSTOM_VAR}'), var('${NODE_VAR}')) }}`;
  // the macro's file, then the files of the macros it calls (not another definition of the same name)
  const helpers = macrosUsedBy(macro.source, naming.macros ?? []).filter((used) => used !== macro && !used.names.includes(call));
  const named = renderModel({
    file: macro.file,
    template: bundleTemplate(text, [macro, ...helpers]),
    resolver: { ref: (m) => m, source: (_s, t) => t },
    vars: { ...naming.vars, [CUSTOM_VAR]: custom, [NODE_VAR]: node },
    self: '',
    target: TARGET,
  });
  for (const name of Object.keys(named.usedEnv)) naming.envRead?.add(name);
  for (const name of Object.keys(named.usedVars)) if (name !== CUSTOM_VAR && name !== NODE_VAR) naming.varsRead?.add(name);
  const trimmed = named.sql.trim();
  if (trimmed === '') throw new ProjectError(`${relative}: the project's ${call} (${macro.file}) gave an empty name`, relative);
  return trimmed;
}

/**
 * dbt's node of a model, seed or snapshot, as its naming macros see it: `path` below its resource
 * path, `original_file_path` below the project, its package, id and tags.
 */
function dbtNodeOf(
  node: { name: string; fqn: readonly string[]; relative: string; resourceType?: string },
  config: NodeConfig,
  customAlias: string | null,
) {
  const resourceType = node.resourceType ?? 'model';
  const packageName = node.fqn[0] ?? '';
  const tags = config.tags;
  return {
    name: node.name,
    alias: customAlias ?? node.name,
    resource_type: resourceType,
    package_name: packageName,
    unique_id: `${resourceType}.${packageName}.${node.name}`,
    fqn: [...node.fqn],
    path: [...node.fqn.slice(1, -1), path.basename(node.relative)].join('/'),
    original_file_path: node.relative,
    tags: Array.isArray(tags) ? [...(tags as unknown[])] : typeof tags === 'string' ? [tags] : [],
    config: { ...config },
  };
}

/** A config's custom name: a non-empty string, else none. */
function customName(value: unknown, key: string, relative: string, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ProjectError(`${relative}: the ${key} config of '${name}' must be a non-empty string`, relative);
  }
  return value.trim();
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Where the model's table goes: undefined for `main.<name>` (every model without a schema or alias
 * config, under dbt's own macros), else its schema and name there.
 */
export function modelTable(
  config: NodeConfig,
  node: {
    readonly name: string;
    readonly fqn: readonly string[];
    readonly relative: string;
    readonly resourceType?: 'model' | 'seed' | 'snapshot';
  },
  naming: NamingMacros,
): TableName | undefined {
  const { name, relative } = node;
  if (config.database !== undefined && config.database !== null) {
    throw new ProjectError(
      `${relative}: '${name}' has database='${String(config.database)}': a meterflow run builds one warehouse, the one it names (--db); ` +
        'remove the config, and run the model against that warehouse',
      relative,
    );
  }
  const customSchema = customName(config.schema, 'schema', relative, name);
  const customAlias = customName(config.alias, 'alias', relative, name);
  const dbtNode = dbtNodeOf(node, config, customAlias);
  const schema = naming.schema
    ? callNamingMacro(naming.schema, 'generate_schema_name', { custom: customSchema, node: dbtNode, naming }, relative)
    : customSchema === null
      ? DEFAULT_MODEL_SCHEMA
      : `${DEFAULT_MODEL_SCHEMA}_${customSchema}`;
  const table = naming.alias
    ? callNamingMacro(naming.alias, 'generate_alias_name', { custom: customAlias, node: dbtNode, naming }, relative)
    : (customAlias ?? name);
  for (const [what, value] of [
    ['schema', schema],
    ['alias', table],
  ] as const) {
    if (!NAME.test(value)) {
      throw new ProjectError(`${relative}: '${name}' would be built under the ${what} '${value}', which is not a plain SQL name`, relative);
    }
  }
  return schema === DEFAULT_MODEL_SCHEMA && table === name ? undefined : { schema, name: table };
}

// Where a model's table goes, as dbt names it: its schema from dbt's generate_schema_name (the target
// schema `main`, or `main_<schema>` with a schema config) and its name from generate_alias_name (the
// model's name, or its alias config). A project that defines either macro gets its own. A database
// config is refused: a run builds one warehouse.
import { ProjectError } from '../errors';
import type { MacroFile } from './macros';
import { bundleTemplate } from './macro-bundle';
import type { NodeConfig } from './model-config';
import { renderModel } from './render';
import { DEFAULT_MODEL_SCHEMA, TARGET_NAME_VAR, type TableName } from './types';

/** What a project's generate_schema_name and generate_alias_name may read of `target`. */
const TARGET = { schema: DEFAULT_MODEL_SCHEMA, type: 'duckdb' };

/** Which of dbt's two naming macros the project defines (dbt's default for the others). */
export interface NamingMacros {
  readonly schema?: MacroFile;
  readonly alias?: MacroFile;
  /** The environment variables they read with env_var() so far: every worker must name tables alike. */
  readonly envRead?: Set<string>;
  /** The run's target name (`target.name`), when the run names one. */
  readonly targetName?: string;
}

export function namingMacros(macros: readonly MacroFile[], targetName?: string): NamingMacros {
  const find = (name: string) => macros.find((macro) => macro.names.includes(name));
  const schema = find('generate_schema_name');
  const alias = find('generate_alias_name');
  const target = targetName === undefined ? {} : { targetName };
  return { ...(schema ? { schema } : {}), ...(alias ? { alias } : {}), envRead: new Set(), ...target };
}

/** A config's custom name: a non-empty string, else none. */
function customName(value: unknown, key: string, relative: string, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ProjectError(`${relative}: the ${key} config of '${name}' must be a non-empty string`, relative);
  }
  return value.trim();
}

/** One of the project's naming macros called as dbt calls it, with the custom name and the node; its output trimmed. */
function callNamingMacro(
  macro: MacroFile,
  call: string,
  { custom, node, naming }: { custom: string | null; node: object; naming: NamingMacros },
  relative: string,
): string {
  const { envRead, targetName } = naming;
  const target = targetName === undefined ? {} : { [TARGET_NAME_VAR]: targetName };
  const vars = { __meterflow_custom: custom, __meterflow_node: node, ...target };
  const template = bundleTemplate(`{{ ${call}(var('__meterflow_custom'), var('__meterflow_node')) }}`, [macro]);
  const named = renderModel({
    file: macro.file,
    template,
    resolver: { ref: (m) => m, source: (_s, t) => t },
    vars,
    self: '',
    target: TARGET,
  });
  for (const name of Object.keys(named.usedEnv)) envRead?.add(name);
  const text = named.sql.trim();
  if (text === '') throw new ProjectError(`${relative}: the project's ${call} (${macro.file}) gave an empty name`, relative);
  return text;
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
  const dbtNode = {
    name,
    alias: customAlias ?? name,
    resource_type: node.resourceType ?? 'model',
    fqn: [...node.fqn],
    path: relative,
    config: { ...config },
  };
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

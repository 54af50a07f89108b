// A project's selectors.yml, read as dbt 1.10 reads it (dbt-core's graph/cli.py): each selector a
// definition that is a command-line term (one, not split at spaces or commas), a dict of one method
// and its value, a dict with `method`, `value` and the graph operators (`parents`, `children`,
// `parents_depth`, `children_depth`, `childrens_parents`, `exclude`), or a `union` / `intersection`
// list whose one `exclude` entry is taken away; `method: selector` reuses a selector defined above.
// `default: true` marks the selector a run without --select, --exclude or --selector takes.
import path from 'node:path';
import { ProjectError } from '../errors';
import { readYaml } from './project-files';
import { renderProjectYaml } from './project-yaml';
import { criterionOf, parseCriterion, type SelectionSpec, type YamlSelectors } from './select';

const FILE = 'selectors.yml';
const OPERATOR_KEYS = [
  'method',
  'value',
  'parents',
  'children',
  'parents_depth',
  'children_depth',
  'childrens_parents',
  'indirect_selection',
  'exclude',
];

type Defined = ReadonlyMap<string, SelectionSpec>;

const isDict = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function listOf(definition: Record<string, unknown>, key: string, where: string): unknown[] {
  const values = definition[key];
  if (!Array.isArray(values)) throw new ProjectError(`${FILE}: selector '${where}': ${key} must be a list`, FILE);
  return values;
}

/** The parts of a union or intersection, and what its one `exclude:` entry takes away. */
function setOperands(parts: unknown[], where: string, defined: Defined): { include: SelectionSpec[]; exclude?: SelectionSpec } {
  const include: SelectionSpec[] = [];
  let exclude: SelectionSpec | undefined;
  for (const part of parts) {
    if (isDict(part) && 'exclude' in part) {
      if (exclude) throw new ProjectError(`${FILE}: selector '${where}': one exclude per union or intersection`, FILE);
      exclude = exclusions(part, where, defined);
    } else include.push(definitionSpec(part, where, defined));
  }
  return { include, ...(exclude ? { exclude } : {}) };
}

function exclusions(definition: Record<string, unknown>, where: string, defined: Defined): SelectionSpec {
  const parts = listOf(definition, 'exclude', where).map((part) => definitionSpec(part, where, defined));
  return parts.length === 1 ? (parts[0] as SelectionSpec) : { kind: 'union', parts };
}

const flag = (value: unknown) => value === true || (typeof value === 'string' && value.toLowerCase() === 'true');
const depth = (value: unknown, key: string, where: string): number | undefined => {
  if (value === undefined || value === null || value === '') return undefined;
  if (!Number.isInteger(Number(value))) throw new ProjectError(`${FILE}: selector '${where}': ${key} must be a whole number`, FILE);
  return Number(value);
};

/** A `{method, value, …}` dict, or a dict of one method and its value. */
function dictSpec(definition: Record<string, unknown>, where: string, defined: Defined): SelectionSpec {
  const keys = Object.keys(definition);
  if (definition.method === 'selector') {
    const named = defined.get(String(definition.value));
    if (!named)
      throw new ProjectError(`${FILE}: selector '${where}' reuses selector '${String(definition.value)}', not defined above it`, FILE);
    return named;
  }
  if (keys.length !== 1 && !('method' in definition && 'value' in definition)) {
    throw new ProjectError(`${FILE}: selector '${where}': expected one key, or method and value, not ${keys.join(', ')}`, FILE);
  }
  const unknown = keys.filter((key) => !OPERATOR_KEYS.includes(key));
  if (keys.length > 1 && unknown.length > 0)
    throw new ProjectError(`${FILE}: selector '${where}': unknown key ${unknown.join(', ')}`, FILE);
  const [method, value] =
    keys.length === 1 ? [keys[0] as string, definition[keys[0] as string]] : [String(definition.method), definition.value];
  const parentsDepth = depth(definition.parents_depth, 'parents_depth', where);
  const childrenDepth = depth(definition.children_depth, 'children_depth', where);
  const criterion = criterionOf(`${where}: ${method}:${String(value)}`, {
    method,
    value: String(value),
    childrensParents: flag(definition.childrens_parents),
    parents: flag(definition.parents),
    children: flag(definition.children),
    ...(parentsDepth !== undefined ? { parentsDepth } : {}),
    ...(childrenDepth !== undefined ? { childrenDepth } : {}),
  });
  const base: SelectionSpec = { kind: 'criterion', criterion, mustMatch: false };
  return keys.length > 1 && 'exclude' in definition
    ? { kind: 'difference', include: base, exclude: exclusions(definition, where, defined) }
    : base;
}

function definitionSpec(definition: unknown, where: string, defined: Defined): SelectionSpec {
  if (typeof definition === 'string') return { kind: 'criterion', criterion: parseCriterion(definition), mustMatch: false };
  if (!isDict(definition))
    throw new ProjectError(`${FILE}: selector '${where}': a definition is a string, union, intersection or dict`, FILE);
  for (const kind of ['union', 'intersection'] as const) {
    if (!(kind in definition)) continue;
    const { include, exclude } = setOperands(listOf(definition, kind, where), where, defined);
    const set: SelectionSpec = { kind, parts: include };
    return exclude ? { kind: 'difference', include: set, exclude } : set;
  }
  return dictSpec(definition, where, defined);
}

/** The project's selectors.yml, read and its Jinja rendered as dbt_project.yml's is; none where the file is not there. */
export async function readYamlSelectors(dir: string, runVars: Readonly<Record<string, unknown>>): Promise<YamlSelectors | undefined> {
  const file = path.join(dir, FILE);
  const parsed = await readYaml(file, dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (parsed === undefined) return undefined;
  const { raw } = renderProjectYaml(isDict(parsed) ? parsed : {}, runVars, FILE);
  const entries = raw.selectors;
  if (!Array.isArray(entries)) throw new ProjectError(`${FILE}: selectors must be a list`, file);
  const specs = new Map<string, SelectionSpec>();
  const defaults: string[] = [];
  for (const entry of entries) {
    if (!isDict(entry) || typeof entry.name !== 'string' || !('definition' in entry)) {
      throw new ProjectError(`${FILE}: each selector needs a name and a definition`, file);
    }
    const { definition, name } = entry;
    if (specs.has(name)) throw new ProjectError(`${FILE}: two selectors named '${name}'`, file);
    if (isDict(definition) && ('union' in definition || 'intersection' in definition) && Object.keys(definition).length > 1) {
      throw new ProjectError(`${FILE}: selector '${name}': only one union or intersection key at a definition's root`, file);
    }
    specs.set(name, definitionSpec(definition, name, specs));
    if (flag(entry.default)) defaults.push(name);
  }
  if (defaults.length > 1) throw new ProjectError(`${FILE}: selectors ${defaults.join(' and ')} both say default: true`, file);
  return { file: FILE, specs, ...(defaults[0] ? { defaultName: defaults[0] } : {}) };
}

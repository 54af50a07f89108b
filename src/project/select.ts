// Node selection as dbt 1.10 reads `--select` and `--exclude` (dbt-core's graph/selector_spec.py
// and selector_methods.py): each term is `[@][N+][method:]value[+N]`, terms apart (separate
// arguments, or spaces) a union, parts joined by a comma an intersection. The graph holds what dbt's
// does for a run: models, snapshots, seeds, sources and ephemeral models, each linked to what it reads
// directly, so `+name`, `2+name`, `name+` and `@name` reach what dbt's reach. A method meterflow
// cannot honour (state:, result:, tests on their own) is refused, naming it, never read as another.
import { ProjectError } from '../errors';
import { fnmatch, globMatches } from './fnmatch';

export type SelectableKind = 'model' | 'snapshot' | 'seed' | 'source' | 'ephemeral';

/** One node of the selection graph, with what dbt's selector methods read of it. */
export interface SelectableNode {
  /** Its name (a model's, snapshot's, seed's or ephemeral model's); `source:<source>.<table>` for a source. */
  readonly id: string;
  readonly kind: SelectableKind;
  /** Its name; a source's table name. */
  readonly name: string;
  /** A source's dbt source name. */
  readonly sourceName?: string;
  /** dbt's fqn: the project, the folders under its search path, its name (a snapshot's file too). */
  readonly fqn: readonly string[];
  /** Its file relative to the project (a source's: the YAML file declaring it). */
  readonly file: string;
  /** The properties YAML that describes it, if another file (dbt's patch_path). */
  readonly yamlFile?: string;
  readonly tags: readonly string[];
  /** Its resolved config, with dbt's defaults for the keys people select by. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The ids of the nodes it reads directly. */
  readonly parents: readonly string[];
}

/** What a project offers to select from: its nodes (models in build order first), its name, its YAML selectors. */
export interface SelectionGraph {
  readonly projectName: string;
  readonly nodes: readonly SelectableNode[];
  readonly selectors?: YamlSelectors;
}

/** The project's selectors.yml: each selector's spec by name, and the one with `default: true`. */
export interface YamlSelectors {
  readonly file: string;
  readonly specs: ReadonlyMap<string, SelectionSpec>;
  readonly defaultName?: string;
}

export interface Criterion {
  readonly raw: string;
  readonly childrensParents: boolean;
  readonly parents: boolean;
  readonly parentsDepth?: number;
  readonly children: boolean;
  readonly childrenDepth?: number;
  readonly method: string;
  readonly args: readonly string[];
  readonly value: string;
}

// dbt's RAW_SELECTOR_PATTERN
const RAW_SELECTOR = /^(?<cp>@)?(?<parents>(?<pd>\d*)\+)?(?:(?<method>[\w.]+):)?(?<value>.*?)(?<children>\+(?<cd>\d*))?$/su;

const REFUSED_METHODS: Readonly<Record<string, string>> = {
  state: "it compares with a previous run's manifest (dbt's --state), which meterflow does not read",
  result: "it reads a previous run's run_results.json (dbt's --state), which meterflow does not read",
  source_status: "it reads a previous run's sources.json (dbt's --state), which meterflow does not read",
  test_name: "meterflow runs a model's tests with the model, and does not select tests on their own",
  test_type: "meterflow runs a model's tests with the model, and does not select tests on their own",
  unit_test: "meterflow runs a model's unit tests with the model, and does not select them on their own",
  exposure: 'meterflow does not read exposures',
  metric: 'meterflow does not read metrics',
  semantic_model: 'meterflow does not read semantic models',
  saved_query: 'meterflow does not read saved queries',
  version: 'meterflow does not build model versions',
};
const KNOWN_METHODS = new Set([
  'fqn',
  'tag',
  'group',
  'access',
  'source',
  'path',
  'file',
  'package',
  'config',
  'resource_type',
  ...Object.keys(REFUSED_METHODS),
]);
const NODE_TYPES = new Set([
  ...['model', 'analysis', 'test', 'snapshot', 'operation', 'seed', 'rpc', 'sql_operation', 'doc', 'source', 'macro'],
  ...['exposure', 'metric', 'group', 'saved_query', 'semantic_model', 'unit_test', 'fixture'],
]);

const depthOf = (raw: string | undefined) => (raw ? Number(raw) : undefined);

/** dbt's default method: a value with a `/` is a path, one ending .sql, .py or .csv a file name, else an fqn. */
function defaultMethod(value: string): string {
  if (value.includes('/')) return 'path';
  if (/\.(sql|py|csv)$/i.test(value)) return 'file';
  return 'fqn';
}

/** A selector's parts as dbt's selection_criteria_from_dict takes them (a YAML selector's dict, or a parsed command-line term). */
export interface CriterionFields {
  readonly method?: string;
  readonly value: string;
  readonly childrensParents?: boolean;
  readonly parents?: boolean;
  readonly parentsDepth?: number;
  readonly children?: boolean;
  readonly childrenDepth?: number;
}

/** A criterion from its parts, its method checked; `raw` names it in messages. */
export function criterionOf(raw: string, fields: CriterionFields): Criterion {
  const { value } = fields;
  const [method, ...args] = fields.method ? fields.method.split('.') : [defaultMethod(value)];
  if (!KNOWN_METHODS.has(method as string)) throw new ProjectError(`selector '${raw}': '${method}' is not a valid method name`);
  const refused = REFUSED_METHODS[method as string];
  if (refused) throw new ProjectError(`selector '${raw}' cannot be honoured: ${refused}`);
  if (fields.childrensParents && fields.children)
    throw new ProjectError(`selector '${raw}': the "@" prefix and "+" suffix are incompatible`);
  return {
    raw,
    childrensParents: Boolean(fields.childrensParents),
    parents: Boolean(fields.parents),
    ...(fields.parentsDepth !== undefined ? { parentsDepth: fields.parentsDepth } : {}),
    children: Boolean(fields.children),
    ...(fields.childrenDepth !== undefined ? { childrenDepth: fields.childrenDepth } : {}),
    method: method as string,
    args,
    value,
  };
}

/** One command-line term, `[@][N+][method:]value[+N]`, as dbt's RAW_SELECTOR_PATTERN reads it. */
export function parseCriterion(raw: string): Criterion {
  const groups = RAW_SELECTOR.exec(raw)?.groups;
  if (!groups) throw new ProjectError(`invalid selector '${raw}'`);
  const parentsDepth = depthOf(groups.pd);
  const childrenDepth = depthOf(groups.cd);
  return criterionOf(raw, {
    ...(groups.method ? { method: groups.method } : {}),
    value: groups.value as string,
    childrensParents: Boolean(groups.cp),
    parents: Boolean(groups.parents),
    ...(parentsDepth !== undefined ? { parentsDepth } : {}),
    children: Boolean(groups.children),
    ...(childrenDepth !== undefined ? { childrenDepth } : {}),
  });
}

/** dbt's is_selected_node: the name, or the fqn's parts from its start, a wildcard matching the rest. */
function fqnSelects(fqn: readonly string[], selector: string): boolean {
  if (fqn[fqn.length - 1] === selector) return true;
  const flat = fqn.flatMap((part) => part.split('.'));
  const parts = selector.split('.');
  if (flat.length < parts.length) return false;
  for (const [i, part] of parts.entries()) {
    if (/[*?[\]]/.test(part)) return fnmatch(flat.slice(i).join('.'), parts.slice(i).join('.'));
    if (flat[i] !== part) return false;
  }
  return true;
}

/** dbt's config method: the value at the key path, equal to the selector, holding it, or a boolean named. */
function configSelects(config: Readonly<Record<string, unknown>>, keys: readonly string[], selector: string): boolean {
  let value: unknown = config;
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || !(key in value)) return false;
    value = (value as Record<string, unknown>)[key];
  }
  const named = selector.toUpperCase();
  const matches = (item: unknown) => item === selector || (named === 'TRUE' && item === true) || (named === 'FALSE' && item === false);
  return Array.isArray(value) ? value.some(matches) : matches(value);
}

/** dbt's source method: `source`, `source.table` or `package.source.table`, each part a glob. */
function sourceSelects(node: SelectableNode, value: string, projectName: string): boolean {
  const parts = value.split('.');
  if (parts.length > 3 || value === '') {
    throw new ProjectError(`invalid source selector '${value}': sources are selected as source, source.table or package.source.table`);
  }
  const [pkg, source, table] = parts.length === 3 ? parts : ['*', parts[0] as string, parts[1] ?? '*'];
  return (
    node.kind === 'source' &&
    fnmatch(projectName, pkg as string) &&
    fnmatch(node.sourceName ?? '', source as string) &&
    fnmatch(node.name, table as string)
  );
}

/** The nodes one method and value select directly, before `+` and `@`. */
function matchMethod(graph: SelectionGraph, criterion: Criterion): SelectableNode[] {
  const { method, args, value } = criterion;
  const { nodes, projectName } = graph;
  switch (method) {
    case 'fqn':
      return nodes.filter((n) => n.kind !== 'source' && (fqnSelects(n.fqn, value) || fqnSelects(n.fqn.slice(1), value)));
    case 'tag':
      return nodes.filter((n) => n.tags.some((tag) => fnmatch(tag, value)));
    case 'group':
      return nodes.filter((n) => n.kind !== 'source' && typeof n.config.group === 'string' && fnmatch(n.config.group, value));
    case 'access':
      return nodes.filter((n) => (n.kind === 'model' || n.kind === 'ephemeral') && n.config.access === value);
    case 'source':
      return nodes.filter((n) => sourceSelects(n, value, projectName));
    case 'path':
      if (value.startsWith('/') || value.split('/').includes('..')) {
        throw new ProjectError(`selector '${criterion.raw}': a path is relative to the project folder and stays in it`);
      }
      return nodes.filter((n) => globMatches(value, n.file) || (n.yamlFile !== undefined && globMatches(value, n.yamlFile, false)));
    case 'file': {
      const base = (file: string) => file.split('/').pop() as string;
      return nodes.filter((n) => fnmatch(base(n.file), value) || fnmatch(base(n.file).replace(/\.[^.]*$/, ''), value));
    }
    case 'package':
      return fnmatch(projectName, value === 'this' ? projectName : value) ? [...nodes] : [];
    case 'config':
      return nodes.filter((n) => configSelects(n.config, args, value));
    default:
      return resourceTypeMatches(nodes, criterion);
  }
}

function resourceTypeMatches(nodes: readonly SelectableNode[], criterion: Criterion): SelectableNode[] {
  const { value, raw } = criterion;
  if (!NODE_TYPES.has(value)) throw new ProjectError(`selector '${raw}': '${value}' is not a resource type`);
  if (value === 'test' || value === 'unit_test') {
    throw new ProjectError(`selector '${raw}' cannot be honoured: ${REFUSED_METHODS.test_name}`);
  }
  // an ephemeral model is a model to dbt
  return nodes.filter((n) => (n.kind === 'ephemeral' ? 'model' : n.kind) === value);
}

/** For an fqn selector naming a folder that is not part of any fqn (one of the model paths, say): how to select it. */
function folderHint(graph: SelectionGraph, criterion: Criterion): string {
  const folder = criterion.value.split('.')[0] as string;
  if (criterion.method !== 'fqn' || folder === '') return '';
  const node = graph.nodes.find((n) => n.kind !== 'source' && n.file.split('/').slice(0, -1).includes(folder));
  if (!node) return '';
  const parts = node.file.split('/');
  const dir = parts.slice(0, parts.indexOf(folder) + 1).join('/');
  return ` (as in dbt, a folder is matched along the fqn, which starts under the model path: ${node.name}'s is ${node.fqn.join('.')}; select the folder ${dir} with path:${dir})`;
}

/** Every node within `depth` steps of `from` along `next` (all of them without a depth), `from` left out unless reached. */
function walk(from: Iterable<string>, next: (id: string) => readonly string[], depth?: number): Set<string> {
  const reached = new Set<string>();
  let layer = [...from];
  for (let step = 0; layer.length > 0 && (depth === undefined || step < depth); step += 1) {
    const following = layer.flatMap(next).filter((id) => !reached.has(id));
    following.forEach((id) => reached.add(id));
    layer = [...new Set(following)];
  }
  return reached;
}

/** Each node's parents and children by id, walked by `+` and `@`. */
interface Relatives {
  readonly up: (id: string) => readonly string[];
  readonly down: (id: string) => readonly string[];
}

function relativesOf(graph: SelectionGraph): Relatives {
  const parents = new Map(graph.nodes.map((n) => [n.id, n.parents]));
  const children = new Map<string, string[]>();
  for (const node of graph.nodes) for (const parent of node.parents) children.set(parent, [...(children.get(parent) ?? []), node.id]);
  return { up: (id) => parents.get(id) ?? [], down: (id) => children.get(id) ?? [] };
}

/** The ids one criterion selects: its method's nodes and the relatives its `+` and `@` ask for. */
function matchCriterion(graph: SelectionGraph, { up, down }: Relatives, criterion: Criterion, mustMatch: boolean): Set<string> {
  const direct = matchMethod(graph, criterion).map((n) => n.id);
  if (direct.length === 0 && mustMatch)
    throw new ProjectError(`selector '${criterion.raw}' matches no model, seed, snapshot or source${folderHint(graph, criterion)}`);
  const selected = new Set(direct);
  if (criterion.childrensParents) {
    const withChildren = new Set([...direct, ...walk(direct, down)]);
    for (const id of [...withChildren, ...walk(withChildren, up)]) selected.add(id);
  }
  if (criterion.parents) walk(direct, up, criterion.parentsDepth).forEach((id) => selected.add(id));
  if (criterion.children) walk(direct, down, criterion.childrenDepth).forEach((id) => selected.add(id));
  return selected;
}

/**
 * A selection as dbt composes one: a criterion, the union or intersection of parts, or what one
 * selects less what another does (a YAML selector's `exclude`). `mustMatch`: a criterion given on the
 * command line that matches nothing is refused (dbt warns); one in a YAML selector may match nothing.
 */
export type SelectionSpec =
  | { readonly kind: 'criterion'; readonly criterion: Criterion; readonly mustMatch: boolean }
  | { readonly kind: 'union' | 'intersection'; readonly parts: readonly SelectionSpec[] }
  | { readonly kind: 'difference'; readonly include: SelectionSpec; readonly exclude: SelectionSpec };

/** The command line's selectors as dbt reads them: terms apart a union, parts joined by a comma an intersection. */
function commandLineSpec(selectors: readonly string[]): SelectionSpec {
  const terms = selectors.flatMap((s) => s.split(/\s+/)).filter((s) => s.replace(/,/g, '').length > 0);
  return {
    kind: 'union',
    parts: terms.map((term) => ({
      kind: 'intersection',
      parts: term
        .split(',')
        .filter((part) => part.length > 0)
        .map((part) => ({ kind: 'criterion', criterion: parseCriterion(part), mustMatch: true })),
    })),
  };
}

/** The ids a spec selects from the graph. */
function evaluate(graph: SelectionGraph, relatives: Relatives, spec: SelectionSpec): Set<string> {
  switch (spec.kind) {
    case 'criterion':
      return matchCriterion(graph, relatives, spec.criterion, spec.mustMatch);
    case 'union':
      return new Set(spec.parts.flatMap((part) => [...evaluate(graph, relatives, part)]));
    case 'intersection': {
      const [first, ...others] = spec.parts.map((part) => evaluate(graph, relatives, part));
      return new Set([...(first ?? [])].filter((id) => others.every((set) => set.has(id))));
    }
    default: {
      const excluded = evaluate(graph, relatives, spec.exclude);
      return new Set([...evaluate(graph, relatives, spec.include)].filter((id) => !excluded.has(id)));
    }
  }
}

/** What a run asks to build: dbt's --select and --exclude, or --selector naming a YAML selector. */
export interface Selection {
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** A selector of the project's selectors.yml, by name. */
  readonly selector?: string;
}

/**
 * The spec a selection stands for, with the YAML selector it is (`named`): the named one, else the
 * default one where nothing is selected, else the command line's; none where everything is selected.
 */
function specOf(graph: SelectionGraph, { select = [], exclude = [], selector }: Selection): { spec?: SelectionSpec; named?: string } {
  const yaml = graph.selectors;
  if (selector !== undefined) {
    if (select.length > 0 || exclude.length > 0) {
      throw new ProjectError(`--selector ${selector} cannot be combined with --select or --exclude (dbt would leave them unread)`);
    }
    const named = yaml?.specs.get(selector);
    if (!named) {
      const known = [...(yaml?.specs.keys() ?? [])];
      throw new ProjectError(
        `no selector '${selector}' in ${yaml?.file ?? 'the project (it has no selectors.yml)'}${known.length ? `: it defines ${known.join(', ')}` : ''}`,
      );
    }
    return { spec: named, named: selector };
  }
  if (select.length === 0 && exclude.length === 0) {
    const named = yaml?.defaultName;
    return named ? { spec: yaml?.specs.get(named), named } : {};
  }
  const include = select.length > 0 ? commandLineSpec(select) : undefined;
  const left = exclude.length > 0 ? commandLineSpec(exclude) : undefined;
  const all: SelectionSpec = { kind: 'criterion', criterion: parseCriterion('*'), mustMatch: false };
  return { spec: left ? { kind: 'difference', include: include ?? all, exclude: left } : include };
}

/**
 * The names of the selected models and snapshots (what a run builds), in the graph's order. Nothing
 * selected selects every one (or what the project's default YAML selector selects). A command-line
 * term that matches no node is refused, naming it; so is a YAML selector that selects no model.
 */
export function selectModels(graph: SelectionGraph, selection: Selection = {}): string[] {
  const { spec, named } = specOf(graph, selection);
  const ids = spec ? evaluate(graph, relativesOf(graph), spec) : new Set(graph.nodes.map((n) => n.id));
  const names = graph.nodes.filter((n) => (n.kind === 'model' || n.kind === 'snapshot') && ids.has(n.id)).map((n) => n.name);
  if (named !== undefined && names.length === 0)
    throw new ProjectError(`selector '${named}' of ${graph.selectors?.file} selects no model or snapshot`);
  return names;
}

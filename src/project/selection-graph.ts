// The graph `--select` and `--exclude` are read against (select.ts), built as the project loads:
// every model, snapshot, ephemeral model, seed and source table, linked to what it reads directly
// (an ephemeral model stays a node of its own, as in dbt's graph, so `1+name` stops at it), with the
// fqn, files, tags and config dbt's selector methods read.
import type { SelectableFacts } from './project-files';
import type { NodeConfig } from './model-config';
import type { SelectableNode, SelectionGraph, YamlSelectors } from './select';
import { runsOnOf, type ModelNode, type SourceTable } from './types';

/** A model, snapshot or ephemeral model as loaded, before ephemeral models are inlined. */
export interface SelectionDraft {
  readonly name: string;
  readonly resourceType?: 'snapshot';
  readonly ephemeral: boolean;
  readonly file: string;
  readonly fqn: readonly string[];
  readonly config: NodeConfig;
  readonly tags: readonly string[];
  /** The models and ephemeral models it refs, directly. */
  readonly refs: readonly string[];
  /** The seeds and source tables it reads directly, by table name. */
  readonly sources: readonly string[];
}

export interface SelectionInput {
  readonly projectName: string;
  /** The project's selectors.yml, where it has one. */
  readonly selectors?: YamlSelectors;
  readonly drafts: readonly SelectionDraft[];
  /** The models and snapshots in build order, with where each runs. */
  readonly models: readonly ModelNode[];
  /** Source tables and seeds. */
  readonly sources: readonly SourceTable[];
  /** Sources that are a seed's table: the seed's name by `source.table`. */
  readonly seedSources: ReadonlyMap<string, string>;
  readonly selectable: ReadonlyMap<string, SelectableFacts>;
  /** The properties YAML describing a node, by kind and name. */
  readonly yamlFile: (kind: 'model' | 'snapshot' | 'seed', name: string) => string | undefined;
  /** The YAML file declaring a source table, by table name. */
  readonly sourceFile: (table: string) => string | undefined;
}

// dbt's defaults for the model configs people select by (config.on_schema_change:ignore selects a model that sets none)
const MODEL_DEFAULTS: NodeConfig = {
  enabled: true,
  tags: [],
  meta: {},
  materialized: 'view',
  on_schema_change: 'ignore',
  access: 'protected',
  contract: { enforced: false, alias_types: true },
  docs: { show: true },
  persist_docs: {},
};

const sourceId = (source: SourceTable) => `source:${source.sourceName}.${source.name}`;

function draftNode(
  input: SelectionInput,
  draft: SelectionDraft,
  model: ModelNode | undefined,
  parentOf: (table: string) => string[],
): SelectableNode {
  const kind = draft.resourceType === 'snapshot' ? 'snapshot' : draft.ephemeral ? 'ephemeral' : 'model';
  const yamlFile = kind === 'ephemeral' ? input.yamlFile('model', draft.name) : input.yamlFile(kind, draft.name);
  const config = {
    ...MODEL_DEFAULTS,
    ...draft.config,
    tags: [...draft.tags],
    ...(kind === 'snapshot' ? { materialized: 'snapshot' } : {}),
    // meterflow's own key, as config.runs_on:analytics selects it (a model reading a read-only one runs there too)
    ...(model ? { runs_on: runsOnOf(model) } : {}),
  };
  return {
    id: draft.name,
    kind,
    name: draft.name,
    fqn: draft.fqn,
    file: draft.file,
    ...(yamlFile && yamlFile !== draft.file ? { yamlFile } : {}),
    tags: draft.tags,
    config,
    parents: [...draft.refs, ...draft.sources.flatMap(parentOf)],
  };
}

/** A seed's node (its name the id) or a source table's (`source:<source>.<table>`). */
function tableNode(input: SelectionInput, table: SourceTable): SelectableNode {
  const id = table.seed ? table.name : sourceId(table);
  const facts = input.selectable.get(id);
  const config = facts?.config ?? { enabled: true, tags: [], meta: {} };
  const file = table.seed ? table.seed.file : (input.sourceFile(table.name) ?? table.name);
  const yamlFile = table.seed ? input.yamlFile('seed', table.name) : undefined;
  return {
    id,
    kind: table.seed ? 'seed' : 'source',
    name: table.name,
    ...(table.seed ? {} : { sourceName: table.sourceName }),
    fqn: facts?.fqn ?? [input.projectName, table.name],
    file,
    ...(yamlFile ? { yamlFile } : {}),
    tags: Array.isArray(config.tags) ? (config.tags as string[]) : [],
    config: table.eventTime ? { ...config, event_time: table.eventTime } : config,
    parents: [],
  };
}

/**
 * The project's selection graph. A source that is a seed's table (read as the seed) is a node beside
 * the seed, and both are parents of every model reading either: selecting one selects the readers of both.
 */
export function selectionGraph(input: SelectionInput): SelectionGraph {
  const tables = new Map(input.sources.map((s) => [s.name, s]));
  const seedSourcesOf = new Map<string, string[]>();
  for (const [key, seed] of input.seedSources) seedSourcesOf.set(seed, [...(seedSourcesOf.get(seed) ?? []), key]);
  const parentOf = (name: string): string[] => {
    const table = tables.get(name);
    if (!table) return [];
    return table.seed ? [name, ...(seedSourcesOf.get(name) ?? []).map((key) => `source:${key}`)] : [sourceId(table)];
  };
  const models = new Map(input.models.map((m) => [m.name, m]));
  const order = new Map(input.models.map((m, i) => [m.name, i]));
  const rank = (draft: SelectionDraft) => order.get(draft.name) ?? input.models.length;
  const drafts = [...input.drafts].sort((a, b) => rank(a) - rank(b));
  const seedSourceNodes = [...input.seedSources].flatMap(([key, seed]): SelectableNode[] => {
    const table = tables.get(seed);
    if (!table) return [];
    const [sourceName, name] = key.split('.') as [string, string];
    return [tableNode(input, { ...table, seed: undefined, sourceName, name })];
  });
  return {
    projectName: input.projectName,
    ...(input.selectors ? { selectors: input.selectors } : {}),
    nodes: [
      ...drafts.map((draft) => draftNode(input, draft, models.get(draft.name), parentOf)),
      ...input.sources.map((table) => tableNode(input, table)),
      ...seedSourceNodes,
    ],
  };
}

// Model selection in dbt's syntax: `name`, `+name` (with ancestors), `name+` (with descendants),
// `staging.*` or `analytics.meter_anomalies` (by folder), `path:models/marts`, `tag:daily`,
// `config.runs_on:analytics`; several selectors are a union,
// and --exclude takes the same syntax.
import { ProjectError } from '../errors';
import { runsOnOf, type ModelNode } from './types';

function ancestors(models: readonly ModelNode[], name: string, into: Set<string>): void {
  const model = models.find((m) => m.name === name);
  for (const ref of model?.refs ?? []) {
    if (!into.has(ref)) {
      into.add(ref);
      ancestors(models, ref, into);
    }
  }
}

function descendants(models: readonly ModelNode[], name: string, into: Set<string>): void {
  for (const model of models) {
    if (model.refs.includes(name) && !into.has(model.name)) {
      into.add(model.name);
      descendants(models, model.name, into);
    }
  }
}

/** The models one selector names. */
function matchOne(models: readonly ModelNode[], selector: string): Set<string> {
  const withAncestors = selector.startsWith('+');
  const withDescendants = selector.endsWith('+');
  const core = selector.replace(/^\+/, '').replace(/\+$/, '');
  let base: ModelNode[];
  if (core.startsWith('tag:')) {
    base = models.filter((m) => m.tags.includes(core.slice('tag:'.length)));
  } else if (core.startsWith('path:')) {
    // dbt's path method: a folder (every model under it) or a file, relative to the project
    const wanted = core.slice('path:'.length).replace(/\/+$/, '');
    base = models.filter((m) => m.file === wanted || m.file.replace(/\.sql$/, '') === wanted || m.file.startsWith(`${wanted}/`));
  } else if (core.startsWith('config.runs_on:')) {
    const runsOn = core.slice('config.runs_on:'.length);
    base = models.filter((m) => runsOnOf(m) === runsOn);
  } else if (core.includes('.')) {
    // a folder of the project, then a model name or *: `staging.*`, `marts.finance.orders`
    const parts = core.split('.');
    const rest = parts.pop() as string;
    base = models.filter((m) => {
      const folders = m.file.split('/').slice(0, -1);
      const at = folders.findIndex((_f, i) => parts.every((part, j) => folders[i + j] === part));
      return at >= 0 && (rest === '*' || m.name === rest);
    });
  } else if (core.includes('*')) {
    const pattern = new RegExp(`^${core.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    base = models.filter((m) => pattern.test(m.name));
  } else {
    base = models.filter((m) => m.name === core);
  }
  if (base.length === 0) throw new ProjectError(`selector '${selector}' matches no model`);
  const selected = new Set(base.map((m) => m.name));
  for (const model of base) {
    if (withAncestors) ancestors(models, model.name, selected);
    if (withDescendants) descendants(models, model.name, selected);
  }
  return selected;
}

/**
 * The models one term selects: as dbt reads `a,b` (the models both select), each part one selector.
 */
function matchTerm(models: readonly ModelNode[], term: string): Set<string> {
  const [first, ...others] = term.split(',').filter((part) => part.length > 0);
  const matched = matchOne(models, first as string);
  for (const other of others) {
    const also = matchOne(models, other);
    for (const name of matched) if (!also.has(name)) matched.delete(name);
  }
  return matched;
}

/**
 * The names of the selected models, in the models' order. No selectors select every model. As dbt
 * reads them: terms apart (separate arguments, or spaces) are a union, parts joined by a comma an
 * intersection.
 */
export function selectModels(models: readonly ModelNode[], select: readonly string[] = [], exclude: readonly string[] = []): string[] {
  const terms = (selectors: readonly string[]) => selectors.flatMap((s) => s.split(/\s+/)).filter((s) => s.replace(/,/g, '').length > 0);
  const included =
    terms(select).length === 0 ? new Set(models.map((m) => m.name)) : new Set(terms(select).flatMap((s) => [...matchTerm(models, s)]));
  for (const term of terms(exclude)) for (const name of matchTerm(models, term)) included.delete(name);
  return models.filter((m) => included.has(m.name)).map((m) => m.name);
}

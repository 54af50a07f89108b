// Orders models so that every model comes after the models it refs, and names cycles.
import { ProjectError } from '../errors';

export interface DagNode {
  readonly name: string;
  readonly file: string;
  readonly refs: readonly string[];
}

/**
 * Kahn's algorithm, stable on the input order. Throws a ProjectError naming every file of a cycle
 * or the file whose ref names no model.
 */
export function topologicalOrder<T extends DagNode>(nodes: readonly T[]): T[] {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  for (const node of nodes) {
    for (const ref of node.refs) {
      if (!byName.has(ref)) {
        throw new ProjectError(`${node.file}: ref('${ref}') names no model in the project`, node.file);
      }
    }
  }
  const remaining = new Map(nodes.map((node) => [node.name, new Set(node.refs)]));
  const ordered: T[] = [];
  while (remaining.size > 0) {
    const ready = nodes.filter((node) => remaining.get(node.name)?.size === 0);
    if (ready.length === 0) throw cycleError(nodes, remaining);
    for (const node of ready) {
      remaining.delete(node.name);
      ordered.push(node);
      for (const deps of remaining.values()) deps.delete(node.name);
    }
  }
  return ordered;
}

function cycleError(nodes: readonly DagNode[], remaining: Map<string, Set<string>>): ProjectError {
  // walk refs from any blocked node until a node repeats: that loop is a cycle
  const files = new Map(nodes.map((node) => [node.name, node.file]));
  const start = remaining.keys().next().value as string;
  const path: string[] = [];
  let current = start;
  while (!path.includes(current)) {
    path.push(current);
    current = [...(remaining.get(current) ?? [])][0] ?? start;
  }
  const loop = [...path.slice(path.indexOf(current)), current];
  const describe = loop.map((name) => `${name} (${files.get(name)})`).join(' -> ');
  return new ProjectError(`cycle in model refs: ${describe}`, files.get(current));
}

/** Every model downstream of the given ones (not including them), in the order given. */
export function downstreamOf<T extends DagNode>(ordered: readonly T[], roots: ReadonlySet<string>): T[] {
  const reached = new Set(roots);
  const result: T[] = [];
  for (const node of ordered) {
    if (!reached.has(node.name) && node.refs.some((ref) => reached.has(ref))) {
      reached.add(node.name);
      result.push(node);
    }
  }
  return result;
}

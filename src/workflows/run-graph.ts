// A run's graph, from the plan and the selection: which sources are seeded, which models built,
// which tests run, and what each node waits for. Pure, so the rules are tested without a server.
import { ApplicationFailure } from '@temporalio/common';
import { runsOnOf, type ModelNode, type ProjectPlan, type SingularTest, type SourceTable } from '../project/types';
import type { NodeKind, NodeProgress } from '../contract/run';
import { runReach } from '../project/run-reach';

export interface RunGraph {
  /** Sources the selected models read: seeded by this run. */
  readonly sources: readonly SourceTable[];
  /** Selected models the writer and the build queue build, in build order. */
  readonly buildable: readonly ModelNode[];
  /** Selected read-only models (runs_on: analytics). */
  readonly analyticsModels: readonly ModelNode[];
  /** The built models that read-only models read: pinned at one lake version for them. */
  readonly masterTables: readonly string[];
  /** Singular tests whose sources are seeded and whose refs are built by this run. */
  readonly singularTests: readonly SingularTest[];
  /** Every node, pending, each with the ids it waits for. */
  readonly nodes: readonly NodeProgress[];
  readonly snapshotId?: string;
  readonly publishId: string;
  readonly reportId: string;
}

export const nodeId = (kind: NodeKind, name: string): string => `${kind}:${name}`;

/** The seeds a seed's relationships tests read (SourceTable.testTables), among those this run seeds. */
export function seedsTestedAgainst(source: SourceTable, sources: readonly SourceTable[]): string[] {
  return Object.keys(source.testTables ?? {}).filter((name) => name !== source.name && sources.some((s) => s.seed && s.name === name));
}

/**
 * The nodes of a run (what it seeds and tests: project/run-reach.ts). A seed waits for the seeds its
 * relationships tests read; models wait for their sources' seeds, the models they ref, and the
 * singular tests over sources alone that read their sources; a singular test waits for the seeds and
 * models it reads; the snapshot for the master; the analytics for the snapshot and the analytics
 * models they ref; the publish for everything.
 */
export function planGraph(plan: ProjectPlan, selected: ReadonlySet<string>, { seedTestOrder = false } = {}): RunGraph {
  const readOnly = (model: ModelNode) => runsOnOf(model) === 'analytics';
  const buildable = plan.models.filter((model) => !readOnly(model) && selected.has(model.name));
  const analyticsModels = plan.models.filter((model) => readOnly(model) && selected.has(model.name));
  // the tables the selected analytics read: the snapshot pins those (another analytics model's master
  // need not exist for a run that does not select it)
  const readByAnalytics = new Set(analyticsModels.flatMap((model) => [...model.refs, ...(model.testRefs ?? [])]));
  const masterTables = plan.models.filter((model) => !readOnly(model) && readByAnalytics.has(model.name)).map((model) => model.name);
  const { seeded, singularTests } = runReach(plan, selected);
  const sources = plan.sources.filter((source) => seeded.has(source.name));
  for (const test of plan.singularTests) {
    const analyticsRef = test.refs.find((ref) => plan.models.some((model) => model.name === ref && readOnly(model)));
    if (analyticsRef) {
      throw ApplicationFailure.nonRetryable(
        `singular test ${test.name} (${test.file}) refs analytics model ${analyticsRef}: singular tests check the warehouse's models before a run publishes; test analytics results with YAML tests`,
        'ProjectError',
      );
    }
  }

  const nodes: NodeProgress[] = [];
  const add = (kind: NodeKind, name: string, dependsOn: string[] = []): string => {
    const id = nodeId(kind, name);
    nodes.push({ id, kind, name, dependsOn, state: 'pending' });
    return id;
  };
  // a seed whose relationships test reads another seed waits for it (seedTestOrder: runs recorded
  // before did not, and the writer took them in any order)
  for (const source of sources) {
    add('seed', source.name, seedTestOrder ? seedsTestedAgainst(source, sources).map((name) => nodeId('seed', name)) : []);
  }
  for (const model of buildable) {
    add('model', model.name, [
      ...model.sources.map((s) => nodeId('seed', s)),
      ...model.refs.filter((r) => selected.has(r)).map((r) => nodeId('model', r)),
      // singular tests over sources alone gate the models that read those sources
      ...singularTests
        .filter((t) => t.refs.length === 0 && model.sources.some((s) => t.sources.includes(s)))
        .map((t) => nodeId('test', t.name)),
    ]);
    if (model.tests.length > 0) add('test', model.name, [nodeId('model', model.name)]);
  }
  for (const test of singularTests) {
    // (a source's test after its model reads the published model where the run does not build it)
    const built = test.refs.filter((r) => buildable.some((model) => model.name === r));
    add('test', test.name, [...test.sources.map((s) => nodeId('seed', s)), ...built.map((r) => nodeId('model', r))]);
  }
  const snapshotId =
    analyticsModels.length > 0
      ? add('snapshot', 'master', [
          ...masterTables.filter((t) => selected.has(t)).map((t) => nodeId('model', t)),
          // and for the sources read-only models read (none in plans recorded before they could)
          ...[...new Set(analyticsModels.flatMap((m) => m.sources))].map((s) => nodeId('seed', s)),
        ])
      : undefined;
  for (const model of analyticsModels) {
    // and for the analytics models it refs (per-month partial aggregates it merges) this run computes
    const analyticsRefs = model.refs.filter((ref) => analyticsModels.some((other) => other.name === ref));
    add('analytics', model.name, [...(snapshotId ? [snapshotId] : []), ...analyticsRefs.map((ref) => nodeId('analytics', ref))]);
    // its tests after the analytics models they read too (a relationships test's `to`)
    const testedAgainst = (model.testRefs ?? []).filter((ref) => analyticsModels.some((other) => other.name === ref));
    if (model.tests.length > 0)
      add('test', model.name, [nodeId('analytics', model.name), ...testedAgainst.map((ref) => nodeId('analytics', ref))]);
  }
  const publishId = add('publish', 'run', [
    ...buildable.map((m) => nodeId('model', m.name)),
    ...singularTests.map((t) => nodeId('test', t.name)),
    ...analyticsModels.map((m) => nodeId('analytics', m.name)),
  ]);
  const reportId = add('report', 'run', [publishId]);
  return {
    sources,
    buildable,
    analyticsModels,
    masterTables,
    singularTests,
    nodes,
    ...(snapshotId ? { snapshotId } : {}),
    publishId,
    reportId,
  };
}

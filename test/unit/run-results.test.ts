// run_results.json for a seed's tests, which run as the seed's files load: the status and failures
// dbt gives (fail with its count where the test refused the file, warn where rows were kept or set
// aside, pass with none), read back from what the seed node says.
import path from 'node:path';
import { loadProject, type LoadedProject } from '../../src/project/load';
import { dbtRunResults } from '../../src/report/dbt-artifacts';
import { testNamed } from '../../src/seed/source-tests';
import type { NodeProgress } from '../../src/contract/run';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'jaffle_shop');

describe("run_results.json for a seed's tests", () => {
  let project: LoadedProject;
  beforeAll(async () => {
    project = await loadProject(FIXTURE);
  });

  /** The results of the seed tests for one state of the seeds' nodes. */
  function seedTestResults(customers: Partial<NodeProgress>, orders: Partial<NodeProgress>) {
    const node = (name: string, over: Partial<NodeProgress>): NodeProgress => ({
      id: `seed:${name}`,
      kind: 'seed',
      name,
      dependsOn: [],
      state: 'succeeded',
      ...over,
    });
    const json = dbtRunResults({
      plan: project.plan,
      templates: project.templates,
      workflowId: 'w',
      generatedAt: new Date('2026-12-08T00:00:00Z'),
      nodes: [node('raw_customers', customers), node('raw_orders', orders)],
      dataTests: [],
      database: 'lake',
    }) as { results: { unique_id: string; status: string; failures: number | null }[] };
    return Object.fromEntries(
      json.results
        .filter((r) => r.unique_id.startsWith('test.'))
        .map((r) => [r.unique_id.split('.')[2], `${r.status} ${String(r.failures)}`]),
    );
  }

  it('says fail with the count where a test refused the file, and skipped for the tests that did not run', () => {
    const unique = project.plan.sources.find((s) => s.name === 'raw_customers')?.tests.find((t) => t.id === 'unique_raw_customers_id');
    const error = `source raw_customers: file:///x/raw_customers.csv fails unique on column 'id' (2 rows)${testNamed(unique as never, 3)}`;
    expect(seedTestResults({ state: 'failed', error }, { note: '1 file loaded' })).toEqual({
      unique_raw_customers_id: 'fail 3',
      not_null_raw_customers_id: 'skipped null',
      unique_raw_orders_id: 'pass 0',
      not_null_raw_orders_id: 'pass 0',
    });
  });

  it("says warn with the count where rows were kept or set aside, the test's own id only", () => {
    expect(
      seedTestResults(
        { note: '1 file loaded; 2 rows fail unique_raw_customers_id (warn: kept)' },
        { note: '1 file loaded; 1 row set aside by not_null_raw_orders_id' },
      ),
    ).toEqual({
      unique_raw_customers_id: 'warn 2',
      not_null_raw_customers_id: 'pass 0',
      unique_raw_orders_id: 'pass 0',
      not_null_raw_orders_id: 'warn 1',
    });
    // a test whose id begins another's is not read from the other's words
    expect(seedTestResults({ note: '4 rows set aside by not_null_raw_customers_id_2' }, {}).not_null_raw_customers_id).toBe('pass 0');
  });
});

// A failed run is readable: nothing is left running for it, a failing data test fails its own
// activity with sample rows and SQL in its details, and the run's report opens on the failure.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeFailure, getProgress } from '../../../src/client';
import { generateSampleData } from '../../../src/generator/generate';
import type { pipeline } from '../../../src/workflows';
import { copyOfModels, editFile, tempDir } from '../../support/files';
import { spawnMeterflow } from '../../support/processes';
import {
  connectToTestServer,
  startRun,
  startWorkers,
  testServerAddress,
  type RunningWorkers,
  type TemporalTestContext,
} from '../../support/temporal';

describe('a failed run is readable', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let sources: string;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('failed-runs');
    sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 6, from: '2023-03-28', to: '2023-04-03', seed: 41 });
  });
  afterAll(() => temporal.close());

  async function failedRun(
    label: string,
    projectDir?: string,
    whileWorkersRun: (handle: WorkflowHandle<typeof pipeline>) => Promise<void> = async () => undefined,
  ): Promise<{ handle: WorkflowHandle<typeof pipeline>; error: unknown }> {
    const workers: RunningWorkers = await startWorkers(temporal, {
      label,
      warehousePath: path.join(dir, `${label}-warehouse`),
      ...(projectDir ? { projectDir } : {}),
    });
    try {
      const handle = await startRun(temporal, workers, { sourcesUri: sources, outUri: path.join(dir, 'out') });
      const error = await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(WorkflowFailedError);
      // nothing is left running for a closed run: no pending activity, no node `running`
      const description = await handle.describe();
      expect(description.raw.pendingActivities ?? []).toEqual([]);
      const progress = await getProgress(handle);
      expect(progress.nodes.filter((n) => n.state === 'running' || n.state === 'pending')).toEqual([]);
      await whileWorkersRun(handle);
      return { handle, error };
    } finally {
      await workers.stop();
    }
  }

  it('a failed seed leaves no other seed running, queued or pending', async () => {
    const bad = path.join(sources, 'smart_meter_consumption_q2', 'corrupt.parquet');
    await writeFile(bad, 'not a parquet file');
    try {
      const { error } = await failedRun('failed-seed');
      expect(describeFailure(error).node).toBe('seed:smart_meter_consumption_q2');
    } finally {
      await rm(bad);
    }
  });

  it('a failing data test fails its own activity, with samples and SQL, and the report opens on it', async () => {
    const models = await copyOfModels('failing-test');
    // every GSP group but _A is refused: a test that fails on most rows
    await editFile(path.join(models, 'staging', '_staging.yml'), (yaml) =>
      yaml.replace(
        /(- name: stg_tariff_unit_rates[\s\S]*?\n    columns:\n)/,
        `$1      - name: gsp_group_id\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: ['_A']\n`,
      ),
    );
    // `meterflow status` (its progress query needs the run's workers) shows the failure with samples and SQL
    let status = '';
    const { handle, error } = await failedRun('failing-test', models, async (failed) => {
      const command = spawnMeterflow(['status', failed.workflowId], { TEMPORAL_ADDRESS: testServerAddress() });
      // as `run` exits for a failed run: 1
      expect(await command.exited).toBe(1);
      status = command.stdout();
    });
    expect(status).toMatch(/^run \S+: FAILED/);
    expect(status).toContain('failed at test:stg_tariff_unit_rates: data tests of stg_tariff_unit_rates failed');
    expect(status).toMatch(
      /accepted_values_stg_tariff_unit_rates_gsp_group_id: [\d,]+ failing rows \(fail\)\n {2}\{"gsp_group_id":"_[B-P]"/,
    );
    expect(status).toContain("not in ('_A')");
    const failure = describeFailure(error);
    expect(failure.node).toBe('test:stg_tariff_unit_rates');
    expect(failure.reason).toMatch(/accepted_values_stg_tariff_unit_rates_gsp_group_id \(\d+ failing rows\)/);

    // the test's activity failed in the history (red in the Web UI's timeline), not retried
    const history = await handle.fetchHistory();
    const failed = (history.events ?? []).flatMap((event) =>
      event.activityTaskFailedEventAttributes ? [event.activityTaskFailedEventAttributes] : [],
    );
    const testFailure = failed.find((attributes) => attributes.failure?.applicationFailureInfo?.type === 'DataTestFailed');
    expect(testFailure?.failure?.applicationFailureInfo?.nonRetryable).toBe(true);
    const payload = testFailure?.failure?.applicationFailureInfo?.details?.payloads?.[0]?.data;
    const details = JSON.parse(Buffer.from(payload as Uint8Array).toString('utf8')) as {
      target: string;
      results: { id: string; status: string; failures: number; sql?: string; samples?: Record<string, unknown>[] }[];
    };
    const result = details.results.find((r) => r.id === 'accepted_values_stg_tariff_unit_rates_gsp_group_id');
    expect(result?.status).toBe('fail');
    expect(result?.samples?.length).toBeGreaterThan(0);
    expect(result?.samples?.length).toBeLessThanOrEqual(10);
    expect(result?.samples?.every((row) => row.gsp_group_id !== '_A')).toBe(true);
    expect(result?.sql).toMatch(/not in \('_A'\)/);

    // the failed run's report exists and opens on the failure, with the samples
    const report = await readFile(path.join(dir, 'out', 'runs', handle.workflowId, 'report.html'), 'utf8');
    expect(report).toContain('This run failed at <code>test:stg_tariff_unit_rates</code>');
    expect(report).toContain('accepted_values_stg_tariff_unit_rates_gsp_group_id');
    expect(report).toContain(String(result?.samples?.[0]?.gsp_group_id));
  });

  it("an analytics model's failing YAML test fails its own activity, red, and the model stays green with its rows", async () => {
    const models = await copyOfModels('failing-analytics-test');
    // a day has 48 half-hours a meter, never 7: a test that accepts only 7 fails on every day
    await editFile(path.join(models, 'analytics', '_analytics.yml'), (yaml) =>
      yaml.replace(
        /(- name: actual_vs_estimated_daily[\s\S]*?- name: half_hours\n {8}data_tests: \[not_null)\]/,
        `$1, { accepted_values: { arguments: { values: [7], quote: false } } }]`,
      ),
    );
    const { handle, error } = await failedRun('failing-analytics-test', models);
    const failure = describeFailure(error);
    expect(failure.node).toBe('test:actual_vs_estimated_daily');
    expect(failure.tests?.find((test) => test.status === 'fail')?.id).toMatch(/^accepted_values_actual_vs_estimated_daily_half_hours/);
    const history = await handle.fetchHistory();
    const failed = (history.events ?? []).flatMap((event) =>
      event.activityTaskFailedEventAttributes ? [event.activityTaskFailedEventAttributes] : [],
    );
    const red = failed.find((attributes) => attributes.failure?.applicationFailureInfo?.type === 'DataTestFailed');
    expect(red?.failure?.message).toMatch(/^data tests of actual_vs_estimated_daily failed: accepted_values_/);
    expect(red?.failure?.applicationFailureInfo?.nonRetryable).toBe(true);
    // the run's record beside its report has every node's final state
    const record = JSON.parse(await readFile(path.join(dir, 'out', 'runs', handle.workflowId, 'run.json'), 'utf8')) as {
      nodes: { id: string; state: string; rows?: number }[];
    };
    const byId = new Map(record.nodes.map((node) => [node.id, node]));
    expect(byId.get('analytics:actual_vs_estimated_daily')).toMatchObject({ state: 'succeeded', rows: expect.any(Number) });
    expect(byId.get('test:actual_vs_estimated_daily')?.state).toBe('failed');
  });
});

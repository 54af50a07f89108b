// Replays a pipeline history recorded with an earlier build of the workflow: a change that would make
// running workflows nondeterministic fails here. Record a new fixture only for an intended, versioned
// change: copy test-artifacts/pipeline-history.json (written by pipeline.test.ts) to test/fixtures/.
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { quietTemporalLogs } from '../support/temporal';

describe('replaying recorded histories', () => {
  it('replays the recorded pipeline history from JSON without nondeterminism', async () => {
    quietTemporalLogs();
    const json: unknown = JSON.parse(await readFile(path.join(__dirname, '..', 'fixtures', 'pipeline-history.json'), 'utf8'));
    const history = historyFromJSON(json);
    expect(history.events?.length).toBeGreaterThan(50);
    await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history)).resolves.toBeUndefined();
  });
});

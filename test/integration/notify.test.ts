// A failed run reaches a person without anyone looking: its webhooks get one POST each, naming the
// run, the node it failed at and why, and its report. A real HTTP server on this machine: down when
// the run ends and up a few seconds later (still told, once), answering never (the run ends anyway),
// and a secret URL kept in the worker's environment (never in the run's history).
import http from 'node:http';
import path from 'node:path';
import { getProgress, waitForPipeline } from '../../src/client';
import { freePort } from '../../src/temporal/dev-server';
import { tempDir } from '../support/files';
import { connectToTestServer, historyText, startRun, withWorkers, type TemporalTestContext } from '../support/temporal';

interface Received {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/** A webhook on a free port: answers 200 (or never, when `hang`), keeping what it was sent. */
function webhookServer(port: number, hang = false): { received: Received[]; close: () => Promise<void> } {
  const received: Received[] = [];
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: JSON.parse(text) as Record<string, unknown> });
      if (hang) open.add(response);
      else response.writeHead(200).end('ok');
    });
  });
  server.listen(port, '127.0.0.1');
  return {
    received,
    close: () =>
      new Promise((resolve) => {
        for (const response of open) response.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('alerts when a run fails', () => {
  let temporal: TemporalTestContext;
  let dir: string;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('notify');
  });

  afterAll(() => temporal.close());

  /** A run that fails at its first seed (its sources are not there), with these notification settings. */
  const failingRun = (label: string, notify: Record<string, unknown>) =>
    withWorkers(temporal, { label, warehousePath: path.join(dir, `warehouse-${label}`) }, async (workers) => {
      const handle = await startRun(temporal, workers, {
        sourcesUri: path.join(dir, 'no-sources'),
        outUri: path.join(dir, 'out'),
        ...notify,
      });
      const error = await waitForPipeline(handle).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      // (asked while its workers are up: a closed run's query is answered by one)
      const { notifications } = await getProgress(handle);
      return { workflowId: handle.workflowId, error, history: historyText(await handle.fetchHistory()), notifications };
    });

  it('tells a webhook that is down when the run fails, once it is up again, once', async () => {
    const port = await freePort();
    let webhook: ReturnType<typeof webhookServer> | undefined;
    // the webhook comes up 5 s after the run starts: the first attempts find nothing listening
    const upLater = setTimeout(() => (webhook = webhookServer(port)), 5_000);
    try {
      const { workflowId, error, notifications } = await failingRun('down', { notify: [`http://127.0.0.1:${port}/hooks/team`] });
      expect(error?.message).toMatch(/failed at seed:/);
      expect(notifications).toEqual([{ webhook: expect.stringContaining(`127.0.0.1:${port}`), told: true }]);
      expect(webhook?.received).toHaveLength(1);
      const { path: hookPath, body } = webhook?.received[0] as Received;
      expect(hookPath).toBe('/hooks/team');
      expect(body).toMatchObject({
        run: workflowId,
        state: 'failed',
        failedNode: expect.stringMatching(/^seed:/),
        report: path.join(dir, 'out', 'runs', workflowId, 'report.html'),
      });
      expect(body.text).toMatch(new RegExp(`^meterflow run ${workflowId} \\(warehouse .*\\) failed at seed:\\w+: source \\w+: `));
      // from the message to the failing rows and the node's log, one command each
      expect(body.text).toMatch(
        new RegExp(`Failing rows: meterflow status ${workflowId}; its log: meterflow logs ${workflowId} seed:\\w+$`),
      );
    } finally {
      clearTimeout(upLater);
      await webhook?.close();
    }
  });

  it('tells the webhooks of a run that fails at its plan, naming why', async () => {
    // (an operator probe's scheduled run whose project broke alerted nobody)
    const port = await freePort();
    const webhook = webhookServer(port);
    try {
      const { workflowId, error } = await failingRun('plan', {
        notify: [`http://127.0.0.1:${port}/hooks/plan`],
        select: ['no_such_model'],
      });
      expect(error?.message).toMatch(/no_such_model/);
      expect(webhook.received).toHaveLength(1);
      const { body } = webhook.received[0] as Received;
      expect(body).toMatchObject({ run: workflowId, state: 'failed', failedNode: 'run' });
      expect(body.error).toMatch(/selector 'no_such_model' matches no model/);
    } finally {
      await webhook.close();
    }
  });

  it('ends the run when a webhook never answers, and keeps a secret URL out of the history', async () => {
    const port = await freePort();
    const webhook = webhookServer(port, true);
    process.env.METERFLOW_NOTIFY_TIMEOUT_MS = '1000';
    process.env.METERFLOW_TEST_TEAM_HOOK = `http://127.0.0.1:${port}/services/T000/B000/SECRET123`;
    try {
      const { error, history, notifications } = await failingRun('hang', {
        notify: ['env:METERFLOW_TEST_TEAM_HOOK'],
        notifyWaitSeconds: 4,
      });
      // the run failed for its own reason, not for the webhook's
      expect(error?.message).toMatch(/failed at seed:/);
      // and its progress says the webhook was not told, for `run` to print
      expect(notifications).toEqual([{ webhook: 'env:METERFLOW_TEST_TEAM_HOOK', told: false, reason: 'no answer within 4 s' }]);
      expect(webhook.received.length).toBeGreaterThanOrEqual(1);
      expect(webhook.received[0]?.path).toBe('/services/T000/B000/SECRET123');
      expect(history).not.toContain('SECRET123');
      expect(history).toContain('env:METERFLOW_TEST_TEAM_HOOK');
    } finally {
      delete process.env.METERFLOW_NOTIFY_TIMEOUT_MS;
      delete process.env.METERFLOW_TEST_TEAM_HOOK;
      await webhook.close();
    }
  });
});

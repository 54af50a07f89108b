// A webhook's URL is never written anywhere: an `env:` webhook's value may hold a secret (a path, a
// token). An operator probe found it in fetch's errors, so in the logs and the run's history.
import { createNotifyActivities } from '../../src/activities/notify';
import { createLogger } from '../../src/logger';
import { isHttpUrl, postNotification } from '../../src/report/webhook';

const notification = { run: 'pipeline-x', state: 'failed' as const, logicalDate: '2024-01-01T00:00:00Z', warehouse: '/w', report: '/r' };
const SECRET = 'http://127.0.0.1:1/services/T0/SECRETPATH?token=TOK123';

describe('a webhook that cannot be told', () => {
  it('names it by label, never its URL, when it is unreachable', async () => {
    const env = { TEAM_HOOK: SECRET, METERFLOW_NOTIFY_TIMEOUT_MS: '2000' };
    const error = (await postNotification({ logger: createLogger('test'), env }, SECRET, { target: 'env:TEAM_HOOK', notification }).catch(
      (err: unknown) => err,
    )) as Error;
    expect(error.message).toMatch(/^webhook env:TEAM_HOOK unreachable: \S+/);
    expect(error.message).not.toMatch(/SECRETPATH|TOK123/);
  });

  it('refuses a value that is no http(s) URL without retrying, and without naming it', async () => {
    expect(isHttpUrl('https://hooks.example.invalid:99999/services/SECRETPATH')).toBe(false);
    expect(isHttpUrl('ftp://example.com/x')).toBe(false);
    expect(isHttpUrl('https://hooks.example.com/x')).toBe(true);
    const { notifyRun } = createNotifyActivities({
      logger: createLogger('test'),
      env: { TEAM_HOOK: 'https://hooks.example.invalid:99999/services/SECRETPATH' },
    });
    const error = (await notifyRun({ target: 'env:TEAM_HOOK', notification }).catch((err: unknown) => err)) as Error & {
      nonRetryable?: boolean;
    };
    expect(error.message).toBe('env:TEAM_HOOK is no http(s) URL: no webhook to notify');
    expect(error.nonRetryable).toBe(true);
  });
});

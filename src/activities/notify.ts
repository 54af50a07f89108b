// Telling a webhook that a run ended: one POST, retried by Temporal while the webhook is down, each
// attempt bounded so that one that never answers cannot hold a worker. The URL is read from the
// worker's environment for `env:NAME`; logs and errors name the webhook by label, never by URL.
import { ApplicationFailure } from '@temporalio/common';
import { webhookLabel } from '../contract/validate';
import { notificationBody, type RunNotification } from '../report/notification';
import type { Logger } from '../logger';
import { activityFrame } from './context';

export interface NotifyRunInput {
  readonly target: string;
  readonly notification: RunNotification;
}

/** How long one attempt waits for the webhook's answer (METERFLOW_NOTIFY_TIMEOUT_MS, 10 s by default). */
const attemptTimeoutMs = (env: NodeJS.ProcessEnv) => Number(env.METERFLOW_NOTIFY_TIMEOUT_MS ?? 10_000);

export function createNotifyActivities({ logger, env = process.env }: { logger: Logger; env?: NodeJS.ProcessEnv }) {
  return {
    async notifyRun({ target, notification }: NotifyRunInput): Promise<{ status: number }> {
      return activityFrame(`notify ${webhookLabel(target)}`, async () => {
        const url = target.startsWith('env:') ? env[target.slice(4)] : target;
        if (!url) {
          throw ApplicationFailure.nonRetryable(`${target} is not set on this worker: no webhook to notify`, 'NotifyConfigError');
        }
        let response: Response;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(notificationBody(notification)),
            signal: AbortSignal.timeout(attemptTimeoutMs(env)),
          });
        } catch (err) {
          // the cause names the host at most (fetch's messages hold no URL); retried
          throw new Error(
            `webhook ${webhookLabel(target)} unreachable: ${(err as Error).name === 'TimeoutError' ? 'no answer in time' : (err as Error).message}`,
          );
        }
        if (!response.ok) throw new Error(`webhook ${webhookLabel(target)} answered ${response.status}`);
        logger.info({ webhook: webhookLabel(target), run: notification.run, state: notification.state }, 'notified');
        return { status: response.status };
      });
    },
  };
}

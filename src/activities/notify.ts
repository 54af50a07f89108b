// The notify activity: a frame around one POST to a webhook (src/report/webhook.ts), retried by
// Temporal while the webhook is down; a webhook named by an `env:NAME` not set on this worker fails
// it, not retried. Errors name the webhook by label, never by URL.
import { ApplicationFailure } from '@temporalio/common';
import { webhookLabel } from '../contract/validate';
import { isHttpUrl, postNotification, webhookUrl, type NotifyRunInput } from '../report/webhook';
import type { Logger } from '../logger';
import { activityFrame } from './context';

export type { NotifyRunInput } from '../report/webhook';

export function createNotifyActivities({ logger, env = process.env }: { logger: Logger; env?: NodeJS.ProcessEnv }) {
  return {
    async notifyRun(input: NotifyRunInput): Promise<{ status: number }> {
      return activityFrame(`notify ${webhookLabel(input.target)}`, async () => {
        const url = webhookUrl(input.target, env);
        if (!url) {
          throw ApplicationFailure.nonRetryable(`${input.target} is not set on this worker: no webhook to notify`, 'NotifyConfigError');
        }
        // (its value named nowhere: an env: webhook's URL is a secret)
        if (!isHttpUrl(url)) {
          throw ApplicationFailure.nonRetryable(
            `${webhookLabel(input.target)} is no http(s) URL: no webhook to notify`,
            'NotifyConfigError',
          );
        }
        return postNotification({ logger, env }, url, input);
      });
    },
  };
}

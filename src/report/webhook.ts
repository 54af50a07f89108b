// Telling a webhook that a run ended: one POST, each attempt bounded so that one that never answers
// cannot hold a worker. Logs and errors name the webhook by label, never by URL. The notify activity
// sends it (and Temporal retries it while the webhook is down).
import { webhookLabel } from '../contract/validate';
import type { Logger } from '../logger';
import { notificationBody, type RunNotification } from './notification';

export interface NotifyRunInput {
  readonly target: string;
  readonly notification: RunNotification;
}

/** How long one attempt waits for the webhook's answer (METERFLOW_NOTIFY_TIMEOUT_MS, 10 s by default). */
const attemptTimeoutMs = (env: NodeJS.ProcessEnv) => Number(env.METERFLOW_NOTIFY_TIMEOUT_MS ?? 10_000);

/** The webhook's URL: the target itself, or for `env:NAME` the worker's NAME (undefined when not set). */
export function webhookUrl(target: string, env: NodeJS.ProcessEnv): string | undefined {
  return target.startsWith('env:') ? env[target.slice(4)] : target;
}

/** POST the run's notification to `url`; an error (to retry) when it is unreachable or answers other than 2xx. */
export async function postNotification(
  { logger, env }: { readonly logger: Logger; readonly env: NodeJS.ProcessEnv },
  url: string,
  { target, notification }: NotifyRunInput,
): Promise<{ status: number }> {
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
}

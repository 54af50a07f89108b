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

/** Whether `url` is one fetch can POST to: http or https, with a valid host and port. */
export function isHttpUrl(url: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

/**
 * Why fetch failed, without the URL: its cause's code or message (ECONNREFUSED, a name that does not
 * resolve), any text of the URL taken out (a webhook's URL may hold a secret: a path, a token).
 */
function fetchFailure(err: Error, url: string): string {
  if (err.name === 'TimeoutError') return 'no answer in time';
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const text = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : err.message;
  const { href } = new URL(url);
  return text.split(href).join('<its URL>').split(url).join('<its URL>') || 'fetch failed';
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
    // the cause's code or message, the URL taken out (an operator probe found an env: webhook's path in
    // the logs and the run's history); retried
    throw new Error(`webhook ${webhookLabel(target)} unreachable: ${fetchFailure(err as Error, url)}`);
  }
  if (!response.ok) throw new Error(`webhook ${webhookLabel(target)} answered ${response.status}`);
  logger.info({ webhook: webhookLabel(target), run: notification.run, state: notification.state }, 'notified');
  return { status: response.status };
}

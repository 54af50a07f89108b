// What a run tells a webhook when it ends: a JSON body that names the run, its state, the node it
// failed at and why, and where its report is, with a `text` line that Slack's and Teams' incoming
// webhooks show as it is. Pure; the notify activity sends it.

export interface RunNotification {
  readonly run: string;
  readonly state: 'failed' | 'succeeded';
  readonly logicalDate: string;
  readonly warehouse?: string;
  readonly failedNode?: string;
  readonly error?: string;
  /** The run's report; absent for a run that failed at its plan, which has none. */
  readonly report?: string;
}

/** The body POSTed to every webhook of a run. */
export function notificationBody(notification: RunNotification): Record<string, unknown> {
  const where = notification.warehouse ? ` (warehouse ${notification.warehouse})` : '';
  const text =
    notification.state === 'failed'
      ? `meterflow run ${notification.run}${where} failed at ${notification.failedNode ?? 'the run'}: ${notification.error ?? 'no reason given'}. ` +
        `${notification.report !== undefined ? `Report: ${notification.report}. ` : ''}Failing rows: meterflow status ${notification.run}` +
        (notification.failedNode ? `; its log: meterflow logs ${notification.run} ${notification.failedNode}` : '')
      : `meterflow run ${notification.run}${where} succeeded. Report: ${notification.report}`;
  return { text, ...notification };
}

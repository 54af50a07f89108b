// --notify and --notify-on, on `run` and on `schedule create|update`: webhooks told when a run fails
// (or ends, with --notify-on always), METERFLOW_NOTIFY (comma-separated) when no --notify is given.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { notifyTargetProblem } from '../contract/validate';
import type { PipelineInput } from '../contract/run';

export interface NotifyOptions {
  readonly notify?: string[];
  readonly notifyOn?: 'failure' | 'always';
}

function webhook(value: string, previous: string[] = []): string[] {
  const problem = notifyTargetProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return [...previous, value];
}

export function addNotifyOptions(command: Command): Command {
  return command
    .option(
      '--notify <webhook>',
      "tell this webhook when a run fails: env:NAME (the URL in the analytics workers' environment) or an http(s) URL; repeatable (default: METERFLOW_NOTIFY, comma-separated)",
      webhook,
    )
    .addOption(new Option('--notify-on <when>', 'failure, or always (success too)').choices(['failure', 'always']));
}

/** The run input's notification fields from the options (or METERFLOW_NOTIFY). */
export function notifyInput(options: NotifyOptions, env: NodeJS.ProcessEnv = process.env): Partial<PipelineInput> {
  const fromEnv = (env.METERFLOW_NOTIFY ?? '')
    .split(',')
    .map((target) => target.trim())
    .filter((target) => target.length > 0)
    .reduce<string[]>((targets, target) => webhook(target, targets), []);
  const notify = options.notify ?? fromEnv;
  return {
    ...(notify.length > 0 ? { notify } : {}),
    ...(options.notifyOn === 'always' ? { notifyOnSuccess: true } : {}),
  };
}

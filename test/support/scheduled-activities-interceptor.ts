// Workflow code for replay tests: tells the test, through a sink called during replay too, each
// activity the workflow schedules (its type, queue, summary and input), so a test can compare them
// with the recorded history's. Replay alone compares the activity types, not what they were given.
import { proxySinks, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** An activity as the workflow scheduled it; `input` is each argument as JSON, as the payload converter writes it. */
export interface ScheduledActivity {
  readonly activityType: string;
  readonly taskQueue: string | undefined;
  readonly summary: string | undefined;
  readonly input: string[];
}

export interface ScheduledActivitySinks extends Sinks {
  replayCheck: { scheduled(activity: ScheduledActivity): void };
}

const { replayCheck } = proxySinks<ScheduledActivitySinks>();

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity(input, next) {
        replayCheck.scheduled({
          activityType: input.activityType,
          taskQueue: input.options.taskQueue,
          summary: input.options.summary,
          input: input.args.map((arg) => JSON.stringify(arg)),
        });
        return next(input);
      },
    },
  ],
});

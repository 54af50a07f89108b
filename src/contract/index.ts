// What every side shares (workflows, activities, client, CLI, report): the run's input, result and
// progress, activity inputs and outputs, queue names, signals and queries, pure time and URI helpers.
// It imports none of those sides.
export * from './activities';
export * from './queues';
export * from './run';
export * from './time';
export * from './uri';

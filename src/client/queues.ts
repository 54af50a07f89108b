// Task queue names, shared by workers and clients without pulling in either.
export const WORKFLOW_QUEUE_NAME = 'meterflow-workflows';

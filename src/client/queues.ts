// Task queue names, shared by workers and clients without pulling in either.
export const WORKFLOW_QUEUE_NAME = 'meterflow-workflows';
// NOTE: the defaults of the workflow module (src/workflows/pipeline.ts, WRITER_QUEUE and
// ANALYTICS_QUEUE), repeated so that a client does not load workflow code; a test keeps them equal.
export const WRITER_QUEUE_NAME = 'meterflow-writer';
export const ANALYTICS_QUEUE_NAME = 'meterflow-analytics';

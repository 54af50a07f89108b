// Task queue names: the defaults of workflows, workers, clients and the CLI, written once.
/** Workflow tasks: light, any worker. */
export const WORKFLOW_QUEUE_NAME = 'meterflow-workflows';
/** Writes to a warehouse: polled by its one writer. Several warehouses need one queue each. */
export const WRITER_QUEUE_NAME = 'meterflow-writer';
export const ANALYTICS_QUEUE_NAME = 'meterflow-analytics';

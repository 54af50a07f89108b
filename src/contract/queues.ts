// Task queue names: the defaults of workflows, workers, clients and the CLI, written once.
/** Workflow tasks: light, any worker. */
export const WORKFLOW_QUEUE_NAME = 'meterflow-workflows';
/** Writes to a warehouse: polled by its one writer. Several warehouses need one queue each. */
export const WRITER_QUEUE_NAME = 'meterflow-writer';
export const ANALYTICS_QUEUE_NAME = 'meterflow-analytics';
/**
 * Per-month builds of the big models: read the lake, write Parquet files, commit nothing. Polled by any
 * number of build workers on any machine (and by the writer and the all-in-one worker).
 */
export const BUILD_QUEUE_NAME = 'meterflow-build';

/** The build queue that goes with a writer queue: the default one for the default writer, else `<writer>-build`. */
export function buildQueueFor(writerQueue: string): string {
  return writerQueue === WRITER_QUEUE_NAME ? BUILD_QUEUE_NAME : `${writerQueue}-build`;
}

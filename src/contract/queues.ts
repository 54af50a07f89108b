// Task queue names: the defaults of workflows, workers, clients and the CLI, written once.
/** Workflow tasks: light, any worker. */
export const WORKFLOW_QUEUE_NAME = 'meterflow-workflows';
/**
 * The writer queue of runs recorded before a run named its warehouse (and of callers that name a
 * writer queue instead): a warehouse's own writer queue is `writerQueueFor(warehouse)`.
 */
export const WRITER_QUEUE_NAME = 'meterflow-writer';
export const ANALYTICS_QUEUE_NAME = 'meterflow-analytics';
/**
 * Per-month builds of the big models: read the lake, write Parquet files, commit nothing. Polled by any
 * number of build workers on any machine (and by the writers and the all-in-one worker); each build
 * names the warehouse it reads, so one queue serves every warehouse.
 */
export const BUILD_QUEUE_NAME = 'meterflow-build';
/**
 * `meterflow dev`'s writer: it opens whichever warehouse a run names (one at a time), so that a dev
 * server runs what it is asked to. A run uses it only when no writer polls its warehouse's own queue.
 */
export const DEV_WRITER_QUEUE_NAME = 'meterflow-writer-dev';

/** The prefix of every warehouse's own writer queue. */
const WAREHOUSE_QUEUE_PREFIX = 'meterflow-writer-';

/** 32-bit FNV-1a of a string with a seed: pure, so that workflow code computes it too. */
function fnv1a(text: string, seed: number): string {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * A warehouse's writer queue, derived from its name (`warehouseName`: a resolved folder, or a catalog
 * without its password), so that writers and runs of one warehouse meet without anyone keeping a
 * queue name in step by hand: `meterflow-writer-<folder or lake>-<hash>`.
 */
export function writerQueueFor(warehouseName: string): string {
  const base =
    /(?:^|\s)lake=(\S+)/.exec(warehouseName)?.[1] ??
    /(?:^|\s)dbname=(\S+)/.exec(warehouseName)?.[1] ??
    warehouseName.split(/[\\/]/).filter(Boolean).pop() ??
    'lake';
  const slug =
    base
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 24) || 'lake';
  return `${WAREHOUSE_QUEUE_PREFIX}${slug}-${fnv1a(warehouseName, 0x811c9dc5)}${fnv1a(warehouseName, 0x2166136)}`;
}

/**
 * The build queue that goes with a writer queue: the shared one for the default writer, a warehouse's
 * own writer queue and dev's; `<writer>-build` for a writer queue named by hand (isolated tests, a
 * deployment that keeps its warehouses' builds apart).
 */
export function buildQueueFor(writerQueue: string): string {
  const shared =
    writerQueue === WRITER_QUEUE_NAME || writerQueue === DEV_WRITER_QUEUE_NAME || /^meterflow-writer-.+-[0-9a-f]{16}$/.test(writerQueue);
  return shared ? BUILD_QUEUE_NAME : `${writerQueue}-build`;
}

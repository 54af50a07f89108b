// Readers of a lake: a committed version attached read-only on the process's shared instance, for one unit of work or kept pinned between activities.
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { attachLake, type AttachOptions } from './attach';
import { withConnection } from './connections';
import { sharedLakeInstance } from './instances';
import { LakeHandle } from './lake-tables';
import type { DuckdbSettings } from './settings';

/** Which shared instance a reader attaches on: its settings, and its pool. */
export interface ReaderOptions {
  readonly settings?: DuckdbSettings;
  readonly pool?: string;
}

let attachments = 0;

/**
 * A read-only view of a lake at its latest committed version, or at the snapshot its options name: the
 * lake attached on the process's shared DuckDB instance (extensions loaded once) under an alias of its
 * own (many may be attached at once), detached when closed.
 */
export class LakeReader extends LakeHandle {
  private constructor(
    private readonly instance: DuckDBInstance,
    public readonly alias: string,
  ) {
    super();
  }

  static async open(attach: AttachOptions, options: ReaderOptions = {}): Promise<LakeReader> {
    const instance = await sharedLakeInstance(options.settings, options.pool);
    const alias = `lake_${process.pid}_${(attachments += 1)}`;
    await withConnection(instance, (connection) => attachLake(connection, alias, { ...attach, readOnly: true }));
    return new LakeReader(instance, alias);
  }

  /** A connection per unit of work whose default database is this lake (`use <alias>`). */
  withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return withConnection(this.instance, async (connection) => {
      await connection.run(`use ${this.alias}`);
      return work(connection);
    });
  }

  async close(): Promise<void> {
    await withConnection(this.instance, (connection) => connection.run(`detach ${this.alias}`));
  }
}

/** Read a lake (at a snapshot, or its latest version) for one unit of work, closed after it. */
export async function withLakeReader<T>(
  attach: AttachOptions,
  options: ReaderOptions,
  work: (reader: LakeReader) => Promise<T>,
): Promise<T> {
  const reader = await LakeReader.open(attach, options);
  try {
    return await work(reader);
  } finally {
    await reader.close();
  }
}

/** The pool of the shared DuckDB instance that holds pinned versions' attachments. */
const PINNED_POOL = 'pinned';

/** Run work on a lake version: at a version kept attached between activities, or (none given) the latest, attached for this work alone. */
export type WithPinnedReader = <T>(
  snapshot: { readonly warehouse: string; readonly version?: number },
  work: (reader: LakeReader) => Promise<T>,
) => Promise<T>;

/** How a reader attaches the lake a location names, at a version or its latest. */
export type ReaderAttachOptions = (location: string, snapshotVersion?: number) => AttachOptions;

/**
 * The lake attached read-only at a pinned version, shared by the activities of one worker that read
 * that version (its analytics, then the report at the version the run published): attaching (the
 * catalog read, the S3 secret) is most of a small model's time, and a version never changes. Kept in
 * a DuckDB instance of their own (a query over every attached catalog, such as information_schema,
 * never meets them elsewhere); once another version is attached, the idle ones are detached, so a
 * version kept is the latest a run pinned or published (maintenance never expires the latest).
 */
export function pinnedVersionReaders(settings: DuckdbSettings, attachFor: ReaderAttachOptions): WithPinnedReader {
  const attached = new Map<string, { reader: Promise<LakeReader>; users: number }>();
  const detachIdle = async (keep?: string) => {
    for (const [key, entry] of [...attached.entries()]) {
      // checked as it is let go, not before the loop: an activity may have taken it up while an
      // earlier one was detached (taking one up and this check never have an await between them)
      if (key === keep || entry.users > 0 || attached.get(key) !== entry) continue;
      attached.delete(key);
      await entry.reader.then((reader) => reader.close()).catch(() => undefined);
    }
  };
  idlePools.add(() => detachIdle());
  const pinned = { settings, pool: PINNED_POOL };
  return async (snapshot, work) => {
    if (snapshot.version === undefined) return withLakeReader(attachFor(snapshot.warehouse), pinned, work);
    const key = `${snapshot.warehouse}@${snapshot.version}`;
    let entry = attached.get(key);
    if (!entry) {
      await detachIdle(key);
      const version = snapshot.version;
      const reader = (async () => LakeReader.open(attachFor(snapshot.warehouse, version), pinned))();
      const created = { reader, users: 0 };
      reader.catch(() => attached.get(key) === created && attached.delete(key));
      attached.set(key, created);
      entry = created;
    }
    entry.users += 1;
    try {
      return await work(await entry.reader);
    } finally {
      entry.users -= 1;
    }
  };
}

/** Every pinnedVersionReaders' way to let go of its idle versions. */
const idlePools = new Set<() => Promise<void>>();

/**
 * Detach every pinned version no activity is using, as a worker that stops does: a version kept
 * attached on the process's shared instance is read by catalog-wide queries (which tables a version
 * holds), so one left behind, of a warehouse since moved or deleted, would fail other warehouses' reads.
 */
export async function detachIdlePinnedReaders(): Promise<void> {
  for (const detach of idlePools) await detach();
}

/**
 * Load the lake's extensions into the instance a worker's readers will use (its pinned versions', or
 * the default one), before it polls: loading verifies their signatures (a good part of a second), which
 * the first activity would pay otherwise, and a missing or mismatched extension stops the worker at
 * start instead of failing a run.
 */
export async function warmReaders(settings: DuckdbSettings, pool: 'pinned' | 'default'): Promise<void> {
  await sharedLakeInstance(settings, pool === 'pinned' ? PINNED_POOL : undefined);
}

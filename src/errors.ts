// Errors that name what the user has to fix. Each carries its context as readonly fields so that
// callers (activities, the CLI) can turn it into a non-retryable Temporal failure or a message.

/** A problem in the models project: a bad template, an unknown ref or source, a cycle. */
export class ProjectError extends Error {
  public override readonly name = 'ProjectError';
  constructor(
    message: string,
    public readonly file?: string,
  ) {
    super(message);
  }
}

/**
 * A project that cannot be read without a run's values: a template reads target.name and the run names
 * no target, or dbt_project.yml reads a var without a default that the run does not set.
 */
export class RunValueMissingError extends ProjectError {
  public override readonly name = 'ProjectError';
}

/** A source file or folder that cannot be seeded: missing, unreadable, or not to the data contract. */
export class SourceDataError extends Error {
  public override readonly name = 'SourceDataError';
  constructor(
    message: string,
    public readonly source: string,
    public readonly uri?: string,
  ) {
    super(message);
  }
}

/** A model whose SQL fails to build (syntax, a missing column, a type error). */
export class ModelBuildError extends Error {
  public override readonly name = 'ModelBuildError';
  constructor(
    message: string,
    public readonly model: string,
    public readonly file?: string,
  ) {
    super(message);
  }
}

/** A warehouse file already held by another process: a writer, or a reader that keeps writers out. */
export class WarehouseLockedError extends Error {
  public override readonly name = 'WarehouseLockedError';
  constructor(
    message: string,
    public readonly warehousePath: string,
    public readonly holder?: 'reader' | 'writer',
    public readonly holderPid?: number,
  ) {
    super(message);
  }
}

/** A storage location that is malformed, missing or forbidden: retrying cannot help. */
export class StorageError extends Error {
  public override readonly name = 'StorageError';
  constructor(
    message: string,
    public readonly uri: string,
  ) {
    super(message);
  }
}

/** A Temporal frontend that cannot be reached, or a namespace it does not have. */
export class TemporalUnreachableError extends Error {
  public override readonly name = 'TemporalUnreachableError';
  constructor(
    message: string,
    public readonly address: string,
    public readonly namespace: string,
  ) {
    super(message);
  }
}

/** A namespace without meterflow's search attributes: every run's first workflow task would fail on it. */
export class SearchAttributesMissingError extends Error {
  public override readonly name = 'SearchAttributesMissingError';
  constructor(
    message: string,
    public readonly namespace: string,
    /** The missing (or differently typed) attributes, as `Name (Type)`. */
    public readonly missing: readonly string[],
  ) {
    super(message);
  }
}

/** A run whose workflow task fails again and again: it would wait for ever without a word. */
export class WorkflowTaskFailingError extends Error {
  public override readonly name = 'WorkflowTaskFailingError';
  constructor(
    message: string,
    public readonly workflowId: string,
    public readonly attempt: number,
    public readonly reason: string,
  ) {
    super(message);
  }
}

/** Tables in the warehouse that meterflow did not create, which a run would replace. */
export class ForeignTableError extends Error {
  public override readonly name = 'ForeignTableError';
  constructor(
    message: string,
    public readonly tables: readonly string[],
  ) {
    super(message);
  }
}

/** A writer activity that reached the writer of another warehouse than its run's. */
export class WrongWarehouseError extends Error {
  public override readonly name = 'WrongWarehouseError';
  constructor(
    message: string,
    public readonly expected: string,
    public readonly actual: string,
  ) {
    super(message);
  }
}

/** A worker whose env_var values differ from those the run's plan rendered its models with. */
export class EnvironmentMismatchError extends Error {
  public override readonly name = 'EnvironmentMismatchError';
  constructor(
    message: string,
    /** The variables that differ. */
    public readonly variables: readonly string[],
  ) {
    super(message);
  }
}

/** A run's project is not the one this worker can find: changed since the run started, or not on this machine. */
export class ProjectMismatchError extends Error {
  public override readonly name = 'ProjectMismatchError';
  constructor(
    message: string,
    /** The project folder the run names. */
    public readonly dir: string,
    /** The content hash the run names. */
    public readonly expected: string,
  ) {
    super(message);
  }
}

/** A run names a warehouse that no running writer serves (or one whose queue another warehouse's writer polls): not started. */
export class NoWriterError extends Error {
  public override readonly name = 'NoWriterError';
  constructor(
    message: string,
    public readonly warehouse: string,
  ) {
    super(message);
  }
}

/** SQL that `meterflow query` does not run: anything but one read statement over the lake. */
export class QueryRefusedError extends Error {
  public override readonly name = 'QueryRefusedError';
  constructor(
    message: string,
    public readonly sql: string,
  ) {
    super(message);
  }
}

/** The DuckDB extensions the lake needs could not be found or installed (pip and DuckDB's INSTALL both tried). */
export class LakeExtensionsError extends Error {
  public override readonly name = 'LakeExtensionsError';
  constructor(
    message: string,
    public readonly extensionDirectory: string,
  ) {
    super(message);
  }
}

/** A lake catalog string that is neither `sqlite:<file>` nor `postgres:<conninfo>`. */
export class LakeCatalogError extends Error {
  public override readonly name = 'LakeCatalogError';
  constructor(
    message: string,
    /** The catalog's kind as written before the colon (never the conninfo, which may hold a password). */
    public readonly catalogKind: string,
  ) {
    super(message);
  }
}

/** Every error above recurs on retry: activities fail with these names non-retryably, and workflows never retry them. */
export const NON_RETRYABLE_ERRORS: readonly string[] = [
  ProjectError,
  SourceDataError,
  ModelBuildError,
  WarehouseLockedError,
  StorageError,
  ForeignTableError,
  WrongWarehouseError,
  ProjectMismatchError,
  EnvironmentMismatchError,
].map((errorClass) => errorClass.name);

/** A location that must be a folder (a prefix of files) but is a file, or lies below one. */
export class NotAFolderError extends StorageError {
  constructor(
    /** The file found where a folder was expected: the location itself or a folder above it. */
    public readonly file: string,
    uri: string,
  ) {
    super(`${file} is a file, not a folder`, uri);
  }
}

/** A warehouse whose state schema is newer than this meterflow knows: a later release wrote it, so this one must not. */
export class WarehouseSchemaError extends StorageError {
  constructor(
    message: string,
    public readonly warehouse: string,
    /** The state-schema version the warehouse records. */
    public readonly version: number,
    /** The newest version this code knows. */
    public readonly known: number,
  ) {
    super(message, warehouse);
  }
}

// Which project a worker runs for a run: the one the run names, found by its content hash in the
// run's folder or in the worker's own, loaded once per content. A run whose project cannot be found
// with that content is refused, naming the files that differ: never different SQL run silently.
import { TARGET_NAME_VAR, varsReadByProjectFile, type ProjectRef } from './types';
import { ProjectMismatchError, RunValueMissingError } from '../errors';
import { fingerprintProject, projectChanges } from './fingerprint';
import { loadProject, type LoadedProject } from './load';
import { readProjectFile } from './project-files';

/** Loaded projects kept per content: a dev session edits and runs a handful of versions. */
const KEPT_VERSIONS = 8;

export class ProjectSource {
  private readonly loaded = new Map<string, Promise<LoadedProject>>();

  /**
   * ownDir: the worker's own project (--project), for runs that name none and as a second place to look;
   * preloaded: what runs that name none get (as loaded once), instead of the folder as it is now.
   */
  constructor(
    readonly ownDir: string,
    private readonly preloaded?: LoadedProject,
  ) {}

  /** The worker's own project as its files are now. */
  async own(): Promise<LoadedProject> {
    const found = await fingerprintProject(this.ownDir);
    return this.load(found);
  }

  /**
   * The project a run names, as its files were when the run started; the worker's own when it names
   * none. `vars`: the run's, of which those dbt_project.yml reads are rendered into it, as dbt does
   * (and the run's target name); with `exact`, the vars to load it with as they are (a run's
   * projectVars, which its plan listed).
   */
  async resolve(
    ref: ProjectRef | undefined,
    vars: Readonly<Record<string, unknown>> = {},
    { exact = false }: { exact?: boolean } = {},
  ): Promise<LoadedProject> {
    const found = await this.find(ref);
    if (Object.keys(vars).length === 0) return found ? this.load(found) : (this.preloaded ?? this.own());
    const files = found ?? (await fingerprintProject(this.ownDir));
    if (exact) return this.load(files, vars);
    // (the names the file reads, rendered with the run's vars: a var may be read only where another is set)
    const reads = (await readProjectFile(files.dir, vars)).reads.vars;
    const read = varsReadByProjectFile(vars, [...reads, TARGET_NAME_VAR]);
    let loaded: LoadedProject;
    try {
      loaded = read !== undefined ? await this.load(files, read) : found ? await this.load(found) : (this.preloaded ?? (await this.own()));
    } catch (err) {
      // a naming macro or test reading a run's var that dbt_project.yml does not: loaded with all of
      // them, then narrowed below to those its plan lists
      if (!(err instanceof RunValueMissingError)) throw err;
      loaded = await this.load(files, vars);
    }
    // and those its tests' arguments and naming macros read (projectFileVars lists them): loaded again with those too
    const wider = varsReadByProjectFile(vars, loaded.plan.projectFileVars);
    return wider !== undefined && JSON.stringify(wider) !== JSON.stringify(read) ? this.load(files, wider) : loaded;
  }

  /** The project folder and content a run names; undefined when it names none. */
  private async find(ref: ProjectRef | undefined): Promise<Required<ProjectRef> | undefined> {
    if (ref === undefined) return undefined;
    const seen: { dir: string; found?: Required<ProjectRef>; error?: string }[] = [];
    for (const dir of [...new Set([ref.dir, this.ownDir])]) {
      try {
        const found = await fingerprintProject(dir);
        // a ref without a hash (a schedule's run) takes its folder as it is now
        if (ref.hash === undefined ? dir === ref.dir : found.hash === ref.hash) return found;
        seen.push({ dir, found });
      } catch (err) {
        seen.push({ dir, error: (err as Error).message });
      }
    }
    throw new ProjectMismatchError(mismatchMessage(ref, seen), ref.dir, ref.hash ?? '');
  }

  /** A project's files loaded once per content and per value of the vars its dbt_project.yml reads. */
  private load(found: Required<ProjectRef>, vars?: Readonly<Record<string, unknown>>): Promise<LoadedProject> {
    const key = `${found.dir}\0${found.hash}${vars ? `\0${JSON.stringify(vars)}` : ''}`;
    let project = this.loaded.get(key);
    if (!project) {
      project = loadProject(found.dir, vars ? { vars } : {});
      project.catch(() => this.loaded.delete(key));
      this.loaded.set(key, project);
      if (this.loaded.size > KEPT_VERSIONS) this.loaded.delete(this.loaded.keys().next().value as string);
    }
    return project;
  }
}

function mismatchMessage(ref: ProjectRef, seen: readonly { dir: string; found?: Required<ProjectRef>; error?: string }[]): string {
  const where = seen.map(({ dir, found, error }) =>
    found
      ? `${dir} is at ${found.hash} (${dir === ref.dir ? 'since the run started: ' : 'against the run: '}${projectChanges(ref.files ?? {}, found.files)})`
      : `${dir} cannot be read here (${error})`,
  );
  const what = ref.hash === undefined ? `the project ${ref.dir}` : `the project ${ref.dir} as it was at ${ref.hash}`;
  return (
    `this run runs ${what}, which this worker cannot find: ${where.join('; ')}. ` +
    "Start a new run to run the project as it is now, or run this worker where the run's project is (meterflow worker --project <dir>)"
  );
}

/**
 * A worker's own project that cannot be loaded without a run's values (a target.name, a var without a
 * default in dbt_project.yml): the worker still starts and serves runs, which name their values; any
 * use of it (by a run naming no project) fails with the reason it could not be loaded.
 */
export function unloadableProject(reason: Error): LoadedProject {
  return new Proxy({} as LoadedProject, {
    get: (_target, key) => {
      if (typeof key === 'symbol' || key === 'then') return undefined;
      throw reason;
    },
  });
}

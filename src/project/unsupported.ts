// What meterflow does not run, refused before any work, naming the file and the feature: Python
// models, snapshot blocks among models, packages that are not installed, a dispatch search order, hooks and model versions. Whatever a run
// cannot honour is said here, not found halfway through a run.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { ProjectError } from '../errors';
import { packagesInstallPath, projectYamlAt, type InstalledPackage } from './packages';

type ListFiles = (dir: string) => Promise<string[]>;

const refuse = (file: string, what: string): never => {
  throw new ProjectError(`${file}: ${what}`, file);
};

/**
 * Packages from packages.yml (or dependencies.yml) must be installed in `packages-install-path`
 * (their macros are loaded by packages.ts), and dispatch may not search elsewhere than dbt's default.
 */
async function checkPackages(dir: string, project: Record<string, unknown>, packages: readonly InstalledPackage[]): Promise<void> {
  const installPath = packagesInstallPath(project);
  // each installed package once, known by folder (dbt deps names it after the package; a local package
  // is a link to its folder) and by name
  const unclaimed = new Map(packages.map((pkg) => [pkg.folder, [path.basename(pkg.folder), pkg.name]]));
  const claim = (names: readonly string[]) => {
    const found = [...unclaimed].find(([, known]) => names.some((name) => known.includes(name)));
    if (found) unclaimed.delete(found[0]);
    return found !== undefined;
  };
  // a git package's folder is its project's name, which its URL need not say: those left unclaimed
  // after every other entry are matched one to one with the installed packages no entry claimed
  const gitLeft: { file: string; id: string }[] = [];
  for (const name of ['packages.yml', 'dependencies.yml']) {
    const text = await readFile(path.join(dir, name), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const listed = ((YAML.parse(text) ?? {}) as { packages?: Record<string, unknown>[] }).packages ?? [];
    for (const entry of listed) {
      const id = String(entry.package ?? entry.git ?? entry.local ?? '?');
      const folder = path
        .basename(id.replace(/\.git$/, ''))
        .split('/')
        .pop() as string;
      // a local package is installed under its project's name
      const localName = entry.local === undefined ? undefined : (await projectYamlAt(path.resolve(dir, String(entry.local))))?.name;
      if (claim(localName === undefined ? [folder] : [folder, String(localName)])) continue;
      if (entry.git !== undefined) gitLeft.push({ file: name, id });
      else refuse(name, `package '${id}' is not installed in ${installPath}/ (run \`dbt deps\`); meterflow does not install packages`);
    }
  }
  const notInstalled = gitLeft[unclaimed.size];
  if (notInstalled) {
    refuse(
      notInstalled.file,
      `package '${notInstalled.id}' is not installed in ${installPath}/ (run \`dbt deps\`); meterflow does not install packages`,
    );
  }
  // dispatch's search order: the project's macros, then the package's (dbt's default); another is refused
  const dispatch = (project.dispatch ?? []) as { macro_namespace?: unknown; search_order?: unknown }[];
  for (const entry of Array.isArray(dispatch) ? dispatch : [dispatch]) {
    const order = Array.isArray(entry.search_order) ? entry.search_order.map(String) : [];
    const usual = [String(project.name), String(entry.macro_namespace)];
    if (order.join('\0') !== usual.join('\0')) {
      refuse(
        'dbt_project.yml',
        `dispatch for '${String(entry.macro_namespace)}' with search_order [${order.join(', ')}] is not supported by meterflow: ` +
          `adapter.dispatch looks in the project's macros, then the package's ([${usual.join(', ')}], dbt's default); ` +
          "to use another package's version of a macro, copy it into the project's macro-paths",
      );
    }
  }
}

/** A model's resolved config may not ask for hooks, which meterflow does not run. */
export function refuseHooks(config: Readonly<Record<string, unknown>>, file: string, name: string): void {
  const hook = ['pre-hook', 'post-hook', 'pre_hook', 'post_hook'].find((key) => {
    const value = config[key];
    return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0) && value !== '';
  });
  if (hook) refuse(file, `'${name}' has a ${hook}; hooks are not supported by meterflow`);
}

/** Refuse, before anything runs, what meterflow cannot run as dbt would (`packages`: those installed, installedPackages). */
export async function refuseUnsupported(
  dir: string,
  project: Record<string, unknown>,
  modelPaths: readonly string[],
  snapshotPaths: readonly string[],
  listFiles: ListFiles,
  packages: readonly InstalledPackage[],
): Promise<void> {
  for (const hook of ['on-run-start', 'on-run-end']) {
    const value = project[hook];
    // (an empty list runs nothing: dbt_project.yml files written by `dbt init` have one)
    if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) {
      refuse('dbt_project.yml', `${hook} hooks are not supported by meterflow`);
    }
  }
  for (const modelPath of modelPaths) {
    for (const file of await listFiles(path.join(dir, modelPath))) {
      const relative = path.relative(dir, file);
      if (file.endsWith('.py')) refuse(relative, 'Python models are not supported by meterflow (SQL models only)');
      if (!file.endsWith('.sql') && !file.endsWith('.yml') && !file.endsWith('.yaml')) continue;
      const text = await readFile(file, 'utf8');
      if (/\{%-?\s*snapshot\s/.test(text)) {
        refuse(
          relative,
          `a {% snapshot %} block under model-paths: dbt reads snapshots under snapshot-paths (${snapshotPaths.join(', ')})`,
        );
      }
      if (/^\s*versions\s*:/m.test(text) && !file.endsWith('.sql')) refuse(relative, 'model versions are not supported by meterflow');
    }
  }
  await checkPackages(dir, project, packages);
}

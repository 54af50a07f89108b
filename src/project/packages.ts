// The dbt packages a project has installed (`dbt deps` puts them in `packages-install-path`, by
// default dbt_packages/): their macros and generic tests, each package's under its own name
// (`dbt_utils.star(…)`, `dbt_utils.expression_is_true` in YAML), as dbt gives them. A package with
// models, seeds, snapshots or singular tests is refused: meterflow builds the project's own nodes only.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { ProjectError } from '../errors';
import { readBelow } from './skipped-folders';

/** An installed package: its name (the namespace its macros are called under) and where its files are. */
export interface InstalledPackage {
  readonly name: string;
  /** Its folder, relative to the project's. */
  readonly folder: string;
  /** Its `macro-paths`, relative to the project's folder. */
  readonly macroPaths: readonly string[];
  /** Its `test-paths` (generic tests in their `generic/` folders), relative to the project's folder. */
  readonly testPaths: readonly string[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The folder `dbt deps` installs packages into, relative to the project's. */
export const packagesInstallPath = (project: Readonly<Record<string, unknown>>): string =>
  String(project['packages-install-path'] ?? 'dbt_packages');

const pathsOf = (raw: Record<string, unknown>, key: string, fallback: string): string[] =>
  Array.isArray(raw[key]) ? (raw[key] as unknown[]).map(String) : [fallback];

async function filesUnder(folder: string, suffixes: readonly string[]): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  });
  return entries
    .filter((entry) => entry.isFile() && suffixes.some((suffix) => entry.name.endsWith(suffix)))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => readBelow(folder, file))
    .sort();
}

/** A package's nodes meterflow would not build: its first model, seed, snapshot or singular test file, refused. */
async function refuseNodes(dir: string, folder: string, raw: Record<string, unknown>, name: string): Promise<void> {
  const kinds = [
    ['model-paths', 'models', ['.sql', '.py'], 'models'],
    ['seed-paths', 'seeds', ['.csv'], 'seeds'],
    ['snapshot-paths', 'snapshots', ['.sql'], 'snapshots'],
    ['test-paths', 'tests', ['.sql'], 'singular tests'],
  ] as const;
  for (const [key, fallback, suffixes, what] of kinds) {
    for (const nodes of pathsOf(raw, key, fallback)) {
      // (a test-paths file outside generic/ is a singular test, a node of the package's)
      const found = await filesUnder(path.join(dir, folder, nodes), suffixes);
      const [first] = key === 'test-paths' ? found.filter((file) => !file.split(path.sep).includes('generic')) : found;
      if (first) {
        throw new ProjectError(
          `${path.relative(dir, first)}: package '${name}' has ${what}; meterflow runs a package's macros and generic tests, ` +
            "not its models, seeds, snapshots or singular tests: copy what you need into the project's own folders",
          path.relative(dir, first),
        );
      }
    }
  }
}

/** The dbt_project.yml in a folder, parsed; undefined where there is none. */
export async function projectYamlAt(folder: string): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(path.join(folder, 'dbt_project.yml'), 'utf8').catch(() => undefined);
  // NOTE: plain YAML, not the loader's dbt reader (dbt-yaml.ts): the client package counts packages'
  // files for a project's fingerprint and loads no Jinja code; the two agree on the keys read here
  return text === undefined ? undefined : ((YAML.parse(text) ?? {}) as Record<string, unknown>);
}

/**
 * The packages installed in the project (every folder of packages-install-path with a
 * dbt_project.yml, as dbt loads them), by folder name; none when the folder is absent.
 */
export async function installedPackages(dir: string, project: Readonly<Record<string, unknown>>): Promise<InstalledPackage[]> {
  const install = packagesInstallPath(project);
  const entries = await readdir(path.join(dir, install), { withFileTypes: true }).catch(() => []);
  // a folder, or a link to one (dbt deps links a local package)
  const folders = [];
  for (const entry of entries) {
    const linked = entry.isSymbolicLink() && (await stat(path.join(dir, install, entry.name)).catch(() => undefined))?.isDirectory();
    if (entry.isDirectory() || linked) folders.push(entry);
  }
  const packages: InstalledPackage[] = [];
  for (const entry of folders.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const folder = path.join(install, entry.name);
    const file = path.join(folder, 'dbt_project.yml');
    const raw = await projectYamlAt(path.join(dir, folder));
    if (raw === undefined) continue;
    const name = String(raw.name ?? '');
    if (!IDENTIFIER.test(name)) throw new ProjectError(`${file}: package name '${name}' is not a valid name`, file);
    if (packages.some((other) => other.name === name)) throw new ProjectError(`${file}: a second package named '${name}'`, file);
    await refuseNodes(dir, folder, raw, name);
    const under = (key: string, fallback: string) => pathsOf(raw, key, fallback).map((p) => path.join(folder, p));
    packages.push({ name, folder, macroPaths: under('macro-paths', 'macros'), testPaths: under('test-paths', 'tests') });
  }
  return packages;
}

/** The files of the installed packages a run reads (each dbt_project.yml and macro file), relative to the project. */
export async function packageFiles(dir: string, project: Readonly<Record<string, unknown>>): Promise<string[]> {
  const files: string[] = [];
  for (const pkg of await installedPackages(dir, project)) {
    files.push(path.join(pkg.folder, 'dbt_project.yml'));
    for (const macros of pkg.macroPaths)
      files.push(...(await filesUnder(path.join(dir, macros), ['.sql'])).map((f) => path.relative(dir, f)));
    const tests = (await Promise.all(pkg.testPaths.map((t) => filesUnder(path.join(dir, t), ['.sql'])))).flat();
    files.push(...tests.filter((f) => f.split(path.sep).includes('generic')).map((f) => path.relative(dir, f)));
  }
  return files.map((file) => file.split(path.sep).join('/'));
}

// A project's identity: a hash of every file a run reads (models, macros, tests, YAML, seeds,
// dbt_project.yml, installed packages' macros), so that a run names the project it runs and a
// worker can tell whether it has it.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProjectRef } from './types';
import { ProjectError } from '../errors';
import { skippedInProject } from './skipped-folders';
import { packageFiles, projectYamlAt } from './packages';

async function projectFiles(dir: string, below = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, below), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const relative = below ? `${below}/${entry.name}` : entry.name;
    if (skippedInProject(entry.name, below === '')) continue;
    if (entry.isDirectory()) files.push(...(await projectFiles(dir, relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

/** The project folder's identity: its absolute path, each file's content hash and one hash over them all. */
export async function fingerprintProject(dir: string): Promise<Required<ProjectRef>> {
  const absolute = path.resolve(dir);
  let names: string[];
  try {
    // and the installed packages' files a run reads, which the walk leaves out with dbt_packages/
    const project = (await projectYamlAt(absolute)) ?? {};
    const packaged = await packageFiles(absolute, project);
    names = [...new Set([...(await projectFiles(absolute)), ...packaged])];
  } catch (err) {
    throw new ProjectError(`project ${absolute} cannot be read: ${(err as Error).message}`, absolute);
  }
  const files: Record<string, string> = {};
  const whole = createHash('sha256');
  for (const name of names) {
    const digest = createHash('sha256')
      .update(await readFile(path.join(absolute, name)))
      .digest('hex')
      .slice(0, 16);
    files[name] = digest;
    whole.update(`${name}\0${digest}\n`);
  }
  return { dir: absolute, hash: whole.digest('hex').slice(0, 16), files };
}

/** What differs between the files a run names and the ones found: `changed a.sql, added b.sql, removed c.yml`. */
export function projectChanges(expected: Required<ProjectRef>['files'], found: Required<ProjectRef>['files']): string {
  const changed = Object.keys(expected).filter((name) => name in found && found[name] !== expected[name]);
  const added = Object.keys(found).filter((name) => !(name in expected));
  const removed = Object.keys(expected).filter((name) => !(name in found));
  const list = (verb: string, names: string[]) =>
    names.length === 0 ? [] : [`${verb} ${names.slice(0, 8).join(', ')}${names.length > 8 ? ` and ${names.length - 8} more` : ''}`];
  return [...list('changed', changed), ...list('added', added), ...list('removed', removed)].join('; ') || 'no file differs';
}

// Which folders of a project folder are not the project's source: what its fingerprint leaves out,
// and where a run may keep its warehouse or results inside it. Pure, so that workflow code reads it too.

/** dbt's own output and installed packages, and tools' folders: not the project's source. */
const SKIPPED_FOLDERS = new Set(['target', 'logs', 'dbt_packages', 'dbt_modules', 'node_modules', '__pycache__']);

/** A folder or file name the fingerprint skips, with all below it: hidden ones and those above. */
export function skippedInProject(name: string): boolean {
  return name.startsWith('.') || SKIPPED_FOLDERS.has(name);
}

/** Whether a path below the project (`a/b/c`) is counted as the project's: no part of it is skipped. */
export function countedInProject(relative: string): boolean {
  return relative.split('/').every((part) => part === '' || !skippedInProject(part));
}

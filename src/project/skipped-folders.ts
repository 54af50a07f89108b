// Which files of a project folder are not the project's source: what its fingerprint leaves out, what
// the loader does not read, and where a run may keep its warehouse or results inside it. One rule for
// all three, so that a file the loader reads is always one the fingerprint counts. Pure, so that
// workflow code reads it too.

/** dbt's own output and installed packages, at the project's top: not its source. */
const DBT_OUTPUT = new Set(['target', 'logs', 'dbt_packages', 'dbt_modules']);
/** Tools' folders, anywhere. */
const TOOL_FOLDERS = new Set(['node_modules', '__pycache__']);

/** A file or folder name skipped with all below it: hidden ones, tools' folders, and dbt's output at the top. */
export function skippedInProject(name: string, atTop: boolean): boolean {
  return name.startsWith('.') || TOOL_FOLDERS.has(name) || (atTop && DBT_OUTPUT.has(name));
}

/** Whether a path below the project (`a/b/c`) is counted as the project's: no part of it is skipped. */
export function countedInProject(relative: string): boolean {
  const parts = relative.split('/').filter((part) => part !== '');
  return parts.every((part, i) => !skippedInProject(part, i === 0));
}

/** Whether a file found below a folder of the project is read: no part below the folder is hidden or a tool's. */
export function readBelow(folder: string, file: string): boolean {
  const relative = file.startsWith(`${folder}/`) ? file.slice(folder.length + 1) : file;
  return relative.split('/').every((part) => part === '' || !skippedInProject(part, false));
}

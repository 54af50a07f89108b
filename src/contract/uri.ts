// Locations as URIs, pure (no node:path), so workflow code can name the places activities write to.

/** Append path segments to a local path or an s3:// URI. */
export function childUri(base: string, ...segments: string[]): string {
  return [base.replace(/\/+$/, ''), ...segments].join('/');
}

/**
 * The folder a run's report, record and results lie in, under `<out>/runs/`: its workflow id with
 * anything but letters, digits, `.`, `_` and `-` made `-` (a scheduled run's id ends in its time,
 * whose colons a folder name should not hold).
 */
export function runFolderName(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]/g, '-');
}

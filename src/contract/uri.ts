// Locations as URIs, pure (no node:path), so workflow code can name the places activities write to.

/** Append path segments to a local path or an s3:// URI. */
export function childUri(base: string, ...segments: string[]): string {
  return [base.replace(/\/+$/, ''), ...segments].join('/');
}

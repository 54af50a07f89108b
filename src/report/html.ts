// Small helpers shared by the report's HTML pages.

/** Text made safe for HTML and SVG content and for attribute values in double quotes. */
export const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A count of rows as people read it: `840`, `612.4k`, `3.5M`. */
export function compactCount(rows: number): string {
  if (Math.abs(rows) < 1000) return rows.toLocaleString('en-GB');
  if (Math.abs(rows) < 1_000_000) return `${(rows / 1000).toFixed(1)}k`;
  return `${(rows / 1_000_000).toFixed(1)}M`;
}

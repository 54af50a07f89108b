// Aligned text tables for the terminal: `status`'s nodes, `runs`, `schedule list`, `query`'s rows.

/**
 * The header and rows as aligned lines, two spaces apart, trailing spaces trimmed: `right` columns
 * (by index) padded on the left, and with `rule` a line of dashes under the header.
 */
export function alignedTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { readonly right?: readonly number[]; readonly rule?: boolean } = {},
): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (options.right?.includes(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...(options.rule ? [widths.map((width) => '-'.repeat(width)).join('  ')] : []), ...rows.map(line)];
}

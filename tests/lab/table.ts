/** A plain-text table for test logs: columns padded to their widest cell. */
export function formatTable(header: string[], rows: unknown[][]): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => String(cell ?? "")));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => [...(row[i] ?? "")].length)));
  const line = (row: string[]) =>
    "  " +
    row.map((cell, i) => cell + " ".repeat(widths[i] - [...cell].length)).join("  ").trimEnd();
  return [
    line(cells[0]),
    "  " + widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.slice(1).map(line),
  ]
    .join("\n");
}

/**
 * Plain-text tables for benchmark output: a header row, a rule, and rows,
 * columns separated by two spaces; text columns left-aligned, numbers right.
 */

export type Cell = string | number;

/** Formats a number with thousands separators and `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "-";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Renders rows under `header`; a cell that is a number is right-aligned. */
export function renderTable(header: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map((cell) => String(cell)));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === "number" || /^[\d,.-]+[x%]?$/.test(String(row[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...text.map(line)].join("\n");
}

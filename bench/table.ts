// Figures as the bench prints them: the median of the runs with their min and max, in one Markdown table.

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spreadOf(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number };
}

/** "1.23 (1.10–1.40)", or "—" without runs; `digits` after the point. */
export function formatSpread(spread: Spread | undefined, digits: number, unit = ''): string {
  if (!spread) return '—';
  const f = (value: number) => value.toFixed(digits);
  if (spread.min === spread.max) return `${f(spread.median)}${unit}`;
  return `${f(spread.median)}${unit} (${f(spread.min)}–${f(spread.max)})`;
}

/** A Markdown table with its columns padded, as prettier would write it. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, column) => Math.max(3, cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(header), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

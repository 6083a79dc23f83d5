/** Medians, ratios and the Markdown tables of the benchmark report. */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Element-wise ratios of two series measured in pairs (same round or same sample). */
export function pairedRatios(values: readonly number[], baseline: readonly number[]): number[] {
  if (values.length !== baseline.length) throw new Error(`cannot pair ${values.length} values with ${baseline.length} baseline values`);
  return values.map((value, index) => value / baseline[index]!);
}

/** Formats a number with thousands separators and `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * Formats a ratio as `0.62`, with the range of the paired ratios when there are several: `0.62 (0.58-0.66)`.
 * Ratios of 10 and more get no decimals.
 */
export function formatRatio(ratios: readonly number[]): string {
  const middle = median(ratios);
  const digits = middle >= 10 ? 0 : 2;
  if (ratios.length < 2) return middle.toFixed(digits);
  return `${middle.toFixed(digits)} (${Math.min(...ratios).toFixed(digits)}-${Math.max(...ratios).toFixed(digits)})`;
}

export function formatBytes(bytes: number): string {
  return `${formatNumber(bytes / (1024 * 1024), 1)} MiB`;
}

/** Formats a Markdown table; numbers should already be formatted. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

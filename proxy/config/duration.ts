/**
 * Durations with units, as written in config files and command-line flags: `500ms`, `5s`, `2m`,
 * `1h`, `1d`, or a sum such as `1h30m`. A bare number is rejected, because its unit would be a guess.
 */

const UNIT_MILLISECONDS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Parses a duration string into milliseconds, or returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;

  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = PART.exec(trimmed); match !== null; match = PART.exec(trimmed)) {
    total += Number(match[1]) * (UNIT_MILLISECONDS[match[2] ?? ''] ?? Number.NaN);
    consumed = PART.lastIndex;
  }
  if (consumed !== trimmed.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/** Parses a duration or throws a TypeError that names the flag or field and the expected form. */
export function requireDuration(text: string, name: string): number {
  const milliseconds = parseDuration(text);
  if (milliseconds === undefined) {
    throw new TypeError(`${name} "${text}": invalid duration, expected a number with a unit such as 500ms, 5s, 1h`);
  }
  return milliseconds;
}

/** Formats milliseconds for messages: `1500` becomes `1.5s`, `3600000` becomes `1h`. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds % 3_600_000 === 0 && milliseconds > 0) return `${milliseconds / 3_600_000}h`;
  if (milliseconds % 60_000 === 0 && milliseconds > 0) return `${milliseconds / 60_000}m`;
  if (milliseconds >= 1000) return `${milliseconds / 1000}s`;
  return `${milliseconds}ms`;
}

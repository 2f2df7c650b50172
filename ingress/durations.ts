/**
 * Durations as flags and annotations write them: a number of seconds
 * ("60", "0.5", as nginx annotations do) or a number with a unit (ms, s, m, h).
 */
const units: Record<string, number> = { '': 1000, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (units[match[2] ?? ''] ?? 1000));
}

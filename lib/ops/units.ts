/**
 * Human units for the ops commands: counts with thousands separators, percentages in
 * `ptq status`'s style, rates that stay readable for slow tasks, and short durations.
 */

const SECOND = 1;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** `1234567` → `1,234,567`. */
export function formatCount(value: number): string {
  return grouped.format(value);
}

/** `part` as a percentage of `whole`, rounded to 0.1; `null` when `whole` is unknown or 0 (ptq prints `--%`). */
export function percentOf(part: number | undefined, whole: number | undefined): number | null {
  if (part === undefined || whole === undefined || whole <= 0) return null;
  return Math.round((part / whole) * 1000) / 10;
}

/** `12.3` → `12.3%`, `null` → `--%`, like `ptq status`. */
export function formatPercent(percent: number | null): string {
  return percent === null ? '--%' : `${oneDecimal.format(percent)}%`;
}

/**
 * A rate in tasks per second, shown in the unit that keeps it above 1: `42.0/s`, `3.5/min`, `2.0/h`.
 * Batch tasks range from milliseconds to hours, so a fixed `/s` would read `0.0/s` for slow ones.
 */
export function formatRate(perSecond: number): string {
  if (perSecond <= 0) return '0/s';
  if (perSecond >= 1) return `${oneDecimal.format(perSecond)}/s`;
  if (perSecond * MINUTE >= 1) return `${oneDecimal.format(perSecond * MINUTE)}/min`;
  return `${oneDecimal.format(perSecond * HOUR)}/h`;
}

/** Seconds as the two largest units: `42s`, `3m 05s`, `2h 07m`, `3d 04h`. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < MINUTE) return `${s}s`;
  if (s < HOUR) return `${Math.floor(s / MINUTE)}m ${two(s % MINUTE)}s`;
  if (s < DAY) return `${Math.floor(s / HOUR)}h ${two(Math.floor((s % HOUR) / MINUTE))}m`;
  return `${Math.floor(s / DAY)}d ${two(Math.floor((s % DAY) / HOUR))}h`;
}

/** Local wall-clock time `HH:MM:SS`, for "done at" estimates and watch lines. */
export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export type Align = 'left' | 'right';

/**
 * Pads cells so columns line up. Trailing whitespace is trimmed, so the last column needs no
 * padding and empty cells at the end of a row leave no spaces behind.
 */
export function alignColumns(rows: readonly (readonly string[])[], aligns: readonly Align[], gap = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (aligns[i] === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join(gap)
      .trimEnd(),
  );
}

/** Cuts `text` to `max` characters, marking the cut with `…`. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

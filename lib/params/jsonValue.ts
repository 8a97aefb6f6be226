/**
 * One Arrow value's conversion to a JSON value: the JSON value type, the error a value that cannot
 * become JSON raises, and the value rules shared by the Arrow and Parquet readers (strict UTF-8,
 * exact integers, finite floats, ISO 8601 timestamps and dates).
 */
import { TimeUnit } from 'apache-arrow';
import { UNIT_NAMES } from './arrowTypeNames';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One value that cannot become JSON; the caller adds the row and column. */
export class CellError extends Error {
  override readonly name = 'CellError';
}

/** Ticks per second and the number of fraction digits printed, per timestamp unit. */
const UNIT_SCALE: Record<TimeUnit, { perSecond: bigint; digits: number }> = {
  [TimeUnit.SECOND]: { perSecond: 1n, digits: 3 },
  [TimeUnit.MILLISECOND]: { perSecond: 1_000n, digits: 3 },
  [TimeUnit.MICROSECOND]: { perSecond: 1_000_000n, digits: 6 },
  [TimeUnit.NANOSECOND]: { perSecond: 1_000_000_000n, digits: 9 },
};

/** The largest |milliseconds| a JavaScript Date holds (±275,760 years around 1970). */
const MAX_DATE_MS = 8.64e15;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a string value's bytes, refusing what is not UTF-8 (apache-arrow's getter would give U+FFFD). */
export function strictUtf8(bytes: Uint8Array): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const hex = [...bytes.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new CellError(
      `its bytes are not UTF-8 (${hex}${bytes.length > 16 ? ' ...' : ''}); store text as UTF-8 strings, or binary ` +
        `data base64-encoded`,
    );
  }
}

export function safeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new CellError(
      `${value} does not fit a JSON number exactly (the limit is ±${Number.MAX_SAFE_INTEGER}, 2^53 − 1); ` +
        'store it as a string column (df[col].astype(str)) if the task needs every digit',
    );
  }
  return Number(value);
}

export function finiteOrNull(value: number): number | null {
  if (Number.isNaN(value)) return null;
  if (!Number.isFinite(value))
    throw new CellError(`${value} cannot be sent as JSON; replace infinities before writing`);
  return value;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** Timestamp ticks → `YYYY-MM-DDTHH:MM:SS.fffZ` (6 or 9 fraction digits for us/ns), exact for every unit. */
export function timestampToIso(ticks: bigint, unit: TimeUnit): string {
  const { perSecond, digits } = UNIT_SCALE[unit];
  const seconds = floorDiv(ticks, perSecond);
  const fraction = ticks - seconds * perSecond;
  const ms = Number(seconds) * 1000;
  if (Math.abs(ms) > MAX_DATE_MS)
    throw new CellError(`timestamp ${ticks} ${UNIT_NAMES[unit]} is outside the dates JSON strings can show here`);
  const whole = new Date(ms).toISOString(); // always ends in ".000Z"
  const fractionDigits = ((fraction * 10n ** BigInt(digits)) / perSecond).toString().padStart(digits, '0');
  return `${whole.slice(0, -5)}.${fractionDigits}Z`;
}

/** Milliseconds since the epoch → `YYYY-MM-DD` (the UTC calendar date). */
export function msToDate(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS)
    throw new CellError(`date ${ms} ms is outside the dates JSON strings can show here`);
  const iso = new Date(ms).toISOString();
  return iso.slice(0, iso.indexOf('T'));
}

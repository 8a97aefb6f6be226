/**
 * JSON text byte-identical to Python's `json.dumps(value)` with its defaults, for the values a task
 * message holds: `", "` and `": "` separators, every character outside printable ASCII escaped as
 * `\uXXXX` (ensure_ascii), floats in Python's `repr` form (`1e-05`, not `0.00001`). ASCII-only
 * output is what lets old Python readers in any locale read our task files.
 *
 * What JSON cannot carry stays as `JSON.stringify` has it: a whole number is written without a
 * fraction (Python would write `2.0` for a float), NaN and ±Infinity become `null`.
 */

const NON_ASCII = /[\u007f-\uffff]/g;

function asciiString(text: string): string {
  // JSON.stringify already escapes quotes, backslashes and control characters as Python does.
  return JSON.stringify(text).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Python's float repr: the same shortest digits as JavaScript, exponent form below 1e-4. */
function pythonNumber(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  if (Number.isInteger(value) || Math.abs(value) >= 1e-4) return String(value);
  const [digits, exponent] = value.toExponential().split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${digits}e${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
}

function hasToJSON(value: object): value is { toJSON(key: string): unknown } {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

function dump(value: unknown, key: string): string | undefined {
  if (value !== null && typeof value === 'object' && hasToJSON(value)) value = value.toJSON(key);
  switch (typeof value) {
    case 'string':
      return asciiString(value);
    case 'number':
      return pythonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map((item, i) => dump(item, String(i)) ?? 'null').join(', ')}]`;
  const members: string[] = [];
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    const text = dump(item, name);
    if (text !== undefined) members.push(`${asciiString(name)}: ${text}`);
  }
  return `{${members.join(', ')}}`;
}

/** `json.dumps(value)` as Python writes it; throws a TypeError for values JSON cannot hold at the top level. */
export function pythonJsonDumps(value: unknown): string {
  const text = dump(value, '');
  if (text === undefined) throw new TypeError(`cannot encode ${typeof value} as JSON`);
  return text;
}

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
/** Printable ASCII but `"` and `\\`: written between quotes as it is (most strings; a fast path). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function asciiString(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  // JSON.stringify already escapes quotes, backslashes and control characters as Python does.
  return JSON.stringify(text).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Object keys repeat on every row (a table's column names): their quoted form is kept. */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 10_000;

function quotedKey(name: string): string {
  let quoted = quotedKeys.get(name);
  if (quoted === undefined) {
    quoted = asciiString(name);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(name, quoted);
  }
  return quoted;
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
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ', ') + (dump(value[i], String(i)) ?? 'null');
    return `${text}]`;
  }
  let text = '{';
  let first = true;
  const record = value as Record<string, unknown>;
  for (const name in record) {
    if (!Object.hasOwn(record, name)) continue;
    const item = dump(record[name], name);
    if (item === undefined) continue;
    text += (first ? '' : ', ') + quotedKey(name) + ': ' + item;
    first = false;
  }
  return `${text}}`;
}

/** `json.dumps(value)` as Python writes it; throws a TypeError for values JSON cannot hold at the top level. */
export function pythonJsonDumps(value: unknown): string {
  const text = dump(value, '');
  if (text === undefined) throw new TypeError(`cannot encode ${typeof value} as JSON`);
  return text;
}

/** Commander argument parsers shared by the commands: one wording for the same mistake everywhere. */
import { InvalidArgumentError } from 'commander';

/** A number of seconds > 0 (fractions allowed). */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number of seconds > 0, e.g. 5`);
  return n;
}

/** A whole number within [min, max]. */
export function integerBetween(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
  return (value: string): number => {
    const n = Number(value.trim());
    if (!/^\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number ${range}`);
    return n;
  };
}

/** A repeatable option: `--id a --id b` → `['a', 'b']`. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

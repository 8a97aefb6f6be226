/**
 * Warnings for names that look like settings but are none: `TQ_LEASE_SECOND=30` in an env file or
 * the environment would otherwise be ignored without a word. A name is suspect when it starts like
 * ours (TQ_, WORKER_, TASKQUEUE_, CF_, TASK_PARAMETER) or is a typo's distance from one of ours;
 * other variables (AWS_REGION, PATH, ...) are none of our business.
 */
import { closest } from '../suggest';
import { ENV_NAMES } from './table';

const OUR_PREFIXES = ['TQ_', 'WORKER_', 'TASKQUEUE_', 'CF_', 'TASK_PARAMETER'];

export function unknownNameWarnings(
  names: readonly { readonly name: string; readonly line?: number }[],
  where: string,
): string[] {
  const known = new Set<string>(ENV_NAMES);
  const warnings: string[] = [];
  for (const { name, line } of names) {
    if (known.has(name)) continue;
    const guess = closest(name, ENV_NAMES);
    const ours = OUR_PREFIXES.some((prefix) => name.startsWith(prefix));
    if (!ours && guess === undefined) continue;
    const at = line === undefined ? where : `${where} line ${line}`;
    warnings.push(
      `${at}: ${name} is not a setting and is ignored` +
        (guess ? `; did you mean ${guess}?` : ` (settings: ${ENV_NAMES.join(', ')})`),
    );
  }
  return warnings;
}

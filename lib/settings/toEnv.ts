/**
 * Settings back to environment variables, for the processes that read them: `npm start`'s worker
 * processes and the stack's worker pods. Derived from the table, so a new setting reaches both.
 */
import { SETTING_KEYS, SETTINGS, SettingKey, SettingValues } from './table';

export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

/** The variables for the given settings (unset ones are left out), in the table's order. */
export function settingsToEnv(values: Partial<Record<SettingKey, SettingValues[SettingKey]>>): EnvVar[] {
  const vars: EnvVar[] = [];
  for (const key of SETTING_KEYS) {
    const value = values[key];
    if (value === undefined) continue;
    vars.push({ name: SETTINGS[key].env, value: typeof value === 'boolean' ? (value ? '1' : '0') : String(value) });
  }
  return vars;
}

/** The same, as a process environment object. */
export function settingsToProcessEnv(
  values: Partial<Record<SettingKey, SettingValues[SettingKey]>>,
): Record<string, string> {
  return Object.fromEntries(settingsToEnv(values).map(({ name, value }) => [name, value]));
}

/**
 * Options every command shares, with the same meaning everywhere, and the one way commands turn
 * them into settings and report fatal errors. The setting flags come from the settings table.
 */
import { Command, Option } from 'commander';
import { isUserFacingError } from '../errors';
import { EnvValues, loadSettings, SETTING_KEYS, SettingKey, SETTINGS, TaskSettings } from '../settings';

/** Parsed options: `envFile` plus one attribute per setting flag (commander's camel-case names). */
export interface CommonOptions {
  envFile?: string;
  [attribute: string]: unknown;
}

function settingOption(key: SettingKey): Option {
  const setting = SETTINGS[key];
  const option = new Option(setting.flag, `${setting.doc.replace(/`/g, '')} (${setting.env})`);
  return 'choices' in setting ? option.choices(setting.choices) : option;
}

/** Adds the flags of the given settings (default: those every command takes). */
export function addSettingOptions(
  command: Command,
  keys: readonly SettingKey[] = SETTING_KEYS.filter((key) => SETTINGS[key].scope === 'all'),
): Command {
  for (const key of keys) command.addOption(settingOption(key));
  return command;
}

/** Adds `-e/--env-file` and the flags of the settings every command takes. */
export function addCommonOptions(command: Command): Command {
  command.addOption(
    new Option('-e, --env-file <file>', 'read settings from this KEY=VALUE file (over config/task.env)'),
  );
  return addSettingOptions(command);
}

/** The worker's own settings (concurrency, grace, ...), for the commands that start workers. */
export function workerSettingKeys(exclude: readonly SettingKey[] = []): SettingKey[] {
  return SETTING_KEYS.filter((key) => SETTINGS[key].scope === 'worker' && !exclude.includes(key));
}

/**
 * Settings for a command: flags > environment > env file > config/task.env. Warnings about names
 * that look like misspelt settings go to stderr, once.
 */
export function settingsFrom(options: CommonOptions, warn: (line: string) => void = printWarning): TaskSettings {
  const overrides: EnvValues = {};
  for (const key of SETTING_KEYS) {
    const value = options[settingOption(key).attributeName()];
    if (value === undefined || value === false) continue;
    overrides[SETTINGS[key].env] = value === true ? '1' : String(value);
  }
  const settings = loadSettings({ envFile: options.envFile, overrides });
  for (const warning of settings.warnings) warn(warning);
  return settings;
}

function printWarning(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}

/** Runs a command's main function: exit 1 with a readable message on failure. */
export async function runMain(main: () => Promise<number | void>): Promise<void> {
  try {
    const code = await main();
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (error) {
    if (isUserFacingError(error)) {
      process.stderr.write(`error: ${error.message}\n`);
    } else {
      process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exitCode = 1;
  }
}

/**
 * Loads the task settings for every command and for the worker container, from the table in
 * `table.ts`.
 *
 * Sources, strongest first: explicit overrides (command-line flags) > process environment >
 * the `-e/--env-file` file > `config/task.env` (the shipped defaults) > the table's defaults
 * (equal to `config/task.env`, so a container without that file behaves the same).
 * Every problem is collected and reported at once in one `ConfigError`; names that look like a
 * misspelt setting become warnings with "did you mean".
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseQueueUrl } from '../urls/queue';
import { parseCloudpath } from '../urls/cloudpath';
import { ENV_NAMES, EnvName, SETTING_KEYS, SettingDescriptor, SettingKey, SETTINGS, SettingValues } from './table';
import { readEnvFile } from './envFile';
import { unknownNameWarnings } from './unknownNames';

export type EnvValues = Partial<Record<EnvName, string>>;

export type SettingSource = 'flag' | 'environment' | 'env-file' | 'shipped-default' | 'built-in-default' | 'unset';

export interface TaskSettings extends SettingValues {
  /** Where each value came from, for diagnostics. */
  readonly sources: Readonly<Record<SettingKey, SettingSource>>;
  /** Names that look like misspelt settings, with "did you mean"; the commands print them. */
  readonly warnings: readonly string[];
}

/** The project's shipped defaults file. */
export const SHIPPED_ENV_FILE = path.resolve(__dirname, '..', '..', 'config', 'task.env');

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly userFacing = true;
  constructor(readonly problems: readonly string[]) {
    super(`invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface LoadSettingsOptions {
  /** `-e/--env-file FILE`. */
  readonly envFile?: string;
  /** Values from command-line flags, by environment name. */
  readonly overrides?: EnvValues;
  /** Defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Defaults to `config/task.env`; a missing file is fine (the built-in defaults equal it). */
  readonly shippedEnvFile?: string;
}

/** Accepts the template's habit of naming the table without its `.feather` extension. */
export function resolveParamsFile(name: string): string {
  if (path.extname(name) !== '' || existsSync(name)) return name;
  const withExtension = `${name}.feather`;
  return existsSync(withExtension) ? withExtension : name;
}

/** The zod schema of one setting's text value. */
function valueSchema(descriptor: SettingDescriptor): z.ZodType<unknown, string> {
  const text = z.string().trim();
  switch (descriptor.type) {
    case 'integer': {
      const { min, max, unit } = descriptor;
      return text
        .regex(/^\d+$/, { message: `must be a whole number of ${unit}` })
        .transform(Number)
        .pipe(
          z
            .number()
            .min(min, { message: `must be at least ${min} ${unit}` })
            .max(max, { message: `must be at most ${max} ${unit}` }),
        );
    }
    case 'boolean':
      return text
        .toLowerCase()
        .refine((v) => ['0', '1', 'true', 'false'].includes(v), { message: 'must be 1 or 0 (true or false)' })
        .transform((v) => v === '1' || v === 'true');
    case 'choice':
      return text.refine((v) => descriptor.choices.includes(v), {
        message: `must be one of ${descriptor.choices.join(', ')}`,
      });
    case 'path':
      return text.min(1, { message: 'is empty' });
    case 'queueUrl':
      return text.min(1, { message: 'is empty' }).superRefine(grammar(parseQueueUrl));
    case 'cloudpath':
      return text.min(1, { message: 'is empty' }).superRefine(grammar(parseCloudpath));
  }
}

/** Turns a URL grammar's error into a zod issue carrying the grammar's own words. */
function grammar(parse: (value: string) => unknown) {
  return (value: string, ctx: z.RefinementCtx) => {
    try {
      parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `: ${(error as Error).message}` });
    }
  };
}

function pick(values: Record<string, string | undefined>): EnvValues {
  const out: EnvValues = {};
  for (const name of ENV_NAMES) {
    const value = values[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

export function loadSettings(options: LoadSettingsOptions = {}): TaskSettings {
  const problems: string[] = [];
  const warnings: string[] = [];
  const env = options.env ?? process.env;
  const shippedFile = options.shippedEnvFile ?? SHIPPED_ENV_FILE;
  const fileLayer = (file: string, label: string): EnvValues => {
    const read = readEnvFile(file, label);
    problems.push(...read.problems);
    warnings.push(...unknownNameWarnings(read.names, `${label} ${file}`));
    return pick(read.values);
  };
  warnings.push(
    ...unknownNameWarnings(
      Object.keys(env).map((name) => ({ name })),
      'the environment',
    ),
  );
  const layers: Array<[SettingSource, EnvValues]> = [
    ['flag', pick(options.overrides ?? {})],
    ['environment', pick(env)],
    ['env-file', options.envFile ? fileLayer(options.envFile, 'env file') : {}],
    [
      'shipped-default',
      existsSync(shippedFile) && statSync(shippedFile).isFile() ? fileLayer(shippedFile, 'shipped env file') : {},
    ],
  ];

  const values: Record<string, unknown> = {};
  const sources = {} as Record<SettingKey, SettingSource>;
  for (const key of SETTING_KEYS) {
    const descriptor: SettingDescriptor = SETTINGS[key];
    const env: EnvName = SETTINGS[key].env;
    const layer = layers.find(([, layerValues]) => layerValues[env] !== undefined);
    const raw = layer ? layer[1][env] : descriptor.default;
    sources[key] = layer ? layer[0] : raw === undefined ? 'unset' : 'built-in-default';
    if (raw === undefined) continue;
    const parsed = valueSchema(descriptor).safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else {
      for (const issue of parsed.error.issues) {
        const gap = issue.message.startsWith(':') ? '' : ' ';
        problems.push(`${descriptor.env}=${JSON.stringify(raw)} (from ${sources[key]})${gap}${issue.message}`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (typeof values.paramsFile === 'string') values.paramsFile = resolveParamsFile(values.paramsFile);
  // Every key was parsed by its own descriptor's schema above, so the record has the table's types.
  return { ...(values as unknown as SettingValues), sources, warnings };
}

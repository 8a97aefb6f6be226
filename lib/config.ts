/**
 * Task settings: one typed loader for every command and for the worker container.
 *
 * Sources, strongest first: explicit overrides (command-line flags) > process environment >
 * the `-e/--env-file` file > `config/task.env` (the shipped defaults) > the defaults below
 * (kept equal to `config/task.env`, so a container without that file behaves the same).
 * Every problem is collected and reported at once in one `ConfigError`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseEnv } from 'dotenv';
import { z } from 'zod';

/** The environment variable names, as in the Python template where it had them. */
export const ENV_KEYS = [
  'TASKQUEUE_PATH',
  'TQ_LEASE_SECONDS',
  'TASK_PARAMETER_FILENAME',
  'CF_CLOUDPATH',
  'TQ_MAX_ATTEMPTS',
  'WORKER_CONCURRENCY',
  'WORKER_GRACE_SECONDS',
  'WORKER_METRICS_PORT',
  'WORKER_EXIT_WHEN_EMPTY',
] as const;
export type EnvKey = (typeof ENV_KEYS)[number];
export type EnvValues = Partial<Record<EnvKey, string>>;

/** SQS caps a visibility timeout at 12 hours. */
export const MAX_LEASE_SECONDS = 12 * 60 * 60;

export const DEFAULTS: Readonly<Record<EnvKey, string | undefined>> = {
  TASKQUEUE_PATH: 'fq://./local/queue',
  TQ_LEASE_SECONDS: '60',
  TASK_PARAMETER_FILENAME: 'local/params.feather',
  CF_CLOUDPATH: 'file://./local/outputs',
  TQ_MAX_ATTEMPTS: '5',
  WORKER_CONCURRENCY: '1',
  WORKER_GRACE_SECONDS: '20',
  WORKER_METRICS_PORT: undefined,
  WORKER_EXIT_WHEN_EMPTY: '0',
};

/** The project's shipped defaults file. */
export const SHIPPED_ENV_FILE = path.resolve(__dirname, '..', 'config', 'task.env');

const integer = (min: number, max: number, unit: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `must be a whole number of ${unit}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { message: `must be at least ${min} ${unit}` })
        .max(max, { message: `must be at most ${max} ${unit}` }),
    );

const queueUrl = z
  .string()
  .trim()
  .min(1, { message: 'is empty' })
  .refine((v) => /^(fq:\/\/.+|sqs:\/\/[^/]+|https?:\/\/.+)$/.test(v), {
    message: 'must be fq://DIR, sqs://NAME or an https:// SQS queue URL',
  });

const cloudpath = z
  .string()
  .trim()
  .min(1, { message: 'is empty' })
  .refine((v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^(file|gs|s3):\/\//.test(v), {
    message: 'must be file://DIR (or a bare path), gs://BUCKET/PREFIX or s3://BUCKET/PREFIX',
  });

const schema = z.object({
  TASKQUEUE_PATH: queueUrl,
  TQ_LEASE_SECONDS: integer(1, MAX_LEASE_SECONDS, 'seconds'),
  TASK_PARAMETER_FILENAME: z.string().trim().min(1, { message: 'is empty' }),
  CF_CLOUDPATH: cloudpath,
  TQ_MAX_ATTEMPTS: integer(1, 1000, 'attempts'),
  WORKER_CONCURRENCY: integer(1, 1000, 'tasks'),
  WORKER_GRACE_SECONDS: integer(0, 3600, 'seconds'),
  WORKER_METRICS_PORT: integer(1, 65535, '(port)').optional(),
  WORKER_EXIT_WHEN_EMPTY: z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['0', '1', 'true', 'false'].includes(v), { message: 'must be 1 or 0 (true or false)' })
    .transform((v) => v === '1' || v === 'true'),
});

export interface TaskSettings {
  /** TASKQUEUE_PATH */
  readonly queueUrl: string;
  /** TQ_LEASE_SECONDS */
  readonly leaseSeconds: number;
  /** TASK_PARAMETER_FILENAME, resolved: `.feather` appended when the name has no extension and only that file exists. */
  readonly paramsFile: string;
  /** CF_CLOUDPATH */
  readonly cloudpath: string;
  /** TQ_MAX_ATTEMPTS: attempts before a failing task is dead-lettered. */
  readonly maxAttempts: number;
  /** WORKER_CONCURRENCY: tasks run at once by one worker process. */
  readonly concurrency: number;
  /** WORKER_GRACE_SECONDS: time running tasks get to finish after SIGTERM before they are aborted and released. */
  readonly graceSeconds: number;
  /** WORKER_METRICS_PORT: serve /healthz and /metrics on this port when set. */
  readonly metricsPort?: number;
  /** WORKER_EXIT_WHEN_EMPTY: the worker exits once the queue is empty (local runs, Kubernetes Jobs). */
  readonly exitWhenEmpty: boolean;
  /** Where each value came from, for `--help`-style diagnostics. */
  readonly sources: Readonly<Record<EnvKey, SettingSource>>;
}

export type SettingSource = 'flag' | 'environment' | 'env-file' | 'shipped-default' | 'built-in-default' | 'unset';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface LoadSettingsOptions {
  /** `-e/--env-file FILE`. */
  readonly envFile?: string;
  /** Values from command-line flags. */
  readonly overrides?: EnvValues;
  /** Defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Defaults to `config/task.env`; a missing file is fine (the built-in defaults equal it). */
  readonly shippedEnvFile?: string;
}

function readEnvFile(file: string, problems: string[], label: string): EnvValues {
  try {
    return pick(parseEnv(readFileSync(file)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    problems.push(`${label} ${file} ${why}: pass an existing KEY=VALUE file, e.g. -e config/task.env`);
    return {};
  }
}

function pick(values: Record<string, string | undefined>): EnvValues {
  const out: EnvValues = {};
  for (const key of ENV_KEYS) {
    const value = values[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/** Accepts the template's habit of naming the table without its `.feather` extension. */
export function resolveParamsFile(name: string): string {
  if (path.extname(name) !== '' || existsSync(name)) return name;
  const withExtension = `${name}.feather`;
  return existsSync(withExtension) ? withExtension : name;
}

export function loadSettings(options: LoadSettingsOptions = {}): TaskSettings {
  const problems: string[] = [];
  const shippedFile = options.shippedEnvFile ?? SHIPPED_ENV_FILE;
  const layers: Array<[SettingSource, EnvValues]> = [
    ['flag', pick(options.overrides ?? {})],
    ['environment', pick(options.env ?? process.env)],
    ['env-file', options.envFile ? readEnvFile(options.envFile, problems, 'env file') : {}],
    [
      'shipped-default',
      existsSync(shippedFile) && statSync(shippedFile).isFile()
        ? readEnvFile(shippedFile, problems, 'shipped env file')
        : {},
    ],
  ];

  const raw: Record<string, string | undefined> = {};
  const sources = {} as Record<EnvKey, SettingSource>;
  for (const key of ENV_KEYS) {
    const layer = layers.find(([, values]) => values[key] !== undefined);
    raw[key] = layer ? layer[1][key] : DEFAULTS[key];
    sources[key] = layer ? layer[0] : DEFAULTS[key] === undefined ? 'unset' : 'built-in-default';
  }

  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]) as EnvKey;
      problems.push(`${key}=${JSON.stringify(raw[key] ?? '')} (from ${sources[key]}) ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);

  const v = parsed.data;
  return {
    queueUrl: v.TASKQUEUE_PATH,
    leaseSeconds: v.TQ_LEASE_SECONDS,
    paramsFile: resolveParamsFile(v.TASK_PARAMETER_FILENAME),
    cloudpath: v.CF_CLOUDPATH,
    maxAttempts: v.TQ_MAX_ATTEMPTS,
    concurrency: v.WORKER_CONCURRENCY,
    graceSeconds: v.WORKER_GRACE_SECONDS,
    metricsPort: v.WORKER_METRICS_PORT,
    exitWhenEmpty: v.WORKER_EXIT_WHEN_EMPTY,
    sources,
  };
}

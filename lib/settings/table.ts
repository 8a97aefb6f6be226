/**
 * The task settings, one row each: environment name (the Python template's where it had one),
 * command-line flag, type, shipped default and a one-line doc. Everything else is derived from this
 * table: the loader (`load.ts`), the commands' flags and `--help` (`lib/cli/options.ts`), the
 * environment of the pods the stack runs and of `npm start`'s worker processes (`toEnv.ts`), and the
 * settings tables in README.md, docs and `config/task.env` (`scripts/generate-settings.ts`, checked
 * by a test). Add a setting here and nowhere else.
 */

/** SQS caps a visibility timeout at 12 hours. */
export const MAX_LEASE_SECONDS = 12 * 60 * 60;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** Which commands take the setting as a flag (every command reads every setting from the environment). */
export type SettingScope = 'all' | 'worker';

interface Common {
  /** Environment variable (and `config/task.env` key). */
  readonly env: string;
  /** Commander flag, e.g. `--lease <seconds>`. */
  readonly flag: string;
  readonly scope: SettingScope;
  /** The shipped default, as written in `config/task.env`; absent: unset unless given. */
  readonly default?: string;
  /** One line for `--help` and the docs. */
  readonly doc: string;
}

export type SettingDescriptor =
  | (Common & { readonly type: 'queueUrl' | 'cloudpath' | 'path' | 'boolean' })
  | (Common & { readonly type: 'integer'; readonly min: number; readonly max: number; readonly unit: string })
  | (Common & { readonly type: 'choice'; readonly choices: readonly string[] });

export const SETTINGS = {
  queueUrl: {
    env: 'TASKQUEUE_PATH',
    flag: '--queue <url>',
    type: 'queueUrl',
    scope: 'all',
    default: 'fq://./local/queue',
    doc: 'the queue: `fq://DIR`, `sqs://NAME` (or an `https://sqs...` URL) or `pubsub://PROJECT/NAME`',
  },
  leaseSeconds: {
    env: 'TQ_LEASE_SECONDS',
    flag: '--lease <seconds>',
    type: 'integer',
    min: 1,
    max: MAX_LEASE_SECONDS,
    unit: 'seconds',
    scope: 'all',
    default: '60',
    doc: 'lease (SQS visibility timeout); renewed every third while a task runs',
  },
  paramsFile: {
    env: 'TASK_PARAMETER_FILENAME',
    flag: '--params <file>',
    type: 'path',
    scope: 'all',
    default: 'local/params.feather',
    doc: 'the parameter table (`.feather` may be left off)',
  },
  cloudpath: {
    env: 'CF_CLOUDPATH',
    flag: '--cloudpath <url>',
    type: 'cloudpath',
    scope: 'all',
    default: 'file://./local/outputs',
    doc: 'where outputs go: `file://DIR` (or a bare path), `gs://BUCKET/PREFIX` or `s3://BUCKET/PREFIX`',
  },
  maxAttempts: {
    env: 'TQ_MAX_ATTEMPTS',
    flag: '--max-attempts <n>',
    type: 'integer',
    min: 1,
    max: 1000,
    unit: 'attempts',
    scope: 'worker',
    default: '5',
    doc: 'tries before a failing task is dead-lettered',
  },
  concurrency: {
    env: 'WORKER_CONCURRENCY',
    flag: '--concurrency <n>',
    type: 'integer',
    min: 1,
    max: 1000,
    unit: 'tasks',
    scope: 'worker',
    default: '1',
    doc: 'tasks at once in one worker process',
  },
  graceSeconds: {
    env: 'WORKER_GRACE_SECONDS',
    flag: '--grace-seconds <s>',
    type: 'integer',
    min: 0,
    max: 3600,
    unit: 'seconds',
    scope: 'worker',
    default: '20',
    doc: 'time running tasks get after SIGTERM before they are aborted and released',
  },
  metricsPort: {
    env: 'WORKER_METRICS_PORT',
    flag: '--metrics-port <port>',
    type: 'integer',
    min: 1,
    max: 65535,
    unit: '(port)',
    scope: 'worker',
    doc: 'serve `/healthz` and Prometheus `/metrics` on this port',
  },
  exitWhenEmpty: {
    env: 'WORKER_EXIT_WHEN_EMPTY',
    flag: '--exit-when-empty',
    type: 'boolean',
    scope: 'worker',
    default: '0',
    doc: '`1`: exit 0 once the queue is empty (exit 3 if stopped before)',
  },
  taskTimeoutSeconds: {
    env: 'TQ_TASK_TIMEOUT_SECONDS',
    flag: '--task-timeout <seconds>',
    type: 'integer',
    min: 0,
    max: 7 * 24 * 60 * 60,
    unit: 'seconds',
    scope: 'worker',
    default: '0',
    doc: 'abort a task running longer, then end its thread: a failed attempt (`0`: no timeout)',
  },
  taskHeapMb: {
    env: 'WORKER_TASK_HEAP_MB',
    flag: '--task-heap-mb <mb>',
    type: 'integer',
    min: 16,
    max: 1024 * 1024,
    unit: 'MB',
    scope: 'worker',
    doc:
      "heap limit of each task's thread; a task over it fails alone " +
      '(unset: (memory limit − 256 MB) × 0.75 / concurrency)',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    flag: '--log-level <level>',
    type: 'choice',
    choices: LOG_LEVELS,
    scope: 'worker',
    default: 'info',
    doc: 'lowest log level the worker writes',
  },
  logFormat: {
    env: 'LOG_FORMAT',
    flag: '--log-format <format>',
    type: 'choice',
    choices: LOG_FORMATS,
    scope: 'worker',
    default: 'auto',
    doc: '`json` (one JSON object a line, for Cloud Logging), `pretty` (for people), or `auto`: pretty on a terminal',
  },
} as const satisfies Record<string, SettingDescriptor>;

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

type Descriptor<K extends SettingKey> = (typeof SETTINGS)[K];
type ValueOf<D> = D extends { type: 'integer' }
  ? number
  : D extends { type: 'boolean' }
    ? boolean
    : D extends { type: 'choice'; choices: readonly (infer C)[] }
      ? C
      : string;

/** The typed values: a setting without a default may be undefined. */
export type SettingValues = {
  readonly [K in SettingKey]: Descriptor<K> extends { default: string }
    ? ValueOf<Descriptor<K>>
    : ValueOf<Descriptor<K>> | undefined;
};

export type EnvName = Descriptor<SettingKey>['env'];
export const ENV_NAMES = SETTING_KEYS.map((key) => SETTINGS[key].env) as EnvName[];

/** The descriptor of an environment name, if it is one of ours. */
export function settingOfEnv(name: string): SettingKey | undefined {
  return SETTING_KEYS.find((key) => SETTINGS[key].env === name);
}

/** The environment name of a setting, for messages ("TQ_LEASE_SECONDS=..."). */
export function envName(key: SettingKey): EnvName {
  return SETTINGS[key].env;
}

/** "TASKQUEUE_PATH / --queue": how a message names a setting, so users can set it either way. */
export function settingRef(key: SettingKey): string {
  return `${SETTINGS[key].env} / ${SETTINGS[key].flag.split(' ')[0]}`;
}

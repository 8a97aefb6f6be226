/** The dev stack's config (Pulumi.dev.yaml plus AWS keys as `--secret` sets them), for plan and program tests. */
import path from 'node:path';
import { validateStackConfig, Validation } from '../../infra/plan/validate';
import type { TaskDefaults } from '../../infra/plan/types';
import { PROJECT_DIR, ProgramRun, readStackFile, runProgram } from './pulumiProgram';

export type Config = Record<string, unknown>;

export const TASK_DEFAULTS: TaskDefaults = {
  queueUrl: 'fq://./local/queue',
  cloudpath: 'file://./local/outputs',
  leaseSeconds: 60,
  maxAttempts: 5,
  concurrency: 1,
  graceSeconds: 20,
};
export const FAKE_KEYS = { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret-value' };

/** A view of the dev config whose structured keys can be changed in place. */
export type DevConfig = Config & { pools: Config[]; workers: Config; image: Config; aws: Config; scaling: Config };

export function devConfig(change: (config: DevConfig) => void = () => undefined): Record<string, string> {
  const config: Config = {};
  for (const [key, value] of Object.entries(readStackFile(path.join(PROJECT_DIR, 'Pulumi.dev.yaml')))) {
    config[key] = value.startsWith('{') || value.startsWith('[') ? JSON.parse(value) : value;
  }
  config['gke-batch:aws'] = { ...(config['gke-batch:aws'] as object), ...FAKE_KEYS };
  const view = Object.assign(config, {
    pools: config['gke-batch:nodePools'] as Config[],
    workers: config['gke-batch:workers'] as Config,
    image: config['gke-batch:image'] as Config,
    aws: config['gke-batch:aws'] as Config,
    scaling: config['gke-batch:scaling'] as Config,
  });
  change(view);
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(view)) {
    if (!key.includes(':') || value === undefined) continue;
    values[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return values;
}

/** Validates the changed dev config with the plan alone (no Pulumi). */
export function validateDev(
  change: (config: DevConfig) => void = () => undefined,
  secretKeys?: readonly string[],
): Validation {
  return validateStackConfig(devConfig(change), {
    taskDefaults: TASK_DEFAULTS,
    taskDefaultsSource: 'config/task.env',
    projectDir: PROJECT_DIR,
    fileExists: () => true,
    secretKeys,
  });
}

/** The problems of a changed dev config that must be rejected. */
export function problemsOf(change: (config: DevConfig) => void): readonly string[] {
  const result = validateDev(change);
  if (result.ok) throw new Error('expected the config to be rejected, but it was accepted');
  return result.problems;
}

/** Runs index.ts under mocks on the changed dev config, the aws key secret as `--secret` makes it. */
export function runDev(change: (config: DevConfig) => void = () => undefined): Promise<ProgramRun> {
  return runProgram(devConfig(change), ['gke-batch:aws']);
}

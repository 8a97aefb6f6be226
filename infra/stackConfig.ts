/**
 * The only glue between Pulumi's runtime and the pure plan: reads the stack config (and which keys
 * Pulumi holds as secrets), takes the task settings of config/task.env as defaults for the worker
 * keys, and validates it before the program declares anything.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { ConfigError, loadSettings, SHIPPED_ENV_FILE } from '../lib/settings';
import type { ConfigValues } from './plan/parse';
import { PROJECT } from './plan/schema';
import type { StackConfig, TaskDefaults } from './plan/types';
import { validateStackConfig } from './plan/validate';

/** Every problem of the stack config, printed by Pulumi without a stack trace. */
export class StackConfigError extends pulumi.RunError {
  constructor(readonly problems: readonly string[]) {
    super(
      `the stack config has ${problems.length} problem${problems.length === 1 ? '' : 's'} (nothing was changed):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nSet values with: pulumi config set [--path] [--secret] ${PROJECT}:KEY VALUE (see docs/deploy.md)`,
    );
  }
}

export interface LoadedStackConfig {
  readonly config: StackConfig;
  readonly warnings: readonly string[];
}

/** The stack's config from the Pulumi runtime (or the values a unit test set with setAllConfig). */
export function readConfigValues(): ConfigValues {
  return pulumi.runtime.allConfig();
}

/** The config keys Pulumi holds encrypted, among `keys`; undefined when the runtime cannot tell. */
function secretConfigKeys(keys: readonly string[]): string[] | undefined {
  // isConfigSecret is exported by the runtime but left out of its type declarations.
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  if (typeof runtime.isConfigSecret !== 'function') return undefined;
  return keys.filter((key) => runtime.isConfigSecret?.(key));
}

/** The validated config, or a StackConfigError listing every problem. */
export function readStackConfig(projectDir: string = process.cwd()): LoadedStackConfig {
  const relativeShipped = path.relative(projectDir, SHIPPED_ENV_FILE) || SHIPPED_ENV_FILE;
  let taskDefaults: TaskDefaults;
  try {
    // The stack's own keys override these; the deployer's shell environment deliberately does not.
    taskDefaults = loadSettings({ env: {} });
  } catch (error) {
    if (error instanceof ConfigError) throw new StackConfigError(error.problems.map((p) => `${relativeShipped}: ${p}`));
    throw error;
  }
  const values = readConfigValues();
  const result = validateStackConfig(values, {
    taskDefaults,
    taskDefaultsSource: relativeShipped,
    projectDir,
    fileExists: existsSync,
    secretKeys: secretConfigKeys(Object.keys(values)),
  });
  if (!result.ok) throw new StackConfigError(result.problems);
  return { config: result.config, warnings: result.warnings };
}

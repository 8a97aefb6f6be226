/**
 * Options every command shares, with the same meaning everywhere, and the one way commands turn
 * them into settings and report fatal errors.
 */
import { Command, Option } from 'commander';
import { ConfigError, EnvValues, loadSettings, TaskSettings } from '../config';
import { QueueError } from '../queue/errors';

// The AWS SDK prints a multi-line notice on Node 20 about SDK releases after January 2027 needing
// Node 22. The SDK version here is pinned, so the notice says nothing about this program; it would
// only bury the commands' own output. (Node 22 runs everything as well.)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface CommonOptions {
  envFile?: string;
  queue?: string;
  lease?: string;
  params?: string;
  cloudpath?: string;
}

/** Adds `-e/--env-file` and the single-setting overrides. */
export function addCommonOptions(command: Command): Command {
  return command
    .addOption(new Option('-e, --env-file <file>', 'read settings from this KEY=VALUE file (over config/task.env)'))
    .addOption(new Option('--queue <url>', 'queue URL (TASKQUEUE_PATH): fq://DIR, sqs://NAME or an SQS https URL'))
    .addOption(new Option('--lease <seconds>', 'lease length in seconds (TQ_LEASE_SECONDS)'))
    .addOption(new Option('--params <file>', 'parameter table (TASK_PARAMETER_FILENAME)'))
    .addOption(new Option('--cloudpath <url>', 'where outputs go (CF_CLOUDPATH): file://DIR, gs://..., s3://...'));
}

/** Settings for a command: flags > environment > env file > config/task.env. */
export function settingsFrom(options: CommonOptions, extra: EnvValues = {}): TaskSettings {
  return loadSettings({
    envFile: options.envFile,
    overrides: {
      TASKQUEUE_PATH: options.queue,
      TQ_LEASE_SECONDS: options.lease,
      TASK_PARAMETER_FILENAME: options.params,
      CF_CLOUDPATH: options.cloudpath,
      ...extra,
    },
  });
}

/** Errors we expect users to meet print as one clear message, without a stack trace. */
export function isUserFacingError(error: unknown): error is Error {
  return (
    error instanceof ConfigError || error instanceof QueueError || (error instanceof Error && 'userFacing' in error)
  );
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

/** An error whose message is complete advice for the user; printed without a stack trace. */
export class UserError extends Error {
  readonly userFacing = true;
  override readonly name = 'UserError';
}

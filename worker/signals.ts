/**
 * SIGTERM/SIGINT for the worker process. The first signal stops the worker gracefully, a second
 * one stops it at once; hard deadlines make the process exit within grace + 2 s of the first
 * signal, and within 1 s of a second, whatever the tasks and the queue do (a release that cannot
 * reach the queue is abandoned: its lease expires, nothing is lost).
 */
import { SECOND } from './backoff';
import type { Logger } from './logger';

/** Exit this long after the grace period at the latest (the Worker itself settles well before). */
export const EXIT_AFTER_GRACE_MS = 1900;
export const EXIT_AFTER_SECOND_SIGNAL_MS = SECOND;
/**
 * A second signal this soon after the first is the same Ctrl-C delivered twice: the terminal sends
 * SIGINT to the whole foreground process group, and npm (or tsx) relays it to its child as well.
 */
export const RELAYED_SIGNAL_MS = 300;

export interface ShutdownSignalsOptions {
  readonly log: Logger;
  readonly graceSeconds: number;
  /** The exit code when a deadline forces the exit. */
  readonly exitCode: () => number;
  /** Called once per (distinct) signal: the first asks for a graceful stop, the second for an immediate one. */
  readonly onSignal: (count: number) => void;
}

/** Installs the handlers; returns how many distinct signals came so far. */
export function installShutdownSignals(options: ShutdownSignalsOptions): () => number {
  const { log } = options;
  let signals = 0;
  let firstAt = 0;
  const exitWithin = (ms: number) =>
    setTimeout(() => {
      const code = options.exitCode();
      log.error({ exitCode: code }, 'shutdown deadline reached: exiting now; unreleased leases expire by themselves');
      process.exit(code);
    }, ms).unref();
  const handle = (signal: NodeJS.Signals) => {
    if (signals === 1 && Date.now() - firstAt < RELAYED_SIGNAL_MS) {
      log.debug({ signal }, `received ${signal} again within ${RELAYED_SIGNAL_MS} ms: the same signal, relayed`);
      return;
    }
    signals++;
    if (signals === 1) {
      firstAt = Date.now();
      log.info({ signal }, `received ${signal}: shutting down`);
      exitWithin(options.graceSeconds * SECOND + EXIT_AFTER_GRACE_MS);
    } else {
      log.info({ signal }, `received ${signal} again: terminating running tasks, releasing them and exiting now`);
      exitWithin(EXIT_AFTER_SECOND_SIGNAL_MS);
    }
    options.onSignal(signals);
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  return () => signals;
}

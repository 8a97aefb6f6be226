/**
 * The worker's structured logger: one JSON object per line on stdout, in the shape Google Cloud
 * Logging reads from a container's output: `severity` (DEBUG/INFO/WARNING/ERROR/CRITICAL),
 * `message`, and `time` as an ISO 8601 string. Everything else lands in the entry's jsonPayload.
 * On a terminal the same lines are printed for a person to read (pino-pretty).
 */
import pino, { DestinationStream, Level, Logger } from 'pino';
import pretty from 'pino-pretty';
import { TurnBatchedStream } from './logSink';

export type { Logger } from 'pino';

/** pino's level names mapped onto Cloud Logging's LogSeverity names. */
const SEVERITY: Readonly<Record<Level, string>> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface LoggerOptions {
  /** Lowest level written; default `info`. */
  readonly level?: Level | 'silent';
  /**
   * Where lines go; default stdout, written synchronously once per event-loop turn (logSink.ts),
   * and at exit, so nothing is lost on exit.
   */
  readonly destination?: DestinationStream;
  /** Fields on every line, e.g. the worker identity. */
  readonly base?: Record<string, unknown>;
  /** Human-readable lines instead of JSON; default: when stdout is a terminal and no destination is given. */
  readonly pretty?: boolean;
}

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `auto`: pretty on a terminal, JSON otherwise (containers, pipes, files). */
export function wantsPretty(format: LogFormat, stream: { isTTY?: boolean } = process.stdout): boolean {
  return format === 'pretty' || (format === 'auto' && stream.isTTY === true);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  if (options.pretty ?? (!options.destination && process.stdout.isTTY)) {
    return pino(
      { level: options.level ?? 'info', messageKey: 'message', base: options.base ?? null },
      options.destination ??
        pretty({
          sync: true,
          messageKey: 'message',
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
          singleLine: true,
        }),
    );
  }
  return pino(
    {
      level: options.level ?? 'info',
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: options.base ?? null,
      formatters: {
        // Cloud Logging wants the name, not pino's number.
        level: (label) => ({ severity: SEVERITY[label as Level] ?? 'DEFAULT' }),
      },
    },
    options.destination ?? new TurnBatchedStream(pino.destination({ dest: 1, sync: true })),
  );
}

/**
 * The `failures` listing: each dead-lettered task as one JSON object for `--json`, and as an
 * aligned table (plus parameters and stacks with `--full`) for people.
 */
import { decodeTask, formatTaskKey, runOfBody } from '../queue/message';
import type { DeadLetter } from '../queue/types';
import { alignColumns, truncate } from './units';

/** The `--json` shape of one dead-lettered task (documented in docs/operations.md; keep keys stable). */
export interface FailureRow {
  readonly id: string;
  /** `module.name` of the task function; `null` when the body is not a valid task message. */
  readonly task: string | null;
  /** The task's keyword arguments; `null` when the body is not a valid task message. */
  readonly params: Record<string, unknown> | null;
  /** Why the body could not be read as a task, when it could not. */
  readonly malformed: string | null;
  /** Attempts made before it was dead-lettered; `null` when unknown (SQS redrive without our worker's record). */
  readonly attempts: number | null;
  /** Error class or reason, e.g. `TaskError`, `InvalidParams`. */
  readonly reason: string | null;
  /** The error message's first line. */
  readonly error: string | null;
  /** The whole error message. */
  readonly message: string | null;
  readonly stack: string | null;
  /** Worker identity (host/pod and pid) that gave up on it. */
  readonly worker: string | null;
  /** ISO 8601. */
  readonly failedAt: string | null;
  /** The raw message body, as stored. */
  readonly body: string;
  /** The run that inserted it (docs/operations.md, "Runs"); `null` when the message names none. */
  readonly run: string | null;
  /** Its row in that run's table (0-based); `null` when unknown. */
  readonly row: number | null;
  /** The code version the worker that gave up on it ran; `null` in older records. */
  readonly codeVersion: string | null;
}

export function describeDeadLetter(dead: DeadLetter): FailureRow {
  let task: string | null = null;
  let params: Record<string, unknown> | null = null;
  let malformed: string | null = null;
  try {
    const envelope = decodeTask(dead.body, dead.id);
    task = formatTaskKey(envelope.key);
    params = envelope.kwargs;
  } catch (error) {
    malformed = (error as Error).message;
  }
  const f = dead.failure;
  const run = runOfBody(dead.body);
  return {
    id: dead.id,
    task,
    params,
    malformed,
    attempts: f?.attempts ?? null,
    reason: f?.reason ?? null,
    error: f ? firstLine(f.message) : null,
    message: f?.message ?? null,
    stack: f?.stack ?? null,
    worker: f?.worker ?? null,
    failedAt: f?.failedAt ?? null,
    body: dead.body,
    run: run?.id ?? null,
    row: run?.row ?? null,
    codeVersion: f?.codeVersion ?? null,
  };
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0].trim();
}

/** `{"start":0,"label":"a"}` → `start=0 label="a"`: shorter than JSON, still unambiguous. */
export function compactParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(' ');
}

/** `2025-01-02T03:04:05.678Z` → `2025-01-02 03:04:05Z` (UTC, like the worker logs). */
function shortTime(iso: string | null): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export interface RenderFailuresOptions {
  /** Show every parameter and the stack under each row. */
  readonly full?: boolean;
  /** Terminal width, to cut the error and parameter columns; no cut when undefined. */
  readonly width?: number;
}

/** The table: id, task, attempts, failed at, error; parameters on the line below each task. */
export function renderFailures(rows: readonly FailureRow[], options: RenderFailuresOptions = {}): string[] {
  const header = ['ID', 'TASK', 'TRIES', 'FAILED AT (UTC)', 'ERROR'];
  const cells = rows.map((r) => [
    r.id,
    r.task ?? '(malformed message)',
    r.attempts === null ? '?' : String(r.attempts),
    shortTime(r.failedAt),
    r.error === null
      ? (r.malformed ?? 'no failure record (moved by SQS redrive)')
      : `${r.reason ?? 'Error'}: ${r.error}`,
  ]);
  const [head, ...lines] = alignColumns([header, ...cells], ['left', 'left', 'right', 'left', 'left']);
  const cut = (text: string) => (options.width && !options.full ? truncate(text, options.width) : text);
  const out = [head];
  rows.forEach((row, i) => {
    out.push(cut(lines[i]));
    const indent = '    ';
    const where = row.run === null ? '' : `row ${row.row ?? '?'} of run ${row.run}: `;
    const params = `${where}${row.params ? compactParams(row.params) : `body: ${row.body}`}`;
    out.push(cut(`${indent}${params}`));
    if (options.full) {
      if (row.worker) out.push(`${indent}worker: ${row.worker}`);
      const details = row.stack ?? row.message ?? row.malformed;
      if (details) out.push(...details.split('\n').map((l) => `${indent}${l}`));
      out.push('');
    }
  });
  return out;
}

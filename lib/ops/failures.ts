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

/**
 * The error for the table's one line: the first line, and when that only introduces a list
 * ("parameters do not match its schema:"), the list's lines after it, joined with "; ", so the
 * line names the field. The table cuts it to the terminal's width; --full prints every line.
 */
export function errorSummary(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length === 0) return '';
  if (lines.length === 1 || !lines[0]!.endsWith(':')) return lines[0]!;
  // zod's "→ at field" lines belong to the issue above them.
  const items: string[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith('→') && items.length > 0) items[items.length - 1] += ` ${line}`;
    else items.push(line);
  }
  return `${lines[0]} ${items.join('; ')}`;
}

/** Longest parameter or body text in the table without --full (a terminal cuts at its width too). */
export const MAX_CELL_CHARS = 300;

const UNPRINTABLE = new RegExp(
  '[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]' +
    '|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]',
  'g',
);

/**
 * `text` safe to print on a terminal: control characters (C0 but space, DEL, C1), line and
 * paragraph separators, bidirectional overrides and lone surrogates become visible escapes
 * (`\x1b`, `\n`, `\u202e`), so a binary or hostile body cannot move the cursor, recolour the
 * screen or reorder what is shown.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = char.charCodeAt(0);
    return named[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`);
  });
}

/** Cuts `text` to `max` characters, saying how much was left out and where to see it. */
export function cutCell(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters: --full or --json)`;
}

/** A body that is not a task message, as one printable line: escaped, or summarised when mostly binary. */
function describeBody(body: string): string {
  const escaped = printable(body);
  const binary = [...body].filter((c) => c === '\ufffd' || printable(c) !== c).length;
  if (body.length > 0 && binary / body.length > 0.3) {
    return `${Buffer.byteLength(body)} bytes, mostly not text: ${escaped}`;
  }
  return escaped;
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
    printable(r.id),
    r.task === null ? '(malformed message)' : printable(r.task),
    r.attempts === null ? '?' : String(r.attempts),
    shortTime(r.failedAt),
    printable(
      r.error === null
        ? errorSummary(r.malformed ?? 'no failure record (moved by SQS redrive)')
        : `${r.reason ?? 'Error'}: ${options.full ? r.error : errorSummary(r.message ?? r.error)}`,
    ),
  ]);
  const [head, ...lines] = alignColumns([header, ...cells], ['left', 'left', 'right', 'left', 'left']);
  const cut = (text: string) => (options.width && !options.full ? truncate(text, options.width) : text);
  const out = [head];
  rows.forEach((row, i) => {
    out.push(cut(lines[i]));
    const indent = '    ';
    const where = row.run === null ? '' : `row ${row.row ?? '?'} of run ${row.run}: `;
    const params = `${where}${row.params ? printable(compactParams(row.params)) : `body: ${describeBody(row.body)}`}`;
    out.push(cut(`${indent}${options.full ? params : cutCell(params, MAX_CELL_CHARS)}`));
    if (options.full) {
      if (row.worker) out.push(`${indent}worker: ${printable(row.worker)}`);
      const details = row.stack ?? row.message ?? row.malformed;
      if (details) out.push(...details.split('\n').map((l) => `${indent}${printable(l)}`));
      out.push('');
    }
  });
  return out;
}

/**
 * Runs in `status`: one JSON object per run for `--json` (and the dashboard), and an aligned
 * table for people: done, failed, retrying, in flight, left, rate and ETA per run, then the
 * workers seen recently. The numbers come from `lib/runs` (docs/operations.md, "Runs").
 */
import { basename } from 'node:path';
import type { RunProgress, RunsSnapshot } from '../runs/summary';
import { alignColumns, formatCount, formatDuration, formatRate } from './units';

/** The `--json` shape of one run (docs/operations.md; keep keys stable). */
export interface RunView {
  readonly id: string;
  readonly task: string | null;
  readonly table: string | null;
  readonly tableSha256: string | null;
  readonly limit: number | null;
  readonly state: string | null;
  readonly createdAt: string | null;
  readonly codeVersion: string | null;
  readonly inserted: number | null;
  readonly done: number;
  readonly failed: number;
  readonly retrying: number;
  readonly inFlight: number;
  readonly left: number | null;
  readonly perSecond: number | null;
  readonly etaSeconds: number | null;
  readonly finished: boolean;
  readonly workerVersions: readonly string[];
}

export interface WorkerView {
  readonly worker: string;
  readonly codeVersion: string;
  readonly startedAt: string;
  readonly seenAt: string;
  readonly inFlight: number;
  readonly completed: number;
  readonly failed: number;
}

export interface RunsReport {
  /** Where the run store is (a cloudpath). */
  readonly store: string;
  readonly runs: readonly RunView[];
  /** Tasks that carried no run id; `null` when there were none. */
  readonly noRun: RunView | null;
  readonly workers: readonly WorkerView[];
}

export function runView(run: RunProgress): RunView {
  const r = run.record;
  return {
    id: run.id,
    task: r?.task ?? null,
    table: r?.table.path ?? null,
    tableSha256: r?.table.sha256 ?? null,
    limit: r?.limit ?? null,
    state: r?.state ?? null,
    createdAt: r?.createdAt ?? null,
    codeVersion: r?.codeVersion ?? null,
    inserted: run.inserted,
    done: run.done,
    failed: run.failed,
    retrying: run.retrying,
    inFlight: run.inFlight,
    left: run.left,
    perSecond: run.perSecond === null ? null : Math.round(run.perSecond * 1000) / 1000,
    etaSeconds: run.etaSeconds === null ? null : Math.round(run.etaSeconds),
    finished: run.finished,
    workerVersions: run.workerVersions,
  };
}

export function runsReport(snapshot: RunsSnapshot): RunsReport {
  return {
    store: snapshot.store,
    runs: snapshot.runs.map(runView),
    noRun: snapshot.noRun && runView(snapshot.noRun),
    workers: snapshot.workers.map((h) => ({
      worker: h.worker,
      codeVersion: h.codeVersion,
      startedAt: h.startedAt,
      seenAt: h.seenAt,
      inFlight: h.inFlight,
      completed: h.completed,
      failed: h.failed,
    })),
  };
}

/** Runs shown by default: the unfinished ones and the last few finished. */
const FINISHED_SHOWN = 3;

function eta(run: RunView): string {
  if (run.finished) return 'finished';
  if (run.left === null) return 'inserting';
  return run.etaSeconds === null ? 'unknown' : formatDuration(run.etaSeconds);
}

/** The runs table and the workers line (empty when the store holds nothing). */
export function renderRuns(report: RunsReport): string[] {
  const unfinished = report.runs.filter((r) => !r.finished);
  const finished = report.runs.filter((r) => r.finished);
  const shown = [...finished.slice(-FINISHED_SHOWN), ...unfinished];
  if (report.noRun) shown.push(report.noRun);
  const lines: string[] = [];
  if (shown.length > 0) {
    const rows = [
      ['RUN', 'TASK', 'TABLE', 'DONE', 'FAILED', 'RETRYING', 'IN FLIGHT', 'LEFT', 'RATE', 'ETA'],
      ...shown.map((r) => [
        r.id === '_none' ? '(no run)' : r.id,
        r.task ?? '',
        r.table === null ? '' : basename(r.table) + (r.limit === null ? '' : ` (first ${formatCount(r.limit)})`),
        formatCount(r.done),
        formatCount(r.failed),
        formatCount(r.retrying),
        formatCount(r.inFlight),
        r.left === null ? '?' : formatCount(r.left),
        r.perSecond === null ? '' : formatRate(r.perSecond),
        r.id === '_none' ? '' : eta(r),
      ]),
    ];
    lines.push(
      ...alignColumns(rows, ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left']),
    );
    const hidden = finished.length - Math.min(finished.length, FINISHED_SHOWN);
    if (hidden > 0) lines.push(`(${formatCount(hidden)} older finished run(s): npm run status -- --json lists all)`);
  }
  const versions = [...new Set(report.workers.map((w) => w.codeVersion))];
  lines.push(
    report.workers.length === 0
      ? 'workers     none seen in the last 20 s'
      : `workers     ${formatCount(report.workers.length)} seen in the last 20 s (code ${versions.join(', ')}), ` +
          `${formatCount(report.workers.reduce((n, w) => n + w.inFlight, 0))} task(s) running`,
  );
  return lines;
}

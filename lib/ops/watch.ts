/**
 * `status --watch`: samples the counts every few seconds until the queue drains (or Ctrl-C),
 * keeps the samples in memory for throughput and ETA, and shows them as:
 *  - a block redrawn in place with a progress bar (stdout is a terminal; cli-progress's MultiBar,
 *    one "bar" per line),
 *  - one plain line per sample (stdout is a file or pipe),
 *  - one JSON object per line (`--json`), each a `StatusReport`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Format, MultiBar, type Options, type Params, type SingleBar } from 'cli-progress';
import wrapAnsi from 'wrap-ansi';
import { QueueError } from '../queue/errors';
import type { Queue } from '../queue/types';
import {
  buildStatusReport,
  progressOf,
  renderCounts,
  renderHeader,
  renderThroughput,
  renderWatchLine,
  type StatusReport,
} from './status';
import { DEFAULT_WINDOW_MS, ThroughputEstimator } from './throughput';
import { formatCount, formatPercent, formatRate } from './units';
import { renderRuns, runsReport, type RunView } from './runsView';
import { RunRates, readRuns } from '../runs/summary';
import type { RunStore } from '../runs/store';
import type { ClusterReport } from './clusterReport';
import { renderCluster, renderClusterWatchLine } from './clusterRender';

/** SQS's approximate counts can read 0 for a moment while messages remain: ask twice. */
const SQS_EMPTY_SAMPLES_TO_STOP = 2;

export interface WatchDisplay {
  /** Shows one sample; `problem` is a transient error met while sampling (the watch goes on). */
  update(report: StatusReport | undefined, problem?: string): void;
  /** Leaves the last state on screen. */
  stop(): void;
}

export interface WatchOptions {
  readonly intervalSeconds: number;
  readonly display: WatchDisplay;
  /** Ends the watch early (Ctrl-C). */
  readonly signal: AbortSignal;
  /** For tests and for callers that keep their own clock. */
  readonly now?: () => number;
  /** Where to read the runs from, to show them per run with each sample. */
  readonly runs?: RunStore;
  /** `--cluster`: one look at the cluster per sample (never throws: an unreachable API is a report too). */
  readonly cluster?: () => Promise<ClusterReport>;
}

export interface WatchResult {
  /** The last successful sample. */
  readonly last?: StatusReport;
  /** False when stopped by the signal before the queue drained. */
  readonly drained: boolean;
  /** Every sample found the queue empty: there was nothing to watch. */
  readonly emptyFromStart: boolean;
}

export async function watchQueue(queue: Queue, options: WatchOptions): Promise<WatchResult> {
  const now = options.now ?? Date.now;
  const estimator = new ThroughputEstimator(Math.max(DEFAULT_WINDOW_MS, 3 * options.intervalSeconds * 1000));
  const emptyNeeded = queue.kind === 'sqs' ? SQS_EMPTY_SAMPLES_TO_STOP : 1;
  let emptyInARow = 0;
  let last: StatusReport | undefined;
  let samples = 0;
  const rates = new RunRates();
  try {
    while (!options.signal.aborted) {
      try {
        const [counts, cluster] = await Promise.all([queue.counts(), options.cluster?.()]);
        const at = now();
        estimator.add({ at, counts });
        const runs = options.runs && runsReport(rates.apply(await readRuns(options.runs, at)));
        const report = buildStatusReport(queue, counts, at, estimator.estimate(), runs);
        last = cluster ? { ...report, cluster } : report;
        samples++;
        options.display.update(last);
        emptyInARow = last.drained ? emptyInARow + 1 : 0;
        if (emptyInARow >= emptyNeeded) return { last, drained: true, emptyFromStart: emptyInARow === samples };
      } catch (error) {
        // A network blip should not end a watch that may run for hours; a configuration problem should.
        if (!(error instanceof QueueError && error.transient)) throw error;
        options.display.update(last, error.message.split('\n', 1)[0]);
      }
      await sleep(options.intervalSeconds * 1000, undefined, { signal: options.signal }).catch(() => undefined);
    }
    return { last, drained: false, emptyFromStart: false };
  } finally {
    options.display.stop();
  }
}

/** `--json`: one `StatusReport` per line (JSON Lines). */
export function jsonLinesDisplay(out: NodeJS.WritableStream, err: NodeJS.WritableStream): WatchDisplay {
  return {
    update(report, problem) {
      if (problem) err.write(`warning: ${problem} (still watching)\n`);
      else if (report) out.write(`${JSON.stringify(report)}\n`);
    },
    stop() {},
  };
}

/** Plain lines for logs: a header once, then one line per sample. */
export function plainLinesDisplay(out: NodeJS.WritableStream, err: NodeJS.WritableStream): WatchDisplay {
  let headerShown = false;
  return {
    update(report, problem) {
      if (problem) return void err.write(`warning: ${problem} (still watching)\n`);
      if (!report) return;
      if (!headerShown) out.write(`watching ${renderHeader(report)}\n`);
      headerShown = true;
      out.write(`${renderWatchLine(report)}\n`);
      for (const run of report.runs?.runs ?? []) {
        if (!run.finished) out.write(`  ${runWatchLine(run)}\n`);
      }
      if (report.cluster) out.write(`  ${renderClusterWatchLine(report.cluster)}\n`);
    },
    stop() {},
  };
}

function runWatchLine(run: RunView): string {
  const rate = run.perSecond === null ? '' : ` rate=${formatRate(run.perSecond).replaceAll(',', '')}`;
  const left = run.left === null ? '?' : run.left;
  return (
    `run=${run.id} done=${run.done} failed=${run.failed} retrying=${run.retrying} inflight=${run.inFlight} ` +
    `left=${left}${rate}`
  );
}

interface LinePayload {
  readonly text: string;
}

const textLine = (_options: Options, _params: Params, payload: LinePayload) => payload.text;

const BAR_TOTAL = 1000;
/** The bar's width on a terminal of 120 columns or more; half that on a narrower one. */
const WIDE_BAR = 40;
const WIDE_TERMINAL = 120;

/** The terminal's width, or undefined when it does not say (a pseudo-terminal of size 0 × 0). */
function knownColumns(out: NodeJS.WriteStream): number | undefined {
  return out.columns > 0 ? out.columns : undefined;
}

/**
 * The lines (plain text), each wrapped at the terminal's width with continuations indented. cli-progress cuts a
 * line that would wrap (a wrapped line breaks its redraw in place), which cut off the end of what
 * mattered: a pod's reason, a run's ETA.
 */
export function fitToWidth(texts: readonly string[], columns: number): string[] {
  const width = Math.max(20, columns - 1);
  return texts.flatMap((text) => {
    if (text.length <= width) return [text];
    const first = wrapAnsi(text, width, { hard: true }).split('\n')[0] ?? '';
    const rest = text.slice(first.length).trimStart();
    const continued = rest === '' ? [] : wrapAnsi(rest, width - 2, { hard: true }).split('\n');
    return [first, ...continued.map((line) => `  ${line}`)];
  });
}

/** The terminal block: header, counts, progress bar, throughput; redrawn in place. */
export function terminalDisplay(out: NodeJS.WriteStream, focusRun?: string): WatchDisplay {
  const multibar = new MultiBar({
    stream: out,
    fps: 4,
    hideCursor: true,
    linewrap: false,
    barsize: (knownColumns(out) ?? WIDE_TERMINAL) >= WIDE_TERMINAL ? WIDE_BAR : WIDE_BAR / 2,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    format: textLine,
  });
  const lines: SingleBar[] = [];
  let bar: SingleBar | undefined;
  let peakEnqueued = 0;

  const show = (unwrapped: string[], progress: number | null, barText: string) => {
    const columns = knownColumns(out);
    const texts = columns === undefined ? unwrapped : fitToWidth(unwrapped, columns);
    // The block's height is fixed per queue kind; grow it if a line is added, never shrink.
    while (lines.length < texts.length) lines.push(multibar.create(1, 0, { text: '' }));
    lines.forEach((line, i) => line.update(0, { text: texts[i] ?? '' }));
    bar ??= multibar.create(
      BAR_TOTAL,
      0,
      { text: '' },
      {
        format: (options, params, payload: LinePayload) =>
          `${Format.BarFormat(params.progress, options)} ${payload.text}`,
      },
    );
    bar.update(Math.round((progress ?? 0) * BAR_TOTAL), { text: barText });
  };

  let lastReport: StatusReport | undefined;
  return {
    update(report, problem) {
      lastReport = report ?? lastReport;
      if (!lastReport) return;
      peakEnqueued = Math.max(peakEnqueued, lastReport.enqueued);
      const approx = lastReport.approximate ? '~' : '';
      // The run npm start inserted, else the one run still going: its exact numbers drive the bar.
      const unfinished = lastReport.runs?.runs.filter((r) => !r.finished) ?? [];
      const focus =
        lastReport.runs?.runs.find((r) => r.id === focusRun) ?? (unfinished.length === 1 ? unfinished[0] : undefined);
      const progress = focus ? runProgress(focus) : progressOf(lastReport, peakEnqueued);
      const done = focus
        ? `${formatCount(focus.done + focus.failed)} of ` +
          `${focus.inserted === null ? '?' : formatCount(focus.inserted)} done (run ${focus.id})`
        : lastReport.completed !== null && lastReport.inserted !== null
          ? `${formatCount(lastReport.completed + lastReport.failed)} of ${formatCount(lastReport.inserted)} done`
          : `${approx}${formatCount(Math.max(0, peakEnqueued - lastReport.enqueued))} of ` +
            `${approx}${formatCount(peakEnqueued)} drained since the watch began`;
      const barText =
        progress === null ? 'nothing inserted yet' : `${formatPercent(Math.round(progress * 1000) / 10)}  ${done}`;
      const tail = problem ? `sample failed (still watching): ${problem}` : renderThroughput(lastReport, Date.now());
      const runLines = lastReport.runs ? renderRuns(lastReport.runs) : [];
      const clusterLines = lastReport.cluster ? renderCluster(lastReport.cluster) : [];
      show(
        [renderHeader(lastReport), ...renderCounts(lastReport), tail, ...runLines, ...clusterLines],
        progress,
        barText,
      );
      multibar.update();
    },
    stop() {
      multibar.stop();
    },
  };
}

function runProgress(run: RunView): number | null {
  if (run.inserted === null || run.inserted === 0) return run.inserted === 0 ? 1 : null;
  return Math.min(1, (run.done + run.failed) / run.inserted);
}

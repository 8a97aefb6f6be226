/**
 * Progress of a long pass over a table: a cli-progress bar (rate, ETA) on a terminal, plain
 * periodic lines otherwise (logs, CI, pipes). Always written to stderr, so stdout stays for results.
 */
import { SingleBar } from 'cli-progress';

export interface ProgressOptions {
  /** Default: process.stderr. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Draw a bar; default: whether the stream is a terminal. */
  readonly tty?: boolean;
  /** Seconds between plain lines (default 5). */
  readonly intervalSeconds?: number;
}

export interface Progress {
  /** Sets the number of rows done so far, and optional details shown after it. */
  update(done: number, detail?: string): void;
  /** Prints the final state and stops. */
  stop(): void;
}

const number = (n: number) => Math.round(n).toLocaleString('en-US');

function eta(done: number, total: number, rate: number): string {
  if (rate <= 0 || done >= total) return '0 s';
  const seconds = Math.ceil((total - done) / rate);
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

/** A progress display for `label` over `total` rows (unknown when undefined). */
export function startProgress(label: string, total: number | undefined, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const started = Date.now();
  let done = 0;
  let detail = '';
  const rate = () => done / Math.max((Date.now() - started) / 1000, 1e-3);

  if (tty) {
    const format =
      total === undefined
        ? `${label} {value} rows | {rate} rows/s{detail}`
        : `${label} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}{detail}`;
    const bar = new SingleBar({
      format,
      stream,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? number(v) : String(v)),
    });
    bar.start(total ?? 0, 0, { rate: '0', detail: '' });
    return {
      update(value, text) {
        done = value;
        detail = text ? ` | ${text}` : '';
        bar.update(value, { rate: number(rate()), detail });
      },
      stop() {
        bar.update(done, { rate: number(rate()), detail });
        bar.stop();
      },
    };
  }

  const interval = (options.intervalSeconds ?? 5) * 1000;
  let lastLine = started;
  const line = () => {
    const r = rate();
    const share =
      total === undefined
        ? number(done)
        : `${number(done)}/${number(total)} (${total > 0 ? Math.floor((100 * done) / total) : 100}%)`;
    const remaining = total === undefined ? '' : `, ETA ${eta(done, total, r)}`;
    stream.write(`${label} ${share} rows, ${number(r)} rows/s${remaining}${detail}\n`);
  };
  return {
    update(value, text) {
      done = value;
      detail = text ? `, ${text}` : '';
      if (Date.now() - lastLine >= interval) {
        lastLine = Date.now();
        line();
      }
    },
    stop() {
      line();
    },
  };
}

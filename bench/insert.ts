/**
 * `npm run bench -- insert [--rows 1000000] [--disk-rows 100000] [--filter] [--pandas]`: a parameter table of
 * int, string and float columns inserted end to end (read, check, encode, write) into a file queue
 * on /dev/shm and on disk, plus a dry run (no queue) to separate the pipeline from the queue's
 * writes. Each run is a fresh child process with the insert command's Node flags
 * (`INSERT_NODE_FLAGS`), so its peak RSS is its own and the command's. Goals: ≥ 10,000 rows/s,
 * ≤ 300 MB. A file queue costs three file-system operations per task (journal, task file, rename);
 * the "plain fs" lines time just those, so the queue figures can be read against the machine.
 *
 * `--pandas` also writes the table with pandas (Python: see bench/python.ts) as LZ4 Feather and as
 * Snappy Parquet and inserts each into a file queue on /dev/shm.
 *
 * The table is written by apache-arrow, uncompressed: apache-arrow 21 cannot write valid
 * LZ4/ZSTD files (see lib/params/codecs.ts); the LZ4 decoder's cost is not in these figures.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Float64, Int32, Int64, RecordBatch, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { z } from 'zod';
import { INSERT_NODE_FLAGS } from '../lib/cli/nodeFlags';
import { loadSettings } from '../lib/settings';
import { insertTable, type InsertSummary } from '../lib/insert';
import { writeArrowTable } from '../lib/params/writeTable';
import { defineTask, skipExistingOutputs } from '../lib/task';
import { pythonWithPandas } from './python';

const BATCH_ROWS = 65_536; // pyarrow's default record batch size for Feather

const params = z.object({
  id: z.number().int().nonnegative(),
  seed: z.number().int(),
  name: z.string().min(1),
  weight: z.number(),
});

/** A task shaped like real ones: a few ints, a string, a float. */
const benchTask = defineTask({ key: ['bench.insert', 'work'], params, run: () => undefined });
const benchTaskWithFilter = defineTask({
  ...benchTask,
  filterTasks: skipExistingOutputs((row: { id: number }) => `out/${row.id}.json`),
});

function* batches(rows: number): Generator<RecordBatch> {
  for (let first = 0; first < rows; first += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, rows - first);
    const ids = Array.from({ length: n }, (_, i) => first + i);
    const table = new Table({
      id: vectorFromArray(ids.map(BigInt), new Int64()),
      seed: vectorFromArray(
        ids.map((i) => (i * 7919) % 100_003),
        new Int32(),
      ),
      name: vectorFromArray(
        ids.map((i) => `sample-${i.toString(36)}`),
        new Utf8(),
      ),
      weight: vectorFromArray(
        ids.map((i) => i / 7),
        new Float64(),
      ),
    });
    yield* table.batches;
  }
}

interface ChildResult {
  readonly summary: InsertSummary;
  readonly maxRssMb: number;
}

/**
 * This process's own peak RSS. Linux's getrusage maxRSS survives exec, so a child would report its
 * parent's size at fork time when that was larger; /proc's VmHWM belongs to this process image only.
 */
function peakRssMb(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** In the child: one insert, then its summary and peak RSS as JSON on stdout. */
async function child(
  table: string,
  queueUrl: string,
  dryRun: boolean,
  filter: boolean,
  cloudpath: string,
): Promise<void> {
  const settings = loadSettings({
    env: {},
    overrides: { TASKQUEUE_PATH: queueUrl, TASK_PARAMETER_FILENAME: table, CF_CLOUDPATH: cloudpath },
  });
  const summary = await insertTable({
    settings,
    task: filter ? benchTaskWithFilter : benchTask,
    dryRun,
    progress: false,
  });
  const result: ChildResult = { summary, maxRssMb: peakRssMb() };
  process.stdout.write(JSON.stringify(result));
}

function runChild(table: string, queueUrl: string, dryRun: boolean, filter: boolean, cloudpath: string): ChildResult {
  const args = [
    '-r',
    require.resolve('tsx/cjs'),
    ...INSERT_NODE_FLAGS, // as `npm run insert` runs (cli/insert.ts)
    __filename,
    '--child',
    table,
    queueUrl,
    dryRun ? 'dry' : 'insert',
    filter ? 'filter' : 'all',
    cloudpath,
  ];
  const done = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (done.status !== 0) throw new Error(`benchmark child failed (exit ${done.status})`);
  return JSON.parse(done.stdout) as ChildResult;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const [, table, queueUrl, mode, filter, cloudpath] = argv;
    return child(table!, queueUrl!, mode === 'dry', filter === 'filter', cloudpath!);
  }
  const rowsAt = argv.indexOf('--rows');
  const rows = rowsAt >= 0 ? Number(argv[rowsAt + 1]) : 1_000_000;
  if (!Number.isInteger(rows) || rows < 1) throw new Error('--rows takes a whole number ≥ 1');
  const filter = argv.includes('--filter');
  const diskAt = argv.indexOf('--disk-rows');
  const diskRows = diskAt >= 0 ? Number(argv[diskAt + 1]) : Math.min(rows, 100_000);

  const disk = mkdtempSync(path.join(os.tmpdir(), 'bench-insert-'));
  const shm = existsDir('/dev/shm') ? mkdtempSync('/dev/shm/bench-insert-') : undefined;
  try {
    const table = path.join(disk, 'params.feather');
    const started = Date.now();
    await writeArrowTable(table, batches(rows));
    process.stdout.write(
      `table: ${rows.toLocaleString('en-US')} rows (int64, int32, string, float64), ` +
        `${(statSync(table).size / 1e6).toFixed(1)} MB uncompressed Feather V2, written in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    process.stdout.write(
      `filterTasks: ${filter ? 'skipExistingOutputs (one stat per row)' : 'none'}; ${os.cpus().length} ` +
        `CPUs, load ${os.loadavg()[0]!.toFixed(1)}\n\n`,
    );

    for (const [name, base] of [
      ['/dev/shm', shm],
      [`disk (${os.tmpdir()})`, disk],
    ] as const) {
      if (base)
        process.stdout.write(
          `plain fs on ${name}: ${plainFsRate(base).toLocaleString('en-US')} tasks/s (journal + task ` +
            `file + rename, 2,000 tasks)\n`,
        );
    }
    process.stdout.write('\n');

    const diskTable = diskRows < rows ? path.join(disk, 'disk-params.feather') : table;
    if (diskTable !== table) await writeArrowTable(diskTable, batches(diskRows));
    const targets: Array<[string, string, string, boolean, string]> = [
      ['dry run (no queue)', table, `fq://${path.join(disk, 'unused')}`, true, disk],
    ];
    if (shm) targets.push(['file queue on /dev/shm', table, `fq://${path.join(shm, 'queue')}`, false, shm]);
    if (argv.includes('--pandas') && shm) {
      // the same columns written by pandas: LZ4 Feather (to_feather's default) and Snappy Parquet
      const script = path.join(__dirname, '..', 'test', 'python', 'write_bench_table.py');
      const made = spawnSync(pythonWithPandas(), [script, String(rows), disk], { stdio: 'inherit' });
      if (made.status !== 0) throw new Error(`pandas could not write the table (exit ${made.status})`);
      for (const [label, name] of [
        ['pandas LZ4 Feather → /dev/shm', 'pandas.feather'],
        ['pandas Parquet → /dev/shm', 'pandas.parquet'],
      ] as const) {
        const file = path.join(disk, name);
        process.stdout.write(`${label}: ${(statSync(file).size / 1e6).toFixed(1)} MB\n`);
        targets.push([label, file, `fq://${path.join(shm, 'queue')}`, false, shm]);
      }
    }
    targets.push([`file queue on disk (${os.tmpdir()})`, diskTable, `fq://${path.join(disk, 'queue')}`, false, disk]);

    // each line as soon as its run ends: the disk run can take minutes
    const widths = [34, 10, 8, 9, 8, 8, 12];
    const print = (cells: string[]) =>
      process.stdout.write(
        `${cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ')}\n`,
      );
    print(['target', 'rows', 'check s', 'insert s', 'total s', 'rows/s', 'peak RSS MB']);
    for (const [name, file, queueUrl, dryRun, base] of targets) {
      mkdirSync(path.join(base, 'outputs'), { recursive: true });
      const { summary, maxRssMb } = runChild(file, queueUrl, dryRun, filter, `file://${path.join(base, 'outputs')}`);
      print([
        name,
        summary.inserted.toLocaleString('en-US'),
        summary.checkSeconds.toFixed(1),
        summary.insertSeconds.toFixed(1),
        summary.seconds.toFixed(1),
        Math.round(summary.read / summary.seconds).toLocaleString('en-US'),
        maxRssMb.toFixed(0),
      ]);
      if (!dryRun) rmSync(queueUrl.slice('fq://'.length), { recursive: true, force: true });
    }
  } finally {
    rmSync(disk, { recursive: true, force: true });
    if (shm) rmSync(shm, { recursive: true, force: true });
  }
}

/** The file-system floor of a file queue: what its three operations per task cost here. */
function plainFsRate(base: string): number {
  const dir = mkdtempSync(path.join(base, 'plain-fs-'));
  const tasks = 2000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < tasks; i++) {
    writeFileSync(path.join(dir, `journal-${i}`), `0--${i}.json\n`, { flag: 'wx' });
    writeFileSync(path.join(dir, `tmp-${i}`), '{"payload":[]}');
    renameSync(path.join(dir, `tmp-${i}`), path.join(dir, `0--${i}.json`));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rmSync(dir, { recursive: true, force: true });
  return Math.round(tasks / seconds);
}

function existsDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

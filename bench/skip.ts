/**
 * Skip-filter benchmark (not a test): `npm run bench -- skip [--rows 100000] [--gcs-rows N] [--chunk 2000]`.
 *
 * Puts `rows` objects (`out/<i>.json`) on a GCS server (fake-gcs-server) and an S3 server
 * (fauxqs), both started here, then runs `skipExistingOutputs` over `rows` rows in chunks of
 * `chunk` as the inserter does, two ways in the same run: the listing rule
 * (lib/storage/existingKeys.ts) and one existence check per row (`existsMany`). For each it prints
 * the HTTP requests made (counted as they leave this process) and the seconds taken.
 *
 * Seeding: fake-gcs-server takes about 43 API puts/s, so its objects are written as files into a
 * folder it loads at start (`-data`, one sub-folder per bucket); fauxqs has no such folder, and
 * takes PutObject in parallel (128 in flight) fast enough. fake-gcs-server's memory backend keeps a
 * bucket's objects in a list it searches on every put and get (its load time grows with the square
 * of the objects: 2,000 in 8 s, 4,000 in 25 s here), so `--gcs-rows` can run GCS on fewer rows.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openStorage, Storage } from '../lib/storage';
import { mapBounded } from '../lib/storage/bounded';
import { skipExistingOutputs } from '../lib/task';
import { startFakeGcs } from '../test/support/fakeGcs';
import { startFauxqs } from '../test/support/fauxqs';
import { countHttpRequests } from '../test/support/httpRequests';

interface Row {
  readonly n: number;
}
const keyOf = (row: Row) => `out/${row.n}.json`;

async function timed(storage: Storage, rows: Row[], chunk: number, perObject: boolean) {
  const filter = skipExistingOutputs(keyOf);
  const requests = countHttpRequests();
  const started = performance.now();
  let kept = 0;
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    if (perObject) {
      const done = await storage.existsMany(part.map(keyOf));
      kept += done.filter((d) => !d).length;
    } else kept += (await filter(part, storage)).length;
  }
  const seconds = (performance.now() - started) / 1000;
  requests.stop();
  return { requests: requests.count, seconds, kept };
}

/** The objects `rows` leave, written as files under `<data>/<bucket>/<prefix>/` for fake-gcs-server's `-data`. */
function writeSeedFolder(data: string, bucket: string, prefix: string, rows: Row[]): void {
  const folder = path.join(data, bucket, prefix, 'out');
  mkdirSync(folder, { recursive: true });
  for (const row of rows) writeFileSync(path.join(data, bucket, prefix, keyOf(row)), '{}');
}

const since = (started: number) => `${((performance.now() - started) / 1000).toFixed(1)} s`;

async function compare(label: string, open: () => Storage, rows: Row[], chunk: number): Promise<void> {
  // the per-row way calls existsMany directly, so it never sees the listing the first way made
  const listed = await timed(open(), rows, chunk, false);
  const perObject = await timed(open(), rows, chunk, true);
  for (const [name, r] of [
    ['listing rule', listed],
    ['one check per row', perObject],
  ] as const) {
    process.stdout.write(
      `  ${name.padEnd(18)} ${String(r.requests).padStart(8)} ` +
        `requests  ${r.seconds.toFixed(1).padStart(7)} s  (rows kept: ${r.kept})\n`,
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '100000' },
      'gcs-rows': { type: 'string' },
      chunk: { type: 'string', default: '2000' },
    },
  });
  const count = Number(values.rows);
  const gcsCount = Number(values['gcs-rows'] ?? values.rows);
  const chunk = Number(values.chunk);
  const rows = Array.from({ length: count }, (_, n) => ({ n }));
  const gcsRows = rows.slice(0, gcsCount);
  process.stdout.write(`skip benchmark: ${count} rows (${gcsCount} on GCS), all done, in chunks of ${chunk}\n`);

  const data = mkdtempSync(path.join(os.tmpdir(), 'skip-bench-gcs-'));
  try {
    let started = performance.now();
    writeSeedFolder(data, 'skip', 'run', gcsRows);
    const written = since(started);
    started = performance.now();
    const gcs = await startFakeGcs({ data });
    try {
      process.stdout.write(
        `gs:// on fake-gcs-server: seeded ${gcsRows.length} objects as files in ${written}, ` +
          `loaded at start in ${since(started)}\n`,
      );
      process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
      const storage = openStorage('gs://skip/run');
      if (!(await storage.exists(keyOf(gcsRows[gcsRows.length - 1]!)))) {
        throw new Error('the preloaded objects are missing');
      }
      await compare('gs:// on fake-gcs-server', () => storage, gcsRows, chunk);
    } finally {
      await gcs.stop();
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }

  const s3 = await startFauxqs();
  try {
    Object.assign(process.env, s3.env);
    const client = new S3Client({ forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: 'skip' }));
    const started = performance.now();
    await mapBounded(rows, 128, (row) =>
      client.send(new PutObjectCommand({ Bucket: 'skip', Key: `run/${keyOf(row)}`, Body: '{}' })),
    );
    process.stdout.write(
      `s3:// on fauxqs: seeded ${rows.length} objects (PutObject, 128 in flight) in ${since(started)}\n`,
    );
    client.destroy();
    const storage = openStorage('s3://skip/run');
    await compare('s3:// on fauxqs', () => storage, rows, chunk);
  } finally {
    await s3.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});

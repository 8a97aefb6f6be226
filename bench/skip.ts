/**
 * Skip-filter benchmark (not a test): `npm run bench -- skip [--rows 100000] [--chunk 2000]`.
 *
 * Puts `rows` objects (`out/<i>.json`) on a GCS server (fake-gcs-server) and an S3 server
 * (fauxqs), both started here, then runs `skipExistingOutputs` over `rows` rows in chunks of
 * `chunk` as the inserter does, two ways in the same run: the listing rule
 * (lib/storage/existingKeys.ts) and one existence check per row (`existsMany`). For each it prints
 * the HTTP requests made (counted as they leave this process) and the seconds taken.
 */
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage as GcsClient } from '@google-cloud/storage';
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

async function compare(label: string, open: () => Storage, rows: Row[], chunk: number): Promise<void> {
  const seeding = performance.now();
  await mapBounded(rows, 64, (row) => open().put(keyOf(row), '{}'));
  process.stdout.write(
    `${label}: seeded ${rows.length} objects in ${((performance.now() - seeding) / 1000).toFixed(0)} s\n`,
  );
  // the per-row way calls existsMany directly, so it never sees the listing the first way made
  const listed = await timed(open(), rows, chunk, false);
  const perObject = await timed(open(), rows, chunk, true);
  for (const [name, r] of [
    ['listing rule', listed],
    ['one check per row', perObject],
  ] as const) {
    process.stdout.write(
      `  ${name.padEnd(18)} ${String(r.requests).padStart(8)} requests  ${r.seconds.toFixed(1).padStart(7)} s  (rows kept: ${r.kept})\n`,
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '100000' }, chunk: { type: 'string', default: '2000' } },
  });
  const count = Number(values.rows);
  const chunk = Number(values.chunk);
  const rows = Array.from({ length: count }, (_, n) => ({ n }));
  process.stdout.write(`skip benchmark: ${count} rows, all done, in chunks of ${chunk}\n`);

  const gcs = await startFakeGcs();
  try {
    await new GcsClient({ apiEndpoint: gcs.endpoint, projectId: 'bench' }).createBucket('skip');
    process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
    const storage = openStorage('gs://skip/run');
    await compare('gs:// on fake-gcs-server', () => storage, rows, chunk);
  } finally {
    await gcs.stop();
  }

  const s3 = await startFauxqs();
  try {
    Object.assign(process.env, s3.env);
    const client = new S3Client({ forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: 'skip' }));
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

/**
 * `npm run insert` never half-inserts (issue #20): every distinct cloudpath is parsed and probed
 * (written to) before the first task goes on the queue, and errors before that say "nothing was
 * inserted", never "run npm run purge". Through the real command, on a file queue; the missing
 * bucket on the fauxqs S3 server.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Utf8, vectorFromArray } from 'apache-arrow';
import { useTempDir, writeTable } from './support/arrow-tables';
import { exampleColumns } from './support/bad-tables';
import { runWithExampleTask } from './support/cliRun';
import { useFauxqs } from './support/fauxqs';

const ROWS = 3000;
const BAD_ROW = 2499;

async function tableWithCloudpath(dir: string, bad: string): Promise<string> {
  const cloudpaths = Array.from({ length: ROWS }, (_, i) => (i === BAD_ROW ? bad : `file://${path.join(dir, 'out')}`));
  return writeTable(
    path.join(dir, 'params.feather'),
    exampleColumns(ROWS, { cloudpath: vectorFromArray(cloudpaths, new Utf8()) }),
    {
      batchRows: 1000,
    },
  );
}

function queuedTasks(dir: string): number {
  const queue = path.join(dir, 'q', 'queue');
  return existsSync(queue) ? readdirSync(queue).length : 0;
}

describe('insert: nothing is inserted when a cloudpath or the queue is bad (npm run insert)', function () {
  this.timeout(90_000);
  const tmp = useTempDir('insert-nothing-');
  const fauxqs = useFauxqs();

  it(`an ftp:// cloudpath at row ${BAD_ROW}: one report naming the row, no task queued`, async () => {
    const dir = path.join(tmp.dir, 'ftp');
    mkdirSync(dir);
    const file = await tableWithCloudpath(dir, 'ftp://example.org/out');
    const result = await runWithExampleTask('cli/insert.ts', ['--params', file, '--queue', 'fq://./q'], dir);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /1 of 3,000 rows fail the checks[^\n]*; nothing was inserted/);
    assert.match(
      result.stderr,
      new RegExp(
        `column "cloudpath" \\(string\\): 1 row:\\n    row ${BAD_ROW}: invalid cloudpath ` +
          `"ftp://example\\.org/out": the scheme "ftp://" is not supported`,
      ),
    );
    assert.doesNotMatch(result.stderr, /purge|stopped after/);
    assert.equal(queuedTasks(dir), 0);
  });

  it(`a bucket that does not exist at row ${BAD_ROW}: probed before inserting, no task queued`, async () => {
    assert.ok(fauxqs.server.endpoint);
    const dir = path.join(tmp.dir, 'bucket');
    mkdirSync(dir);
    const file = await tableWithCloudpath(dir, 's3://no-such-bucket-gkb/out');
    const result = await runWithExampleTask('cli/insert.ts', ['--params', file, '--queue', 'fq://./q'], dir);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /params\.feather: 1 of 2 cloudpaths cannot be written to; nothing was inserted\./);
    assert.match(result.stderr, new RegExp(`s3://no-such-bucket-gkb/out \\(first used by row ${BAD_ROW}\\): `));
    assert.doesNotMatch(result.stderr, /purge|stopped after/);
    assert.equal(queuedTasks(dir), 0);
  });

  it('a queue path that is a file: "nothing was inserted", no purge advice', async () => {
    const dir = path.join(tmp.dir, 'queuefile');
    mkdirSync(dir);
    const file = await writeTable(path.join(dir, 'params.feather'), exampleColumns(20));
    const result = await runWithExampleTask(
      'cli/insert.ts',
      ['--params', file, '--queue', `fq://${file}`, '--cloudpath', 'file://./out'],
      dir,
    );
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /nothing was inserted/);
    assert.doesNotMatch(result.stderr, /purge|stopped after|row -1/);
  });
});

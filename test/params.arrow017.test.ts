/**
 * Feather written by pyarrow 0.17 with compression (issue #15): compression is marked in the
 * message's custom metadata, not in the BodyCompression field, so a reader that looks only at the
 * field decodes compressed bytes as values (garbage: empty strings, 4e-323). Ours refuses such a
 * file with what to do, before reading any value — through `openTable` and `npm run params`.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import { openTable, TableError } from '../lib/params/readTable';
import { writeArrow017Stream } from './support/arrow017';
import { useTempDir } from './support/arrow-tables';
import { FIXTURES } from './support/bad-tables';
import { runScript } from './support/cliRun';
import { readFileSync } from 'node:fs';

describe('params: Arrow 0.17 compressed Feather', () => {
  const tmp = useTempDir('arrow017-');

  it(
    'the built file really is the 0.17 layout: apache-arrow alone would decode it without error into other ' + 'values',
    async () => {
      const file = path.join(tmp.dir, 'old.arrows');
      writeArrow017Stream(path.join(FIXTURES, 'generated_lz4.stream'), file);
      const reader = RecordBatchReader.from(readFileSync(file));
      const batches = [...reader];
      const original = [...RecordBatchReader.from(readFileSync(path.join(FIXTURES, 'generated_lz4.stream')))];
      assert.ok(batches.length > 0);
      // same metadata otherwise: the same rows, but the compressed bytes read as if they were values
      assert.equal(batches[0]!.numRows, original[0]!.numRows);
      assert.notDeepEqual(batches[0]!.toArray().map(String), original[0]!.toArray().map(String));
    },
  );

  for (const codec of ['LZ4', 'ZSTD']) {
    it(`a 0.17 file marked ${codec} is refused, naming pyarrow 0.17 and the fix`, async () => {
      const file = path.join(tmp.dir, `old-${codec}.arrows`);
      writeArrow017Stream(path.join(FIXTURES, 'generated_lz4.stream'), file, codec);
      await assert.rejects(openTable(file), (error: unknown) => {
        assert.ok(error instanceof TableError);
        assert.match(
          error.message,
          new RegExp(
            `old-${codec}\\.arrows: was written by pyarrow 0\\.17 with compression: it marks its batches ` +
              `"${codec}"-compressed the way Arrow 0\\.17 did`,
          ),
        );
        assert.match(error.message, /fix: re-save it with pyarrow >= 1\.0/);
        return true;
      });
    });
  }

  it('npm run params refuses it with exit 1 and the same message', async () => {
    const file = path.join(tmp.dir, 'cli.arrows');
    writeArrow017Stream(path.join(FIXTURES, 'generated_lz4.stream'), file);
    const result = await runScript('cli/params.ts', [file], tmp.dir);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^error: .*cli\.arrows: was written by pyarrow 0\.17 with compression/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});

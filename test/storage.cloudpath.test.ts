/** Pure parts of storage: cloudpath parsing, key rules, content types, the error type. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { isUserFacingError } from '../lib/errors';
import { openStorage, parseCloudpath, StorageError, validateKey } from '../lib/storage';
import { contentTypeFor } from '../lib/storage/keys';

describe('storage: cloudpaths and keys', () => {
  it('parses every supported cloudpath form', () => {
    const cwd = '/work/project';
    const cases: Array<[string, ReturnType<typeof parseCloudpath>]> = [
      ['file:///data/out', { scheme: 'file', dir: '/data/out', url: 'file:///data/out' }],
      [
        'file://./local/outputs',
        { scheme: 'file', dir: '/work/project/local/outputs', url: 'file:///work/project/local/outputs' },
      ],
      [
        'file://local/outputs/',
        { scheme: 'file', dir: '/work/project/local/outputs', url: 'file:///work/project/local/outputs' },
      ],
      ['FILE:///data/ü 1', { scheme: 'file', dir: '/data/ü 1', url: 'file:///data/ü 1' }],
      [
        'local/outputs',
        { scheme: 'file', dir: '/work/project/local/outputs', url: 'file:///work/project/local/outputs' },
      ],
      ['/abs/dir', { scheme: 'file', dir: '/abs/dir', url: 'file:///abs/dir' }],
      ['gs://my-bucket', { scheme: 'gs', bucket: 'my-bucket', prefix: '', url: 'gs://my-bucket' }],
      [
        'gs://my_bucket.example.com/',
        { scheme: 'gs', bucket: 'my_bucket.example.com', prefix: '', url: 'gs://my_bucket.example.com' },
      ],
      [
        'gs://my-bucket/runs/7/',
        { scheme: 'gs', bucket: 'my-bucket', prefix: 'runs/7/', url: 'gs://my-bucket/runs/7' },
      ],
      ['s3://bucket.1/out', { scheme: 's3', bucket: 'bucket.1', prefix: 'out/', url: 's3://bucket.1/out' }],
      ['  s3://abc/ünï/日本  ', { scheme: 's3', bucket: 'abc', prefix: 'ünï/日本/', url: 's3://abc/ünï/日本' }],
    ];
    for (const [input, expected] of cases) assert.deepEqual(parseCloudpath(input, cwd), expected, input);
    assert.equal(openStorage('file://./x').url, `file://${path.resolve('x')}`);
  });

  it('rejects anything else with one InvalidUrl error that names the cloudpath and the forms', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['file://', /names no folder/],
      ['az://container/x', /scheme "az:\/\/" is not supported/],
      ['gcs://bucket/x', /did you mean gs:\/\//],
      ['https://storage.example.com/b', /scheme "https:\/\/" is not supported/],
      ['s3://', /names no bucket/],
      ['gs:///x', /names no bucket/],
      ['s3://Upper_Case', /not a valid bucket name/],
      ['s3://ab', /not a valid bucket name/],
      ['s3://under_score', /not a valid bucket name/],
      ['gs://b-1//x', /empty, "\." or "\.\." segment/],
      ['s3://b-1/a/../x', /empty, "\." or "\.\." segment/],
      ['/tmp/a\0b', /NUL/],
    ];
    for (const [input, reason] of cases) {
      assert.throws(
        () => openStorage(input),
        (error: unknown) => {
          assert.ok(error instanceof StorageError, input);
          assert.equal(error.code, 'InvalidUrl', input);
          assert.ok(error.message.includes(JSON.stringify(input)), `names ${JSON.stringify(input)}: ${error.message}`);
          assert.match(error.message, reason, input);
          assert.match(error.message, /fix: /, input);
          return true;
        },
      );
    }
  });

  it('checks the maxRetries option', () => {
    assert.throws(
      () => openStorage('s3://bucket', { maxRetries: -1 }),
      /maxRetries must be a whole number >= 0, got -1/,
    );
    assert.throws(() => openStorage('gs://bucket', { maxRetries: 1.5 }), /got 1\.5/);
    assert.equal(openStorage('s3://bucket', { maxRetries: 0 }).url, 's3://bucket');
  });

  it('accepts keys that follow the rules, unicode included', () => {
    for (const key of [
      'a',
      'a/b/c.json',
      'ünï/日本語.json',
      '.hidden',
      'dir/.tmp',
      'a..b',
      '...',
      'x/.tmpfile',
      'sp ace/+%#?.txt',
    ]) {
      assert.doesNotThrow(() => validateKey(key, 's3://b'), key);
    }
  });

  it('rejects keys that break the rules with a message naming the key and the rule', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /is empty/],
      ['/a', /starts with "\/"/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['a/./b', /"\." segment/],
      ['../a', /"\.\." segment/],
      ['a\0', /NUL/],
      ['out/.tmp-1f2e', /reserved for file:\/\/ in-flight writes/],
    ];
    for (const [key, rule] of cases) {
      assert.throws(
        () => validateKey(key, 'gs://b/p'),
        (error: unknown) => {
          assert.ok(error instanceof StorageError);
          assert.equal(error.code, 'InvalidKey');
          assert.ok(error.message.includes(`${JSON.stringify(key)} under gs://b/p`), error.message);
          assert.match(error.message, rule);
          return true;
        },
      );
    }
  });

  it('picks content types from the key extension', () => {
    assert.equal(contentTypeFor('a/b.json'), 'application/json');
    assert.equal(contentTypeFor('x.png'), 'image/png');
    assert.equal(contentTypeFor('x.txt'), 'text/plain');
    assert.equal(contentTypeFor('no-extension'), 'application/octet-stream');
    assert.equal(contentTypeFor('x.unknownext'), 'application/octet-stream');
  });

  it('prints as a user-facing error through runMain', () => {
    const error = new StorageError('NotFound', 'the bucket "b" does not exist', 'create it');
    assert.equal(isUserFacingError(error), true);
    assert.equal(error.message, 'the bucket "b" does not exist\n  fix: create it');
    assert.equal(error.transient, false);
    assert.equal(new StorageError('Unreachable', 'x').transient, true);
  });
});

/**
 * Parses a cloudpath (the `cloudpath` setting or column) into the place it names. Pure: no I/O, no SDKs.
 *
 *   file:///abs/dir, file://./rel/dir, file://rel/dir, /abs/dir, rel/dir  → a local folder
 *   gs://bucket, gs://bucket/prefix                                          → Google Cloud Storage
 *   s3://bucket, s3://bucket/prefix                                          → Amazon S3 (or compatible)
 *
 * file:// paths are taken literally (no percent-decoding), as CloudFiles does; relative ones
 * resolve against the current directory.
 */
import path from 'node:path';
import { StorageError } from '../storage/errors';

export type Cloudpath =
  | { readonly scheme: 'file'; readonly dir: string; readonly url: string }
  | { readonly scheme: 'gs' | 's3'; readonly bucket: string; readonly prefix: string; readonly url: string };

const FORMS = 'use file://DIR (or a bare path), gs://BUCKET/PREFIX or s3://BUCKET/PREFIX';

/** Lower-case letters, digits, dots, dashes (and underscores on GCS); starts and ends alphanumeric. */
const BUCKET_NAME: Record<'gs' | 's3', RegExp> = {
  gs: /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/,
  s3: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
};

export function parseCloudpath(cloudpath: string, cwd: string = process.cwd()): Cloudpath {
  const raw = cloudpath.trim();
  const invalid = (why: string, hint = FORMS) =>
    new StorageError('InvalidUrl', `invalid cloudpath ${JSON.stringify(cloudpath)}: ${why}`, hint);
  if (raw === '') throw invalid('it is empty');
  if (raw.includes('\0')) throw invalid('it contains a NUL character');

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1];
  if (scheme === undefined || scheme.toLowerCase() === 'file') {
    const local = scheme === undefined ? raw : raw.slice('file://'.length);
    if (local === '')
      throw invalid(
        'it names no folder',
        'write file://./DIR for a folder under the current directory, or file:///ABS/DIR',
      );
    const dir = path.resolve(cwd, local);
    return { scheme: 'file', dir, url: `file://${dir}` };
  }

  const kind = scheme.toLowerCase();
  if (kind !== 'gs' && kind !== 's3') {
    const guess = kind === 'gcs' ? ' (did you mean gs://?)' : '';
    throw invalid(`the scheme "${scheme}://" is not supported${guess}`);
  }
  const rest = raw.slice(scheme.length + 3);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const prefixPath = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/$/, '');
  if (bucket === '') throw invalid('it names no bucket', `write ${kind}://BUCKET or ${kind}://BUCKET/PREFIX`);
  if (!BUCKET_NAME[kind].test(bucket)) {
    throw invalid(
      `"${bucket}" is not a valid bucket name`,
      `bucket names are 3-63 lower-case letters, digits, dots${kind === 'gs' ? ', underscores' : ''} and ` +
        `dashes (GCS allows up to 222 with dots), starting and ending with a letter or digit`,
    );
  }
  if (prefixPath !== '') {
    const segments = prefixPath.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..')) {
      throw invalid(
        'its prefix has an empty, "." or ".." segment',
        `write ${kind}://${bucket}/a/b without "//", "." or ".."`,
      );
    }
  }
  return {
    scheme: kind,
    bucket,
    prefix: prefixPath === '' ? '' : `${prefixPath}/`,
    url: prefixPath === '' ? `${kind}://${bucket}` : `${kind}://${bucket}/${prefixPath}`,
  };
}

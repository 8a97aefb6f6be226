/** File-system failures of the file queue as typed queue errors (the code comes from classify.ts). */
import fs from 'node:fs';
import { classifyErrno } from './classify';
import { QueueError } from './errors';
import { errnoCode } from './fileOps';
import type { FileQueueLayout } from './fileQueueLayout';
import { settingRef } from '../settings/table';

export function queueNotFound(layout: FileQueueLayout): QueueError {
  return new QueueError(
    'QueueNotFound',
    `file queue ${layout.root} does not exist (no ${layout.queueDir})`,
    `create it with \`npm run queue:create -- --queue fq://${layout.root}\`, or check ${settingRef('queueUrl')}`,
  );
}

export function mapFileError(error: unknown, action: string, layout: FileQueueLayout): Error {
  if (error instanceof QueueError || !(error instanceof Error)) return error as Error;
  const errno = errnoCode(error);
  if (!errno) return error;
  if (errno === 'ENOENT' && !fs.existsSync(layout.queueDir)) return queueNotFound(layout);
  const where = (error as NodeJS.ErrnoException).path ?? layout.root;
  const what = `cannot ${action} in file queue ${layout.root}`;
  const code = classifyErrno(errno);
  const cause = { cause: error };
  switch (code) {
    case 'PermissionDenied':
      return new QueueError(
        code,
        `${what}: ${errno} on ${where}`,
        'give this user write access to the queue directory (and everything in it)',
        cause,
      );
    case 'InvalidQueuePath':
      return new QueueError(
        code,
        `${what}: ${errno} on ${where}: the queue path must be a directory on a real file system (or a path where ` +
          `one can be made)`,
        `point ${settingRef('queueUrl')} at a directory, e.g. fq:///srv/queues/job`,
        cause,
      );
    default:
      if (errno === 'ENOSPC' || errno === 'EDQUOT') {
        return new QueueError(
          code,
          `${what}: no space left (${errno}) on ${where}`,
          'free disk space or inodes, or put the queue on a bigger file system',
          cause,
        );
      }
      return new QueueError(code, `${what}: ${error.message}`, undefined, cause);
  }
}

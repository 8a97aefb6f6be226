/**
 * Error classification, row by row (classify.ts + TRANSIENT_BY_CODE), and the broken queue paths
 * and entries of issue 20 through the real file queue: each ends in one permanent error or a dead
 * letter, never a hang or an endless retry.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createQueue, openQueue, QueueError, QueueErrorCode } from '../lib/queue';
import { classifyErrno, classifySqsError } from '../lib/queue/classify';
import { TRANSIENT_BY_CODE } from '../lib/queue/errors';
import { encodeTask } from '../lib/queue/message';

describe('queue errors: one classification', () => {
  const errnoRows: Array<[errno: string, code: QueueErrorCode, transient: boolean]> = [
    ['EACCES', 'PermissionDenied', false],
    ['EPERM', 'PermissionDenied', false],
    ['EROFS', 'PermissionDenied', false],
    ['ENOTDIR', 'InvalidQueuePath', false],
    ['EISDIR', 'InvalidQueuePath', false],
    ['ELOOP', 'InvalidQueuePath', false],
    ['ENAMETOOLONG', 'InvalidQueuePath', false],
    ['EXDEV', 'InvalidQueuePath', false],
    ['EINVAL', 'InvalidQueuePath', false],
    ['ENOSPC', 'BackendError', true],
    ['EDQUOT', 'BackendError', true],
    ['EMFILE', 'BackendError', true],
    ['EIO', 'BackendError', true],
    ['ESTALE', 'BackendError', true],
    ['EAGAIN', 'BackendError', true],
    ['ETIMEDOUT', 'Unreachable', true],
    ['ENOENT', 'BackendError', true],
    ['ESOMETHINGNEW', 'BackendError', true],
  ];
  for (const [errno, code, transient] of errnoRows) {
    it(`errno ${errno} → ${code} (${transient ? 'transient' : 'permanent'})`, () => {
      assert.equal(classifyErrno(errno), code);
      assert.equal(new QueueError(classifyErrno(errno), 'x').transient, transient);
    });
  }

  const sqsRows: Array<[name: string, message: string, network: string | undefined, code: QueueErrorCode]> = [
    ['QueueDoesNotExist', '', undefined, 'QueueNotFound'],
    ['AWS.SimpleQueueService.NonExistentQueue', '', undefined, 'QueueNotFound'],
    ['', 'The specified queue does not exist', undefined, 'QueueNotFound'],
    ['CredentialsProviderError', '', undefined, 'NoCredentials'],
    ['', 'Region is missing', undefined, 'NoCredentials'],
    ['InvalidClientTokenId', '', undefined, 'NoCredentials'],
    ['ExpiredToken', '', undefined, 'NoCredentials'],
    ['AccessDenied', '', undefined, 'PermissionDenied'],
    ['', 'User x is not authorized to perform sqs:SendMessage', undefined, 'PermissionDenied'],
    ['ReceiptHandleIsInvalid', '', undefined, 'LeaseLost'],
    ['MessageNotInflight', '', undefined, 'LeaseLost'],
    ['InvalidMessageContents', '', undefined, 'InvalidMessage'],
    ['ThrottlingException', '', undefined, 'BackendError'],
    ['OverLimit', '', undefined, 'BackendError'],
    ['PurgeQueueInProgress', '', undefined, 'BackendError'],
    ['TimeoutError', '', 'timeout', 'Unreachable'],
    ['', 'socket hang up', 'ECONNRESET', 'Unreachable'],
    ['SomethingNew', 'no idea', undefined, 'BackendError'],
  ];
  for (const [name, message, network, code] of sqsRows) {
    it(`SQS ${name || JSON.stringify(message) || network} → ${code}`, () => {
      assert.equal(classifySqsError(name, message, network), code);
    });
  }

  it('decides every code: only Unreachable and BackendError are retried', () => {
    const transient = Object.entries(TRANSIENT_BY_CODE)
      .filter(([, value]) => value)
      .map(([code]) => code);
    assert.deepEqual(transient.sort(), ['BackendError', 'Unreachable']);
  });
});

function rejectsWith(code: QueueErrorCode, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof QueueError, `expected a QueueError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.transient, false, 'a broken queue path is never retried');
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

describe('queue errors: broken queue paths end at once, permanently', function () {
  this.timeout(20_000);

  it('creating or inserting into fq:///proc/x fails in a bounded time instead of looping in mkdir', async () => {
    // in a child process, so a regression hangs only it and the test reports it
    const script = [
      `const { createQueue } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'queue'))});`,
      `createQueue('fq:///proc/gke-batch-x/q').then(() => process.exit(0), (e) => { console.log(e.code + ` +
        `' ' + e.transient); process.exit(3); });`,
    ].join('\n');
    const run = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { timeout: 10_000, encoding: 'utf8' });
    assert.equal(run.signal, null, 'createQueue did not return within 10 s');
    assert.equal(run.status, 3);
    assert.equal(run.stdout.trim(), 'InvalidQueuePath false');
  });

  it('a queue path that is a regular file is InvalidQueuePath on create, insert, lease and status', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fq-broken-'));
    const file = path.join(dir, 'hostname');
    fs.writeFileSync(file, 'not a queue\n');
    try {
      await assert.rejects(createQueue(`fq://${file}`), rejectsWith('InvalidQueuePath', /ENOTDIR/));
      const queue = await openQueue(`fq://${file}`);
      await assert.rejects(queue.insert([encodeTask(['m', 'f'], {}, 'q')]), rejectsWith('InvalidQueuePath'));
      await assert.rejects(queue.lease({ count: 1, seconds: 10 }), rejectsWith('InvalidQueuePath', /ENOTDIR/));
      await assert.rejects(queue.isEmpty(), rejectsWith('InvalidQueuePath'));
      await assert.rejects(queue.counts(), rejectsWith('InvalidQueuePath'));
      await queue.close();
      const nested = await openQueue(`fq://${dir}/hostname/deeper/q`);
      await assert.rejects(nested.insert([encodeTask(['m', 'f'], {}, 'q')]), rejectsWith('InvalidQueuePath'));
      await nested.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('queue errors: broken entries in queue/', () => {
  let root: string;
  beforeEach(async () => {
    root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fq-entries-')), 'q');
    await createQueue(`fq://${root}`);
  });
  afterEach(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

  const ID = 'a1b2c3d4-0000-4000-8000-00000000000b';
  const makers: Array<[what: RegExp, make: (target: string) => void]> = [
    [/a directory/, (target) => fs.mkdirSync(target)],
    [/a dangling symbolic link/, (target) => fs.symlinkSync(path.join(root, 'nowhere.json'), target)],
    // once renamed by the claim, a link to itself dangles
    [/symbolic link/, (target) => fs.symlinkSync(target, target)],
    [/a named pipe/, (target) => spawnSync('mkfifo', [target])],
  ];
  for (const [what, make] of makers) {
    it(`dead-letters ${what.source} named like a task file, once, and moves it aside`, async () => {
      make(path.join(root, 'queue', `0--${ID}.json`));
      fs.writeFileSync(path.join(root, 'movement', ID), `0--${ID}.json\n`);
      const good = encodeTask(['m', 'f'], {}, `fq://${root}`);
      const queue = await openQueue(`fq://${root}`);
      await queue.insert([good]);
      const leased = await queue.lease({ count: 5, seconds: 30 });
      assert.deepEqual(
        leased.map((t) => t.id),
        [good.id],
        'the good task is leased, the broken entry is not',
      );
      assert.equal(await queue.isEmpty(), false);
      await queue.delete(leased[0]!);
      assert.equal(await queue.isEmpty(), true, 'nothing left for a worker to wait on');
      const dead = [];
      for await (const letter of queue.listDeadLetters()) dead.push(letter);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.id, ID);
      assert.equal(dead[0]!.failure?.reason, 'BrokenEntry');
      assert.match(dead[0]!.failure?.message ?? '', what);
      assert.match(dead[0]!.failure?.message ?? '', /moved to broken\//);
      assert.equal(fs.readdirSync(path.join(root, 'broken')).length, 1);
      await queue.purge();
      assert.deepEqual(fs.readdirSync(path.join(root, 'broken')), []);
      await queue.close();
    });
  }

  it('sees, leases and dead-letters a task file whose id holds --', async () => {
    const id = 'made--by-hand';
    const body = encodeTask(['m', 'f'], {}, `fq://${root}`, 'x').body;
    fs.writeFileSync(path.join(root, 'queue', `0--${id}.json`), body);
    fs.writeFileSync(path.join(root, 'movement', id), `0--${id}.json\n`);
    const queue = await openQueue(`fq://${root}`);
    assert.equal((await queue.counts()).enqueued, 1);
    assert.equal(await queue.isEmpty(), false);
    const [task] = await queue.lease({ count: 1, seconds: 30 });
    assert.equal(task?.id, id);
    await queue.deadLetter(task!, {
      taskId: id,
      body,
      reason: 'MalformedTask',
      message: 'x',
      attempts: 1,
      worker: 'test',
      failedAt: new Date().toISOString(),
    });
    const dead = [];
    for await (const letter of queue.listDeadLetters()) dead.push(letter.id);
    assert.deepEqual(dead, [id]);
    assert.equal((await queue.counts()).failed, 1);
    await queue.close();
  });
});

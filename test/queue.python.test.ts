/**
 * Interop with the real python-task-queue (2.14.3, in a virtual environment: test/support/ptq.ts):
 * its CLI and library on our queues, ours on theirs, on the file queue and on SQS (fauxqs).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createQueue, LeasedTask, openQueue, Queue, TaskMessageError } from '../lib/queue';
import { decodeTask, encodeTask } from '../lib/queue/message';
import { pythonJsonDumps } from '../lib/queue/pythonJson';
import { useFauxqs } from './support/fauxqs';
import { parsePtqStatus, requirePtq, runPtq } from './support/ptq';

const RECORD = ['ptq_tasks', 'record'] as const;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function failure(task: LeasedTask) {
  return {
    taskId: task.id,
    body: task.body,
    reason: 'TaskError',
    message: 'broke',
    attempts: task.attempt,
    worker: 'test',
    failedAt: new Date().toISOString(),
  };
}

async function leaseAll(queue: Queue, want: number): Promise<LeasedTask[]> {
  const leased: LeasedTask[] = [];
  const deadline = Date.now() + 15_000;
  while (leased.length < want && Date.now() < deadline) {
    leased.push(...(await queue.lease({ count: want - leased.length, seconds: 60, waitSeconds: 1 })));
  }
  return leased;
}

describe('python-task-queue interop: JSON bytes', function () {
  this.timeout(30_000);
  let python: string;
  before(function () {
    python = requirePtq(this);
  });

  it("writes what Python's json.dumps writes, value for value", async () => {
    const values: unknown[] = [
      { payload: [['m', 'f'], [], { a: 1, b: 'é✓😀', c: null, d: true }, -1], queueName: '/q', id: 'x' },
      [1.5, 0.1, 1e-5, 1.25e-7, -3.5e-10, 123456.789, 1e-4, 2 ** 53, -0.5, 1e100],
      { control: '\u0000\u0001\n\t"\\/\u007f\u0080\u2028', nested: { list: [[], {}, ['x']] } },
    ];
    for (const value of values) {
      const ours = pythonJsonDumps(value);
      const script = 'import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read())))';
      const theirs = await pipe(python, ['-c', script], JSON.stringify(value));
      assert.equal(ours, theirs);
      assert.match(ours, /^[\x20-\x7e]*$/, 'ASCII only');
    }
  });
});

async function pipe(command: string, args: string[], input: string): Promise<string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
    child.stdin.end(input);
  });
}

describe('python-task-queue interop: file queue', function () {
  this.timeout(60_000);
  let python: string;
  let dir: string;
  let root: string;
  let url: string;
  before(function () {
    python = requirePtq(this);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-fq-'));
    root = path.join(dir, 'q');
    url = `fq://${root}`;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const ptqStatus = async () => parsePtqStatus((await runPtq(python, 'ptq', ['status', url])).stdout);

  it('ptq status reports the counters our counts() reports, as tasks are leased and completed', async () => {
    await createQueue(url);
    const queue = await openQueue(url);
    await queue.insert(Array.from({ length: 5 }, (_, i) => encodeTask(RECORD, { i, out: dir }, url)));
    const [a, b] = await queue.lease({ count: 2, seconds: 600 });
    await queue.delete(a!);
    const ours = await queue.counts();
    assert.deepEqual(await ptqStatus(), {
      Inserted: ours.inserted,
      Enqueued: ours.enqueued,
      Completed: ours.completed,
      Leased: ours.leased,
    });
    assert.deepEqual([ours.inserted, ours.enqueued, ours.completed, ours.leased], [5, 4, 1, 1]);
    // ptq release, then rezero, on our queue: both sides read the same state
    await runPtq(python, 'ptq', ['release', url]);
    assert.equal((await queue.counts()).leased, 0);
    await assert.rejects(queue.renew(b!, 60), /lease ended/);
    await runPtq(python, 'ptq', ['rezero', url]);
    const rezeroed = await queue.counts();
    assert.deepEqual([rezeroed.inserted, rezeroed.completed, rezeroed.enqueued], [0, 0, 4]);
    assert.equal((await leaseAll(queue, 4)).length, 4);
    await queue.close();
  });

  it('writes task files byte for byte as python-task-queue does', async () => {
    const out = path.join(dir, 'out-é✓😀');
    await runPtq(python, 'ptq_interop.py', ['insert', url, '1', out, 'file:///tmp/x']);
    const [name] = fs.readdirSync(path.join(root, 'queue'));
    const id = /^0--(.+)\.json$/.exec(name!)![1]!;
    const theirs = fs.readFileSync(path.join(root, 'queue', name!), 'utf8');
    assert.equal(encodeTask(RECORD, { i: 0, out, cloudpath: 'file:///tmp/x' }, url, id).body, theirs);
  });

  it('Python inserts with keyword arguments are leased and decoded by us, on a queue Python made', async () => {
    await runPtq(python, 'ptq_interop.py', ['insert', url, '3', dir, 'gs://bucket/run']);
    // a queue made by python-task-queue: none of our folders
    assert.deepEqual(fs.readdirSync(root).sort(), ['insertions', 'movement', 'queue']);
    const queue = await openQueue(url);
    const leased = await leaseAll(queue, 3);
    const decoded = leased.map((task) => decodeTask(task.body, task.id));
    assert.deepEqual(decoded.map((e) => e.kwargs.i).sort(), [0, 1, 2]);
    for (const [i, envelope] of decoded.entries()) {
      assert.deepEqual(envelope.key, RECORD);
      assert.equal(envelope.id, leased[i]!.id);
      assert.equal(envelope.kwargs.cloudpath, 'gs://bucket/run');
      assert.equal(envelope.queueName, root);
    }
    // dead-lettering creates the folders it needs; ptq status still reads the queue
    await queue.deadLetter(leased[0]!, failure(leased[0]!));
    await queue.delete(leased[1]!);
    await queue.release(leased[2]!);
    assert.deepEqual(await ptqStatus(), { Inserted: 3, Enqueued: 1, Completed: 1, Leased: 0 });
    assert.equal((await queue.counts()).failed, 1);
    // our purge on it: no temp folder needed
    await queue.purge();
    assert.deepEqual(await ptqStatus(), { Inserted: 0, Enqueued: 0, Completed: 0, Leased: 0 });
    await queue.close();
  });

  it('a Python poll worker drains our inserts (each with its cloudpath keyword) and tallies them', async () => {
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    await createQueue(url);
    const queue = await openQueue(url);
    await queue.insert(
      Array.from({ length: 20 }, (_, i) => encodeTask(RECORD, { i, out, cloudpath: `file://${dir}` }, url)),
    );
    const run = await runPtq(python, 'ptq_interop.py', ['poll', url]);
    assert.equal(JSON.parse(run.stdout.trim().split('\n').pop()!).executed, 20);
    const ran = fs.readdirSync(out).map((name) => JSON.parse(fs.readFileSync(path.join(out, name), 'utf8')));
    assert.deepEqual(
      ran.map((r) => r.i).sort((x, y) => x - y),
      [...Array(20).keys()],
    );
    assert.ok(ran.every((r) => r.cloudpath === `file://${dir}`));
    const counts = await queue.counts();
    assert.deepEqual([counts.inserted, counts.enqueued, counts.completed], [20, 0, 20]);
    assert.deepEqual(fs.readdirSync(path.join(root, 'movement')), []);
    await queue.close();
  });

  it('a task we leased twice and a Python poll worker then completed leaves no attempts tally', async () => {
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    await createQueue(url);
    const queue = await openQueue(url);
    await queue.insert(Array.from({ length: 2 }, (_, i) => encodeTask(RECORD, { i, out }, url)));
    // Our worker's lost leases (as after a kill -9): the second lease writes attempts/<id>.
    for (const task of await queue.lease({ count: 2, seconds: 1 })) await queue.release(task);
    const second = await leaseAll(queue, 2);
    assert.ok(second.every((t) => t.attempt === 2));
    for (const task of second) await queue.release(task);
    assert.equal(fs.readdirSync(path.join(root, 'attempts')).length, 2);
    const run = await runPtq(python, 'ptq_interop.py', ['poll', url]);
    assert.equal(JSON.parse(run.stdout.trim().split('\n').pop()!).executed, 2);
    assert.equal(fs.readdirSync(path.join(root, 'attempts')).length, 2, 'Python knows nothing of our tallies');
    assert.equal(await queue.isEmpty(), true);
    assert.deepEqual(fs.readdirSync(path.join(root, 'attempts')), [], 'swept once the queue is empty');
    await queue.close();
  });

  it('after ptq purge, our old dead letters and attempts do not come back', async () => {
    await createQueue(url);
    const queue = await openQueue(url);
    await queue.insert(Array.from({ length: 3 }, (_, i) => encodeTask(RECORD, { i, out: dir }, url)));
    const first = await queue.lease({ count: 3, seconds: 1 });
    for (const task of first) await queue.release(task);
    const second = await leaseAll(queue, 3);
    assert.ok(second.every((t) => t.attempt === 2));
    await queue.deadLetter(second[0]!, failure(second[0]!));
    assert.equal((await queue.counts()).failed, 1);
    await runPtq(python, 'ptq', ['purge', url]);
    const counts = await queue.counts();
    assert.deepEqual([counts.enqueued, counts.failed, counts.inserted], [0, 0, 0]);
    assert.deepEqual(await collect(queue.listDeadLetters()), []);
    assert.equal(await queue.requeueDeadLetters(), 0);
    assert.deepEqual(fs.readdirSync(path.join(root, 'dead')), [], 'stale dead letters are removed');
    await queue.close();
  });

  it('refuses Python tasks it cannot run, naming what they are and what to do', async () => {
    await runPtq(python, 'ptq_interop.py', ['insert-positional', url]);
    await runPtq(python, 'ptq_interop.py', ['insert-registered', url]);
    const queue = await openQueue(url);
    const messages = (await leaseAll(queue, 2)).map((task) => {
      try {
        decodeTask(task.body, task.id);
        return 'decoded';
      } catch (error) {
        assert.ok(error instanceof TaskMessageError);
        assert.equal(error.reason, 'MalformedTask');
        return error.message;
      }
    });
    assert.equal(messages.length, 2);
    assert.ok(
      messages.some((m) =>
        /ptq_tasks\.positional was queued with 2 positional argument\(s\).*keyword arguments only/.test(m),
      ),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => /RegisteredTask \(class PrintTask\).*run it with a Python worker/.test(m)),
      messages.join('\n'),
    );
    await queue.close();
  });
});

describe('python-task-queue interop: SQS (fauxqs)', function () {
  this.timeout(60_000);
  const fauxqs = useFauxqs();
  let python: string;
  let n = 0;
  let name: string;
  let queue: Queue;
  before(function () {
    python = requirePtq(this);
  });
  beforeEach(async () => {
    name = `ptq-${++n}`;
    queue = await openQueue(await createQueue(`sqs://${name}`));
  });
  afterEach(() => queue.close());
  const env = () => ({ ...fauxqs.server.env, AWS_DEFAULT_REGION: 'us-east-1' });

  it('Python inserts (no id in the body) are leased under their MessageId, decoded and dead-lettered', async () => {
    await runPtq(python, 'ptq_interop.py', ['insert', `sqs://${name}`, '2', '/tmp', 'gs://b/p'], env());
    const leased = await leaseAll(queue, 2);
    assert.equal(leased.length, 2);
    for (const task of leased) {
      assert.equal(JSON.parse(task.body).id, undefined, 'python-task-queue sends no id');
      assert.match(task.id, /^[0-9a-f-]{36}$/);
      const envelope = decodeTask(task.body, task.id);
      assert.equal(envelope.id, task.id);
      assert.deepEqual(envelope.key, RECORD);
    }
    await queue.deadLetter(leased[0]!, failure(leased[0]!));
    await queue.delete(leased[1]!);
    const dead = await collect(queue.listDeadLetters());
    assert.deepEqual(
      dead.map((d) => [d.id, d.failure?.reason]),
      [[leased[0]!.id, 'TaskError']],
    );
  });

  it('a Python poll worker drains our inserts; both read the same counts', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-sqs-out-'));
    try {
      await queue.insert(
        Array.from({ length: 12 }, (_, i) => encodeTask(RECORD, { i, out, cloudpath: 'gs://b/p' }, queue.url)),
      );
      const theirs = JSON.parse((await runPtq(python, 'ptq_interop.py', ['counts', `sqs://${name}`], env())).stdout);
      const ours = await queue.counts();
      assert.deepEqual([theirs.enqueued, theirs.leased], [ours.enqueued, ours.leased]);
      assert.equal(ours.enqueued, 12);
      const run = await runPtq(python, 'ptq_interop.py', ['poll', `sqs://${name}`], env());
      assert.equal(JSON.parse(run.stdout.trim().split('\n').pop()!).executed, 12);
      assert.equal(fs.readdirSync(out).length, 12);
      assert.equal((await queue.counts()).enqueued, 0);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

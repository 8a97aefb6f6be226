/**
 * File-queue-only checks: the on-disk layout byte for byte against python-task-queue's format
 * (see the reference format and docs/queue.md), queues laid out by Python read by us, and several
 * real processes racing for the same tasks.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createQueue, openQueue, Queue, QueueError } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { FileQueue } from '../lib/queue/fileQueue';
import { FileQueueThread } from '../lib/queue/fileQueueThread';
import type { LeasedTask } from '../lib/queue/types';
import { runningInCi, skipWithReason } from './support/tools';

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'fq-test-'));
}

function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const rel = path.relative(root, path.join(dir, entry.name));
      if (entry.isDirectory()) {
        out.push(`${rel}/`);
        walk(path.join(dir, entry.name));
      } else out.push(rel);
    }
  };
  walk(root);
  return out.sort();
}

const UUIDS = ['0b1c2d3e-0000-4000-8000-000000000001', '0b1c2d3e-0000-4000-8000-000000000002'];

describe('file queue: on-disk format', () => {
  let root: string;
  let queue: Queue;
  beforeEach(async () => {
    root = path.join(tempRoot(), 'q');
    queue = await openQueue(`fq://${root}`);
  });
  afterEach(async () => {
    await queue.close();
    fs.rmSync(path.dirname(root), { recursive: true, force: true });
  });

  it('creates the layout with insertions = "0" and no completions file', async () => {
    const url = await createQueue(`fq://${root}`);
    assert.equal(url, `fq://${root}`);
    // only what python-task-queue makes: our folders are made by whatever first writes to them
    assert.deepEqual(listTree(root), ['insertions', 'movement/', 'queue/']);
    assert.equal(fs.readFileSync(path.join(root, 'insertions'), 'utf8'), '0');
    await createQueue(`fq://${root}`); // idempotent
    assert.equal(fs.readFileSync(path.join(root, 'insertions'), 'utf8'), '0');
  });

  it('writes task files, journals and counters exactly as python-task-queue does', async () => {
    const bodies = UUIDS.map((id, i) =>
      encodeTask(['tasks.example', 'count_primes'], { start: i }, `fq://${root}`, id),
    );
    assert.equal(await queue.insert(bodies), 2);
    for (const [i, id] of UUIDS.entries()) {
      assert.equal(
        fs.readFileSync(path.join(root, 'queue', `0--${id}.json`), 'utf8'),
        `{"payload": [["tasks.example", "count_primes"], [], {"start": ${i}}, -1], "queueName": ` +
          `"${root}", "id": "${id}"}`,
      );
      assert.equal(fs.readFileSync(path.join(root, 'movement', id), 'utf8'), `0--${id}.json\n`);
    }
    assert.equal(fs.readFileSync(path.join(root, 'insertions'), 'utf8'), '2');
    assert.equal(fs.existsSync(path.join(root, 'completions')), false);

    const before = Math.floor(Date.now() / 1000);
    const [task] = await queue.lease({ count: 1, seconds: 30 });
    const after = Math.ceil(Date.now() / 1000);
    assert.ok(task);
    const match = /^(\d+)--(.+)\.json$/.exec(task.handle);
    assert.ok(match, task.handle);
    assert.equal(match[2], task.id);
    const ts = Number(match[1]);
    assert.ok(ts >= before + 30 && ts <= after + 30, `lease timestamp ${ts} not in [${before + 30}, ${after + 30}]`);
    assert.equal(task.body, bodies[UUIDS.indexOf(task.id)]!.body);
    assert.equal(task.attempt, 1);
    assert.deepEqual(
      fs.readdirSync(path.join(root, 'queue')).sort(),
      [task.handle, `0--${UUIDS.find((id) => id !== task.id)}.json`].sort(),
    );
    assert.equal(fs.readFileSync(path.join(root, 'movement', task.id), 'utf8'), `0--${task.id}.json\n${task.handle}\n`);

    await queue.delete(task);
    assert.equal(fs.readFileSync(path.join(root, 'completions'), 'latin1'), '\0');
    assert.equal(fs.existsSync(path.join(root, 'movement', task.id)), false);
    assert.equal(fs.existsSync(path.join(root, 'attempts', task.id)), false);
    assert.deepEqual(fs.readdirSync(path.join(root, 'queue')), [`0--${UUIDS.find((id) => id !== task.id)}.json`]);
    // no temporary file left in the root, no lock, no folder of ours made for a first lease
    assert.deepEqual(
      listTree(root).filter((name) => !/^(queue|movement)\/./.test(name)),
      ['completions', 'insertions', 'movement/', 'queue/'],
    );
    assert.equal(fs.existsSync(path.join(root, 'insertions.lock')), false);
  });

  it('refuses an id Python cannot use, and an id already queued, naming the task', async () => {
    for (const id of ['a--b', '', '../x', 'a.b', '-a']) {
      await assert.rejects(queue.insert([{ id, body: '{}' }]), (error: unknown) => {
        assert.ok(error instanceof QueueError && error.code === 'InvalidMessage', String(error));
        assert.match(error.message, /task #1 has the id/);
        return true;
      });
    }
    const message = encodeTask(['m', 'f'], {}, root, UUIDS[0]);
    await assert.rejects(queue.insert([message, message]), /task #2: the id .* is already in/);
    assert.deepEqual(fs.readdirSync(path.join(root, 'queue')), [`0--${UUIDS[0]}.json`]);
    assert.equal((await queue.counts()).inserted, 1, 'the first copy was stored and counted');
  });

  it('reads a queue laid out by python-task-queue (json.dumps spacing, leased task, journal history)', async () => {
    const abs = root;
    fs.mkdirSync(path.join(abs, 'queue'), { recursive: true });
    fs.mkdirSync(path.join(abs, 'movement'));
    fs.writeFileSync(path.join(abs, 'insertions'), '2');
    const pyBody = (id: string, start: number) =>
      `{"payload": [["tasks.example", "count_primes"], [], {"start": ${start}}, -1], "queueName": ` +
      `"${abs}", "id": "${id}"}`;
    const future = Math.floor(Date.now() / 1000) + 600;
    // task 1 waiting; task 2 leased by a Python worker (journal holds its history)
    fs.writeFileSync(path.join(abs, 'queue', `0--${UUIDS[0]}.json`), pyBody(UUIDS[0]!, 0));
    fs.writeFileSync(path.join(abs, 'movement', UUIDS[0]!), `0--${UUIDS[0]}.json\n`);
    fs.writeFileSync(path.join(abs, 'queue', `${future}--${UUIDS[1]}.json`), pyBody(UUIDS[1]!, 1));
    fs.writeFileSync(path.join(abs, 'movement', UUIDS[1]!), `0--${UUIDS[1]}.json\n${future}--${UUIDS[1]}.json\n`);

    assert.deepEqual(await queue.counts(), {
      enqueued: 2,
      leased: 1,
      delayed: 0,
      inserted: 2,
      completed: 0,
      failed: 0,
      approximate: false,
    });
    const first = await queue.lease({ count: 5, seconds: 30 });
    assert.deepEqual(
      first.map((t) => [t.id, t.body, t.attempt]),
      [[UUIDS[0], pyBody(UUIDS[0]!, 0), 1]],
    );

    assert.equal(await queue.releaseAll(), 2);
    const journal = fs.readFileSync(path.join(abs, 'movement', UUIDS[1]!), 'utf8').split('\n');
    assert.equal(journal.length, 4); // three names and the trailing newline
    const again = await queue.lease({ count: 5, seconds: 30 });
    assert.deepEqual(again.map((t) => t.id).sort(), [...UUIDS].sort());
    for (const task of again) await queue.delete(task);
    assert.deepEqual(fs.readdirSync(path.join(abs, 'queue')), []);
    assert.deepEqual(fs.readdirSync(path.join(abs, 'movement')), []);
    assert.equal(fs.readFileSync(path.join(abs, 'completions')).length, 2);
    assert.equal(await queue.isEmpty(), true);
  });

  it('lets the event loop turn in every lease call, however fast the call can be answered', async () => {
    await queue.insert(Array.from({ length: 3 }, (_, i) => encodeTask(['m', 'f'], { i }, root)));
    for (let call = 0; call < 4; call++) {
      let turned = false;
      setImmediate(() => (turned = true));
      await queue.lease({ count: 1, seconds: 30 }); // the last one finds nothing
      assert.ok(turned, `lease call ${call} answered without letting the event loop turn`);
    }
  });

  it('deletes a task by its journal when the held name is gone (as python-task-queue does)', async () => {
    await queue.insert([encodeTask(['m', 'f'], {}, root, UUIDS[0])]);
    const [task] = await queue.lease({ count: 1, seconds: 30 });
    assert.ok(task);
    assert.equal(await queue.releaseAll(), 1); // the file is renamed under the holder
    await queue.delete(task);
    assert.deepEqual(fs.readdirSync(path.join(root, 'queue')), []);
    assert.equal((await queue.counts()).completed, 1);
  });

  it('leaves a journal-less task file Python may still be writing for later, then leases it', async () => {
    await createQueue(`fq://${root}`);
    const id = UUIDS[0]!;
    const file = path.join(root, 'queue', `0--${id}.json`);
    // python-task-queue writes the task file in place, then its journal: caught in between, half written
    fs.writeFileSync(file, '{"payload": [["m", "f"], [], {"i"');
    assert.deepEqual(await queue.lease({ count: 1, seconds: 30 }), [], 'a fresh file without a journal waits');
    assert.equal(fs.existsSync(path.join(root, 'movement', id)), false, 'and nothing was written for it');
    // Python finishes: the whole body, then the journal
    const body = encodeTask(['m', 'f'], { i: 1 }, `fq://${root}`, id).body;
    fs.writeFileSync(file, body);
    fs.writeFileSync(path.join(root, 'movement', id), `0--${id}.json\n`);
    const [task] = await queue.lease({ count: 1, seconds: 30 });
    assert.equal(task?.body, body);
    await queue.delete(task!);
    // a journal-less file older than the window (its writer died) is leased as it is
    const orphan = path.join(root, 'queue', `0--${UUIDS[1]}.json`);
    fs.writeFileSync(orphan, 'truncated');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(orphan, old, old);
    const [late] = await queue.lease({ count: 1, seconds: 30 });
    assert.equal(late?.id, UUIDS[1]);
    assert.equal(late?.body, 'truncated');
  });

  it('skips files in queue/ that are not task files instead of crashing', async () => {
    await queue.insert([encodeTask(['m', 'f'], {}, root, UUIDS[0])]);
    fs.writeFileSync(path.join(root, 'queue', 'notes.txt'), 'hello');
    const leased = await queue.lease({ count: 5, seconds: 30 });
    assert.deepEqual(
      leased.map((t) => t.id),
      [UUIDS[0]],
    );
    assert.equal((await queue.counts()).enqueued, 1);
  });

  it('counts exactly within the scan budget, and estimates (marked approximate) beyond it', async () => {
    const tasks = Array.from({ length: 300 }, (_, i) => encodeTask(['m', 'f'], { i }, root));
    await queue.insert(tasks);
    const leased = await queue.lease({ count: 150, seconds: 600 });
    for (const task of leased.slice(0, 50)) await queue.delete(task);
    // 250 files left, 100 of them leased
    assert.deepEqual(await queue.counts(), {
      enqueued: 250,
      leased: 100,
      delayed: 0,
      inserted: 300,
      completed: 50,
      failed: 0,
      approximate: false,
    });
    const small = new FileQueue(root, { entries: 60, milliseconds: 60_000 });
    try {
      const estimate = await small.counts();
      assert.equal(estimate.approximate, true);
      assert.equal(estimate.enqueued, 250, 'inserted − completed − failed');
      assert.equal(estimate.inserted, 300);
      assert.equal(estimate.completed, 50);
      // the leased share of the 60 files read, scaled to 250: some, not all
      assert.ok(estimate.leased > 0 && estimate.leased < 250, `leased estimate ${estimate.leased}`);
      assert.equal(estimate.leased % 1, 0);
    } finally {
      await small.close();
    }
  });

  it('stops reading queue/ once the time budget is spent; counts a queue read whole within it exactly', async () => {
    // The clock is looked at every 10,000 names: one more than that, and a budget of 0 ms, stops early.
    await queue.insert(Array.from({ length: 10_001 }, (_, i) => encodeTask(['m', 'f'], { i }, root)));
    const hurried = new FileQueue(root, { entries: Number.MAX_SAFE_INTEGER, milliseconds: 0 });
    try {
      const estimate = await hurried.counts();
      assert.deepEqual([estimate.approximate, estimate.enqueued, estimate.leased], [true, 10_001, 0]);
    } finally {
      await hurried.close();
    }
    assert.deepEqual([(await queue.counts()).approximate, (await queue.counts()).enqueued], [false, 10_001]);
  });
});

interface Claim {
  id: string;
  attempt: number;
  pid: number;
}

/** Starts `n` racer processes, releases them at once, and collects every claim they print. */
async function race(url: string, n: number, mode: 'delete' | 'keep', leaseSeconds = 60): Promise<Claim[]> {
  const racer = path.join(__dirname, 'support', 'queueRacer.ts');
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['-r', 'tsx/cjs', racer, url, String(leaseSeconds), mode], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  try {
    const outputs = children.map((child) => {
      let text = '';
      child.stdout.setEncoding('utf8');
      const ready = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: string) => {
          text += chunk;
          if (text.startsWith('ready\n')) resolve();
        });
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { ready, exited, text: () => text };
    });
    await Promise.all(outputs.map((o) => o.ready));
    for (const child of children) child.stdin.write('go\n');
    const codes = await Promise.all(outputs.map((o) => o.exited));
    assert.deepEqual(
      codes,
      children.map(() => 0),
      'every racer exits cleanly',
    );
    return outputs.flatMap((o) =>
      o
        .text()
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Claim),
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

describe('file queue: several processes racing for the same tasks', function () {
  this.timeout(60_000);
  let root: string;
  beforeEach(() => {
    root = path.join(tempRoot(), 'q');
  });
  afterEach(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

  it('claims each task exactly once while its lease holds', async () => {
    const url = await createQueue(`fq://${root}`);
    const queue = await openQueue(url);
    await queue.insert(Array.from({ length: 600 }, (_, i) => encodeTask(['m', 'f'], { i }, root)));
    const claims = await race(url, 4, 'keep');
    const ids = claims.map((c) => c.id);
    assert.equal(ids.length, 600, 'every task leased');
    assert.equal(new Set(ids).size, 600, 'no task leased twice');
    assert.ok(claims.every((c) => c.attempt === 1));
    assert.ok(new Set(claims.map((c) => c.pid)).size > 1, 'more than one racer got tasks');
    const counts = await queue.counts();
    assert.equal(counts.leased, 600);
    // every task's journal holds exactly its insert name and one lease name
    for (const id of ids.slice(0, 50)) {
      assert.equal(
        fs
          .readFileSync(path.join(root, 'movement', id), 'utf8')
          .split('\n')
          .filter(Boolean).length,
        2,
      );
    }
    await queue.close();
  });

  it('completes every task exactly once when the racers delete what they run', async () => {
    const url = await createQueue(`fq://${root}`);
    const queue = await openQueue(url);
    await queue.insert(Array.from({ length: 600 }, (_, i) => encodeTask(['m', 'f'], { i }, root)));
    const claims = await race(url, 4, 'delete');
    assert.equal(claims.length, 600);
    assert.equal(new Set(claims.map((c) => c.id)).size, 600);
    const counts = await queue.counts();
    assert.deepEqual(
      { enqueued: counts.enqueued, inserted: counts.inserted, completed: counts.completed },
      { enqueued: 0, inserted: 600, completed: 600 },
    );
    assert.deepEqual(fs.readdirSync(path.join(root, 'movement')), []);
    assert.equal(fs.existsSync(path.join(root, 'attempts')), false, 'no task needed a second lease');
    await queue.close();
  });

  it('loses no insertions count when several processes insert at once', async () => {
    const url = await createQueue(`fq://${root}`);
    const inserter = [
      `const { openQueue } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'queue'))});`,
      `openQueue(${JSON.stringify(url)}).then(async (q) => {`,
      `  for (let round = 0; round < 10; round++) await q.insert(Array.from({ length: 20 }, (_, i) => { ` +
        `const id = require('node:crypto').randomUUID(); return { id, body: JSON.stringify({ payload: ` +
        `[['m', 'f'], [], { i }, -1], queueName: 'x', id }) }; }));`,
      `  await q.close();`,
      `});`,
    ].join('\n');
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ['-r', 'tsx/cjs', '-e', inserter], { stdio: ['ignore', 'inherit', 'inherit'] }),
    );
    const codes = await Promise.all(children.map((c) => new Promise((resolve) => c.once('exit', resolve))));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const queue = await openQueue(url);
    const counts = await queue.counts();
    assert.equal(counts.enqueued, 800);
    assert.equal(counts.inserted, 800);
    await queue.close();
  });

  it('never lets a temporary or partial file appear in queue/', async () => {
    const url = await createQueue(`fq://${root}`);
    const queue = await openQueue(url);
    const seen = new Set<string>();
    const watcher = fs.watch(path.join(root, 'queue'), (_event, name) => {
      if (name) seen.add(String(name));
    });
    try {
      await queue.insert(Array.from({ length: 500 }, (_, i) => encodeTask(['m', 'f'], { i }, root)));
      const leased = await queue.lease({ count: 100, seconds: 30 });
      for (const task of leased.slice(0, 50)) await queue.release(task, 5);
      for (const task of leased.slice(50)) await queue.delete(task);
      await sleep(200); // let the last change events arrive
    } finally {
      watcher.close();
      await queue.close();
    }
    assert.ok(seen.size >= 500, `saw ${seen.size} names`);
    const foreign = [...seen].filter((name) => !/^\d+--[0-9a-f-]{36}\.json$/.test(name));
    assert.deepEqual(foreign, []);
  });
});

describe("file queue: leases and deletes on the file queue's thread", () => {
  let root: string;
  let queue: Queue;
  beforeEach(async () => {
    root = path.join(tempRoot(), 'q');
    queue = await openQueue(await createQueue(`fq://${root}`), { fileQueueThread: true });
    await FileQueueThread.shared().loaded(); // a call made before runs in place
  });
  afterEach(async () => {
    await queue.close();
    fs.rmSync(path.dirname(root), { recursive: true, force: true });
  });

  it('leases and deletes as in place: each batch settles per task, with the files, tallies and counts', async () => {
    await queue.insert(Array.from({ length: 30 }, (_, i) => encodeTask(['m', 'f'], { i }, root)));
    const first = await queue.lease({ count: 30, seconds: 30 });
    for (const task of first.slice(0, 10)) await queue.release(task, 0);
    const again = await queue.lease({ count: 10, seconds: 30 }); // second attempts: they have a tally
    assert.ok(again.every((task) => task.attempt === 2));
    await Promise.all([...first.slice(10), ...again].map((task) => queue.delete(task)));
    await queue.delete(first[10]!); // deleted already: nothing there, no error, no count
    for (const dir of ['queue', 'movement', 'attempts']) assert.deepEqual(fs.readdirSync(path.join(root, dir)), []);
    assert.equal(fs.readFileSync(path.join(root, 'completions')).length, 30);
    assert.equal((await queue.counts()).completed, 30);
  });

  it('lets a process that deleted and never closed the queue exit by itself', async function () {
    this.timeout(30_000);
    await queue.insert([encodeTask(['m', 'f'], {}, root, UUIDS[0])]);
    const script =
      "const { openQueue } = require('./lib/queue'); " +
      `openQueue('fq://${root}', { fileQueueThread: true }).then(async (q) => { ` +
      "const [t] = await q.lease({ count: 1, seconds: 30 }); await q.delete(t); console.log('deleted'); });";
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: path.join(__dirname, '..') });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = await Promise.race([
      new Promise<number | null>((resolve) => child.on('exit', resolve)),
      sleep(20_000).then(() => 'still running' as const),
    ]);
    if (exited === 'still running') child.kill('SIGKILL');
    assert.equal(exited, 0);
    assert.equal(stdout.trim(), 'deleted');
    assert.deepEqual(fs.readdirSync(path.join(root, 'queue')), []);
  });

  it('answers errors typed, with their code and fix, as in place', async () => {
    fs.rmSync(path.join(root, 'queue'), { recursive: true });
    await assert.rejects(queue.lease({ count: 1, seconds: 30 }), (error: unknown) => {
      assert.ok(error instanceof QueueError, String(error));
      assert.equal(error.code, 'QueueNotFound');
      assert.match(error.message, /does not exist[^]*fix: create it with `npm run queue:create/);
      assert.match(error.hint ?? '', /^create it with/);
      return true;
    });
    await assert.rejects(queue.lease({ count: 1, seconds: 0 }), RangeError);
  });

  it('fails a delete the file system refuses with its error and path, and keeps the task', async function () {
    if (process.getuid?.() !== 0) {
      if (runningInCi()) throw new Error('CI must run this test: it mounts a tmpfs, which needs root');
      skipWithReason(this, 'mounting a tmpfs needs root');
    }
    const mounted = path.join(path.dirname(root), 'mounted');
    fs.mkdirSync(mounted);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mounted]);
    try {
      const onMount = await openQueue(await createQueue(`fq://${mounted}/q`), { fileQueueThread: true });
      await onMount.insert([encodeTask(['m', 'f'], {}, root, UUIDS[0])]);
      const [task] = await onMount.lease({ count: 1, seconds: 30 });
      execFileSync('mount', ['-o', 'remount,ro', mounted]); // as the kernel does after disk errors
      const leasedFile = path.join(mounted, 'q', 'queue', task!.handle);
      await assert.rejects(onMount.delete(task!), (error: unknown) => {
        assert.ok(error instanceof QueueError, String(error));
        assert.equal(error.code, 'PermissionDenied');
        assert.match(error.message, /cannot delete a task in file queue .*: EROFS on .*queue/);
        return true;
      });
      assert.ok(fs.existsSync(leasedFile), 'the task is still leased');
      execFileSync('mount', ['-o', 'remount,rw', mounted]);
      await onMount.delete(task!);
      assert.equal(fs.existsSync(leasedFile), false);
      assert.equal((await onMount.counts()).completed, 1);
      await onMount.close();
    } finally {
      execFileSync('umount', ['-l', mounted]);
    }
  });
});

describe("file queue: the file queue's thread when it fails", () => {
  const task: LeasedTask = { id: UUIDS[0]!, body: '{}', attempt: 1, handle: `0--${UUIDS[0]}.json`, leaseExpiresAt: 0 };

  it('fails every call with why when the thread cannot load, instead of running it elsewhere', async () => {
    const broken = new FileQueueThread({ script: "throw new Error('no such bundle')", eval: true });
    assert.equal(broken.ready(), false, 'starting');
    await assert.rejects(broken.loaded(), (error: unknown) => {
      // permanent: a worker ends with it and the fix, instead of retrying forever
      assert.ok(error instanceof QueueError && !error.transient, String(error));
      assert.match(error.message, /the file queue's thread did not start: no such bundle\n {2}fix: reinstall/);
      return true;
    });
    assert.equal(broken.ready(), true, 'calls go to it, and fail');
    await assert.rejects(broken.lease('/nowhere', { count: 1, seconds: 30 }), /did not start: no such bundle/);
    await assert.rejects(broken.delete('/nowhere', task), /did not start: no such bundle/);
  });

  it('fails the calls in flight with a transient error when it stops, and the next call starts a new one', async () => {
    // Loads, then exits on its first request; the second thread answers.
    const marker = path.join(tempRoot(), 'started-once');
    const script =
      "const { parentPort } = require('node:worker_threads'); const fs = require('node:fs'); " +
      `const first = !fs.existsSync(${JSON.stringify(marker)}); fs.writeFileSync(${JSON.stringify(marker)}, ''); ` +
      'parentPort.on("message", (m) => { if (first) process.exit(7); ' +
      'parentPort.postMessage({ id: m.id, leased: [] }); }); ' +
      'parentPort.postMessage({ ready: true });';
    const flaky = new FileQueueThread({ script, eval: true });
    await flaky.loaded();
    await assert.rejects(flaky.lease('/q', { count: 1, seconds: 30 }), (error: unknown) => {
      assert.ok(error instanceof QueueError && error.transient, String(error));
      assert.match(error.message, /the file queue's thread stopped \(exit code 7\)/);
      return true;
    });
    assert.equal(flaky.ready(), false, 'a new thread is loading');
    await flaky.loaded();
    assert.deepEqual(await flaky.lease('/q', { count: 1, seconds: 30 }), []);
  });
});

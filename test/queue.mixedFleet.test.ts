/**
 * A mixed fleet on one queue: two of our workers and two python-task-queue `poll` workers (the real
 * library, test/support/ptq.ts) drain tasks both sides inserted, while the test kills workers with
 * SIGKILL at random moments (a seeded PRNG) and starts them again. Afterwards every task's output
 * exists with its one right value (the task is idempotent: test/fixtures/tasks/interop.ts and
 * ptq_tasks.output), nothing is lost or left leased, no bookkeeping file is left behind, and the
 * counters both tools print agree. Runs on the file queue and on SQS (fauxqs).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createQueue, openQueue, Queue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { expectedOutput } from './fixtures/tasks/interop';
import { runScript } from './support/cliRun';
import { useFauxqs } from './support/fauxqs';
import { parsePtqStatus, PtqProcess, requirePtq, runPtq, spawnPtq } from './support/ptq';
import { spawnWorker, WorkerProcess } from './support/workerProcess';

const ROOT = path.resolve(__dirname, '..');
const INTEROP_TASKS = path.join(ROOT, 'test', 'fixtures', 'tasks', 'interop.ts');
const TASKS = 80;
const TASK_MS = 150;
/** Ours renew every third of it; Python's poll never renews, so its lease must outlast a task. */
const OUR_LEASE_SECONDS = 2;
const PYTHON_LEASE_SECONDS = 3;
const KILLS = 6;

/** mulberry32: a small seeded PRNG, so a failing run's kill schedule can be replayed (SEED below). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Side = 'ours' | 'python';

/** One slot of the fleet: the process now filling it, restarted after each kill. */
interface Member {
  readonly side: Side;
  readonly name: string;
  proc: WorkerProcess | PtqProcess;
  kills: number;
  /** Output of the processes that were killed, for the failure message. */
  readonly history: string[];
}

const exitOf = (member: Member) => member.proc.exited;
const pidOf = (member: Member) => member.proc.child.pid;
const running = (member: Member) => member.proc.child.exitCode === null && member.proc.child.signalCode === null;
const describeMember = (member: Member) => {
  const output = member.proc instanceof WorkerProcess ? member.proc.describe() : member.proc.output();
  return `${member.name} (killed ${member.kills}×, pid ${pidOf(member)}):\n${output.slice(-2500)}`;
};

function describeMixedFleet(backend: 'fq' | 'sqs'): void {
  describe(`a mixed fleet (2 of ours, 2 python-task-queue) under kill -9 on ${backend}`, function () {
    this.timeout(300_000);
    const fauxqs = backend === 'sqs' ? useFauxqs() : undefined;
    let python: string;
    let dir: string;
    let out: string;
    let url: string;
    /** The same queue as python-task-queue names it (sqs://NAME; it takes no https:// URL). */
    let ptqUrl: string;
    let queue: Queue;
    const seed = Number(process.env.MIXED_FLEET_SEED ?? 20261202);

    before(function () {
      python = requirePtq(this);
    });
    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `mixed-fleet-${backend}-`));
      out = path.join(dir, 'out');
      fs.mkdirSync(out);
      ptqUrl = backend === 'fq' ? `fq://${path.join(dir, 'q')}` : `sqs://mixed-fleet-${process.pid}`;
      url = await createQueue(ptqUrl, { maxReceiveCount: 100 });
      queue = await openQueue(url);
    });
    afterEach(async () => {
      await queue.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** The AWS settings of the test server for both sides (ptq's boto3 wants a region too). */
    const env = (): Record<string, string> => (fauxqs ? { ...fauxqs.server.env, AWS_DEFAULT_REGION: 'us-east-1' } : {});

    function start(member: Pick<Member, 'side'>): WorkerProcess | PtqProcess {
      if (member.side === 'python') {
        return spawnPtq(python, 'ptq_interop.py', ['poll', ptqUrl, String(PYTHON_LEASE_SECONDS)], env());
      }
      const flags = ['--queue', url, '--cloudpath', `file://${path.join(dir, 'cloud')}`, '--tasks', INTEROP_TASKS];
      return spawnWorker([...flags, '--lease', String(OUR_LEASE_SECONDS), '--exit-when-empty'], env());
    }

    const outputsDone = () => fs.readdirSync(out).filter((name) => name.endsWith('.json')).length;

    it('runs every task, loses none, leaves nothing leased, and both tools count the same', async () => {
      const random = prng(seed);
      // Both sides insert half, at the same time: Python ids 0 .. half-1, ours the rest.
      const half = TASKS / 2;
      await Promise.all([
        runPtq(python, 'ptq_interop.py', ['insert-output', ptqUrl, '0', String(half), out, String(TASK_MS)], env()),
        queue.insert(
          Array.from({ length: half }, (_, k) =>
            encodeTask(['ptq_tasks', 'output'], { i: half + k, out, ms: TASK_MS }, url),
          ),
        ),
      ]);

      const fleet: Member[] = (['ours', 'ours', 'python', 'python'] as const).map((side, k) => ({
        side,
        name: `${side}-${k % 2}`,
        proc: start({ side }),
        kills: 0,
        history: [],
      }));
      try {
        // Kill at random moments once work is under way; the first two kills are one of each side.
        const deadline = Date.now() + 120_000;
        while (outputsDone() < 4 && Date.now() < deadline) await sleep(50);
        const order: Side[] = random() < 0.5 ? ['ours', 'python'] : ['python', 'ours'];
        let kills = 0;
        while (kills < KILLS && outputsDone() < TASKS && Date.now() < deadline) {
          await sleep(300 + random() * 1200);
          const side = order[kills] ?? (random() < 0.5 ? 'ours' : 'python');
          const candidates = fleet.filter((m) => m.side === side && running(m));
          const victim = candidates[Math.floor(random() * candidates.length)];
          if (!victim) continue;
          victim.proc.child.kill('SIGKILL');
          await exitOf(victim);
          victim.kills++;
          kills++;
          victim.history.push(describeMember(victim));
          await sleep(random() * 500);
          victim.proc = start(victim);
        }
        assert.ok(
          fleet.some((m) => m.side === 'ours' && m.kills > 0) && fleet.some((m) => m.side === 'python' && m.kills > 0),
          `a worker of each side was killed: ${fleet.map((m) => `${m.name} ${m.kills}×`).join(', ')}`,
        );

        // The survivors and the restarted drain the rest and exit by themselves (theirs once the
        // queue has been empty a second, ours with --exit-when-empty).
        const exits = await Promise.race([
          Promise.all(fleet.map(async (m) => ({ name: m.name, ...(await exitOf(m)) }))),
          sleep(180_000, undefined, { ref: false }).then(() => undefined),
        ]);
        assert.ok(exits, `the fleet did not finish within 180 s\n${fleet.map(describeMember).join('\n')}`);
        for (const exit of exits) {
          const member = fleet.find((m) => m.name === exit.name)!;
          assert.equal(exit.code, 0, `${exit.name} exited ${exit.code ?? exit.signal}\n${describeMember(member)}`);
        }

        // Every output, once, with the one right value; each side ran some of them.
        const runs: Record<Side, number> = { ours: 0, python: 0 };
        let starts = 0;
        for (let i = 0; i < TASKS; i++) {
          const file = path.join(out, `${i}.json`);
          assert.ok(fs.existsSync(file), `task ${i} has no output`);
          assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), expectedOutput(i), `task ${i}'s output`);
          for (const line of fs
            .readFileSync(path.join(out, `${i}.runs`), 'utf8')
            .trim()
            .split('\n')) {
            runs[line.split(' ')[0] as Side]++;
          }
          starts += fs
            .readFileSync(path.join(out, `${i}.starts`), 'utf8')
            .trim()
            .split('\n').length;
        }
        const names = fs.readdirSync(out).filter((name) => name !== '.tmp');
        assert.equal(names.length, 3 * TASKS, `only outputs and run logs: ${names.join(' ')}`);
        assert.ok(runs.ours > 0 && runs.python > 0, `both sides ran tasks: ${JSON.stringify(runs)}`);
        const totalRuns = runs.ours + runs.python;

        // Nothing left on the queue or in its bookkeeping; both tools read the same counters.
        const ours = JSON.parse((await runScript('cli/status.ts', ['--queue', url, '--json'], ROOT)).stdout);
        assert.deepEqual([ours.enqueued, ours.leased, ours.delayed, ours.failed], [0, 0, 0, 0], JSON.stringify(ours));
        if (backend === 'fq') {
          const root = path.join(dir, 'q');
          for (const folder of ['queue', 'movement', 'tmp', 'attempts', 'dead']) {
            const left = fs.existsSync(path.join(root, folder)) ? fs.readdirSync(path.join(root, folder)) : [];
            assert.deepEqual(left, [], `${folder}/ is empty`);
          }
          const theirs = parsePtqStatus((await runPtq(python, 'ptq', ['status', url])).stdout);
          assert.deepEqual(theirs, {
            Inserted: ours.inserted,
            Enqueued: ours.enqueued,
            Completed: ours.completed,
            Leased: ours.leased,
          });
          assert.equal(ours.inserted, TASKS);
          // A worker killed between deleting a task and counting it loses one count; a task run
          // twice (its lease ran out while it ran) may count twice: never more than the runs.
          assert.ok(
            ours.completed >= TASKS - KILLS && ours.completed <= totalRuns,
            `completed ${ours.completed} of ${TASKS} tasks (${totalRuns} runs, ${KILLS} kills)`,
          );
        } else {
          const theirs = JSON.parse((await runPtq(python, 'ptq_interop.py', ['counts', ptqUrl], env())).stdout);
          assert.deepEqual([theirs.enqueued, theirs.leased], [ours.enqueued, ours.leased]);
          assert.deepEqual([theirs.inserted, theirs.completed], [null, null], 'SQS counts neither');
        }
        process.stdout.write(
          `      ${backend}: ${TASKS} tasks, ${totalRuns} runs (ours ${runs.ours}, python ${runs.python}), ` +
            `${starts - totalRuns} runs cut short by a kill, ` +
            `kills ${fleet.map((m) => `${m.name} ${m.kills}`).join(', ')}, seed ${seed}\n`,
        );
      } finally {
        for (const member of fleet) if (running(member)) member.proc.child.kill('SIGKILL');
        await Promise.all(fleet.map(exitOf));
      }
    });
  });
}

describeMixedFleet('fq');
describeMixedFleet('sqs');

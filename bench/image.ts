/**
 * The worker image: its size against the bare base image, and how soon a started container leases
 * its first task. Goals (issue 19): the worker adds ≤ 10 MB, and leases within 300 ms (median) of
 * `docker start`.
 *
 *   npm run bench -- image [--runs N]
 *
 * Needs a Docker daemon (scripts/ci-docker.sh starts one). Builds the image like the tests do, on the
 * local base image (or IMAGE_TEST_BASE_IMAGE). "Leased" is read from the file queue itself: the
 * benchmark polls its counts every few milliseconds while the container starts, so it depends on
 * no log format. For comparison it also times bare Node containers on the base image, the floor
 * that Docker and Node's own start-up set: one until it writes a file on a mounted folder (watched
 * the same way), one `node -e 0` from start to exit.
 */
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openQueue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { countPrimes } from '../tasks/example';
import { buildWorkerImage, docker, imageSize, probeDockerDaemon, testBaseImage } from '../test/support/docker';
import { makeWritableByAnyone, removeScratchDir, writableScratchDir } from '../test/support/scratchDir';

const IMAGE = 'gke-batch-worker:bench';
const POLL_MS = 5;
const GIVE_UP_MS = 30_000;

/** Milliseconds from `docker start` to the first task leased from a fresh one-task file queue. */
async function startToFirstLease(run: number, env: readonly string[] = []): Promise<number> {
  const dir = writableScratchDir('gke-batch-bench-image-');
  const queueUrl = `fq://${path.join(dir, 'queue')}`;
  const queue = await openQueue(queueUrl);
  const name = `gke-batch-bench-${process.pid}-${run}`;
  try {
    // A long task, so it is still leased whenever the poll looks.
    await queue.insert([
      encodeTask(countPrimes.key, { start: 0, count: 10, label: 'bench', sleep_ms: 60_000 }, 'bench'),
    ]);
    makeWritableByAnyone(dir);
    await docker([
      'create',
      '--name',
      name,
      '--volume',
      `${dir}:${dir}`,
      '--env',
      `TASKQUEUE_PATH=${queueUrl}`,
      '--env',
      `CF_CLOUDPATH=file://${dir}/outputs`,
      ...env.flatMap((pair) => ['--env', pair]),
      IMAGE,
    ]);
    return await timeStartUntil(
      name,
      async () => (await queue.counts()).leased > 0,
      `run ${run}: no task leased within ${GIVE_UP_MS} ms; see docker logs ${name}`,
    );
  } finally {
    await docker(['rm', '--force', name], { allowFailure: true });
    await queue.close();
    await removeScratchDir(dir, IMAGE);
  }
}

/** Milliseconds from `docker start NAME` until `done()` holds (polled every POLL_MS); after GIVE_UP_MS, throws. */
async function timeStartUntil(name: string, done: () => boolean | Promise<boolean>, giveUp: string): Promise<number> {
  const started = performance.now();
  const start = docker(['start', name]);
  while (!(await done())) {
    if (performance.now() - started > GIVE_UP_MS) throw new Error(giveUp);
    await sleep(POLL_MS);
  }
  const elapsed = performance.now() - started;
  await start;
  return elapsed;
}

/**
 * Milliseconds from `docker start` of a bare Node container on the base image to the file it writes
 * first thing appearing on a mounted folder, watched as the lease is: the floor for the worker's
 * first lease (Docker's start plus Node's), without the container's exit in it.
 */
async function bareNodeFirstWrite(baseImage: string, run: number): Promise<number> {
  const dir = writableScratchDir('gke-batch-bench-image-bare-');
  const mark = path.join(dir, 'started');
  const name = `gke-batch-bench-write-${process.pid}-${run}`;
  try {
    makeWritableByAnyone(dir);
    const script = `require('node:fs').writeFileSync(${JSON.stringify(mark)}, '')`;
    await docker(['create', '--name', name, '--volume', `${dir}:${dir}`, baseImage, 'node', '-e', script]);
    return await timeStartUntil(name, () => existsSync(mark), `run ${run}: the bare container wrote nothing`);
  } finally {
    await docker(['rm', '--force', name], { allowFailure: true });
    await removeScratchDir(dir, IMAGE);
  }
}

/** Milliseconds for `docker start --attach` of a `node -e 0` container on the base image. */
async function bareNodeContainer(baseImage: string, run: number): Promise<number> {
  const name = `gke-batch-bench-bare-${process.pid}-${run}`;
  await docker(['create', '--name', name, baseImage, 'node', '-e', '0']);
  try {
    const started = performance.now();
    await docker(['start', '--attach', name]);
    return performance.now() - started;
  } finally {
    await docker(['rm', '--force', name], { allowFailure: true });
  }
}

function summary(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const range = `min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}, n=${sorted.length}`;
  return `median ${median.toFixed(0)} ms (${range})`;
}

async function main(): Promise<void> {
  const options = new Command('bench image')
    .description('worker image size against its base, and container start → first task leased')
    .addOption(
      new Option('--runs <n>', 'containers started per measurement').default('5').argParser((value) => {
        const runs = Number(value);
        if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${value} must be a whole number ≥ 1`);
        return runs;
      }),
    )
    .parse()
    .opts<{ runs: number }>();

  const daemon = probeDockerDaemon();
  if (!daemon.reachable) throw new Error(`${daemon.reason}: start one first (sudo bash scripts/ci-docker.sh)`);

  const baseImage = await testBaseImage((line) => process.stdout.write(`${line}\n`));
  const buildStarted = performance.now();
  await buildWorkerImage(IMAGE, baseImage);
  process.stdout.write(
    `built ${IMAGE} on ${baseImage} in ${((performance.now() - buildStarted) / 1000).toFixed(0)} s ` +
      '(layer cache included)\n',
  );

  const [size, base] = await Promise.all([imageSize(IMAGE), imageSize(baseImage)]);
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  process.stdout.write(
    `image size: ${mb(size)} = base ${mb(base)} + worker ${mb(size - base)} (goal: worker ≤ 10 MB)\n`,
  );

  const bare: number[] = [];
  const firstWrite: number[] = [];
  const lease: number[] = [];
  const ahead: number[] = [];
  for (let run = 0; run < options.runs; run++) {
    bare.push(await bareNodeContainer(baseImage, run));
    firstWrite.push(await bareNodeFirstWrite(baseImage, run));
    lease.push(await startToFirstLease(run));
    ahead.push(lease.at(-1)! - firstWrite.at(-1)!);
  }
  process.stdout.write(`docker start → first task leased: ${summary(lease)} (goal ≤ 300 ms)\n`);
  process.stdout.write(`bare node container, start → its first file written: ${summary(firstWrite)}\n`);
  process.stdout.write(`the worker's own share (lease − first write, per run): ${summary(ahead)}\n`);
  process.stdout.write(`bare node -e 0 container, start to exit: ${summary(bare)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

/**
 * The worker container image, built from the project's Dockerfile and run by a real Docker daemon:
 * what is (not) inside it, draining a file queue on a mounted volume, SIGTERM handling as PID 1, and
 * running as an arbitrary non-root UID on a read-only root filesystem.
 *
 * Without a reachable daemon the suite is skipped with the reason (the reporter lists it); under CI
 * a skip fails the run, since CI must always run the image tests.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openQueue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import type { Queue } from '../lib/queue/types';
import { countPrimes } from '../tasks/example';
import { buildWorkerImage, docker, imageFileList, imageSize, probeDockerDaemon, testBaseImage } from './support/docker';
import { makeWritableByAnyone, removeScratchDir, writableScratchDir } from './support/scratchDir';
import { skipWithReason } from './support/tools';

const ROOT = path.resolve(__dirname, '..');
/** Per test process: engineers sharing a daemon may run the suite at the same time. */
const IMAGE = `gke-batch-worker:test-${process.pid}`;
const MB = 1e6;

const daemon = probeDockerDaemon();

describe('worker container image (real Docker daemon)', function () {
  let baseImage: string;
  const containers: string[] = [];
  const scratchDirs: string[] = [];
  const queues: Queue[] = [];

  before(async function () {
    if (!daemon.reachable) {
      skipWithReason(
        this,
        `${daemon.reason}: install Docker and start its daemon to run the image tests (CI does: scripts/test-tools.sh)`,
      );
    }
    // a fresh machine: debootstrap the base (≈1 min) and npm ci inside the build (≈1.5 min)
    this.timeout(15 * 60_000);
    baseImage = await testBaseImage((line) => process.stdout.write(`      ${line}\n`));
    await buildWorkerImage(IMAGE, baseImage);
  });

  afterEach(async () => {
    const names = containers.splice(0);
    if (names.length > 0) await docker(['rm', '--force', ...names], { allowFailure: true });
  });

  after(async () => {
    if (!daemon.reachable) return; // skipped: nothing was made, and there is no docker to ask
    for (const queue of queues.splice(0)) await queue.close();
    for (const dir of scratchDirs.splice(0)) await removeScratchDir(dir, IMAGE);
    // The build stage's layers stay in the daemon as the build cache for the next run.
    await docker(['rmi', IMAGE], { allowFailure: true });
  });

  /** A scratch folder any container user can write to, mounted at the same path inside. */
  function scratch(): string {
    const dir = writableScratchDir('gke-batch-image-');
    scratchDirs.push(dir);
    return dir;
  }

  function containerName(purpose: string): string {
    const name = `gke-batch-test-${purpose}-${process.pid}-${containers.length}`;
    containers.push(name);
    return name;
  }

  interface QueueFixture {
    readonly dir: string;
    readonly queue: Queue;
    readonly queueUrl: string;
    readonly outputs: string;
  }

  /** A file queue holding one count_primes task per row, writable by any UID. */
  async function fileQueueWith(
    rows: ReadonlyArray<{ start: number; count: number; sleep_ms?: number }>,
  ): Promise<QueueFixture> {
    const dir = scratch();
    const queueUrl = `fq://${path.join(dir, 'queue')}`;
    const outputs = path.join(dir, 'outputs');
    const queue = await openQueue(queueUrl);
    queues.push(queue);
    const bodies = rows.map((row) =>
      encodeTask(
        countPrimes.key,
        { label: `from ${row.start}`, sleep_ms: 0, ...row, cloudpath: `file://${outputs}` },
        'image-test',
      ),
    );
    assert.equal(await queue.insert(bodies), rows.length);
    makeWritableByAnyone(dir);
    return { dir, queue, queueUrl, outputs };
  }

  /** `docker run` arguments that mount the fixture and point the worker at it, by environment only. */
  function workerArgs(fixture: QueueFixture, env: Record<string, string> = {}): string[] {
    const settings = { TASKQUEUE_PATH: fixture.queueUrl, CF_CLOUDPATH: `file://${fixture.outputs}`, ...env };
    return [
      '--volume',
      `${fixture.dir}:${fixture.dir}`,
      ...Object.entries(settings).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    ];
  }

  async function waitForExit(name: string, timeoutMs: number): Promise<number> {
    const { stdout } = await docker(['wait', name], { timeoutMs });
    return Number(stdout.trim());
  }

  function assertOutputs(outputs: string, rows: ReadonlyArray<{ start: number; count: number }>): void {
    for (const { start, count } of rows) {
      const file = path.join(outputs, 'primes', `${start}.json`);
      const written = JSON.parse(readFileSync(file, 'utf8')) as {
        start: number;
        count: number;
        primes: number;
        largest: number | null;
      };
      const expected = primesIn(start, count);
      assert.deepEqual(
        { start: written.start, count: written.count, primes: written.primes, largest: written.largest },
        { start, count, primes: expected.length, largest: expected.at(-1) ?? null },
        file,
      );
    }
  }

  it('adds at most 10 MB to its base image: the bundle, nothing from dev tooling or secrets', async function () {
    this.timeout(120_000);
    const [size, base] = await Promise.all([imageSize(IMAGE), imageSize(baseImage)]);
    const added = size - base;
    process.stdout.write(
      `      image ${(size / MB).toFixed(1)} MB = base ${(base / MB).toFixed(1)} MB + worker ` +
        `${(added / MB).toFixed(1)} MB\n`,
    );
    assert.ok(
      added > 0 && added <= 10 * MB,
      `the worker adds ${(added / MB).toFixed(1)} MB to the base image (limit 10 MB: issue 19)`,
    );

    const [files, baseFiles] = await Promise.all([imageFileList(IMAGE), imageFileList(baseImage)]);
    const inBase = new Set(baseFiles);
    assert.deepEqual(
      files.filter((file) => !inBase.has(file)).sort(),
      [
        '/app/',
        '/app/aws-sdk.js',
        '/app/fq-thread.js',
        '/app/fq-thread.js.map',
        '/app/google-cloud.js',
        '/app/shared-packages.js',
        '/app/shared-packages.js.cache',
        '/app/worker-thread.js',
        '/app/worker-thread.js.map',
        '/app/worker.js',
        '/app/worker.js.map',
      ].sort(),
      "the final stage adds exactly the bundle: the main, task and file-queue threads' entries, their " +
        "source maps, the packages' files",
    );
    const devPackages = ['@pulumi', 'typescript', 'mocha', 'esbuild', '@esbuild', 'tsx', 'fauxqs', 'hono', '@hono']
      .concat(['uplot', 'playwright-core'])
      .join('|');
    const forbidden = new RegExp(
      `/node_modules/(${devPackages})/|` +
        /(^|\/)\.env$|\.env$|Pulumi\.[^/]*\.ya?ml$|\/\.pulumi\/|\/\.git\/|package-lock\.json$/.source,
    );
    assert.deepEqual(
      files.filter((file) => forbidden.test(file)),
      [],
      'dev tooling, the dashboard, env files or Pulumi state in the image',
    );

    const [config] = JSON.parse((await docker(['image', 'inspect', IMAGE])).stdout) as Array<{
      Config: { User: string; Entrypoint: string[]; Env: string[]; WorkingDir: string };
    }>;
    assert.equal(config!.Config.User, '10001:10001');
    assert.equal(config!.Config.Entrypoint[0], 'node', 'exec-form ENTRYPOINT: node is PID 1, no shell in between');
    assert.equal(config!.Config.Entrypoint.at(-1), '/app/worker.js');
    assert.ok(config!.Config.Env.includes('NODE_ENV=production'));
    assert.ok(config!.Config.Env.includes('TMPDIR=/tmp'));
    const leakyEnv = config!.Config.Env.filter((entry) =>
      /(SECRET|TOKEN|PASSWORD|CREDENTIAL|ACCESS_KEY|TASKQUEUE_PATH|CF_CLOUDPATH)[^=]*=/i.test(entry),
    );
    assert.deepEqual(leakyEnv, [], 'credentials or task settings baked into the image');
    const history = (await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', IMAGE])).stdout;
    assert.doesNotMatch(
      history,
      /BEGIN CERTIFICATE|EXTRA_CA_CERTS|NPM_REGISTRY/,
      'build-time settings leaked into the final image history',
    );
  });

  it(
    '.dockerignore keeps secrets, env files, node_modules, tests, local state and Pulumi state out of the ' +
      'build context',
    async function () {
      this.timeout(120_000);
      const context = scratch();
      const files = [
        'package.json',
        'package-lock.json',
        'tsconfig.json',
        'scripts/build-worker.ts',
        'scripts/worker-bundle/d.ts',
        'lib/a.ts',
        'tasks/b.ts',
        'worker/c.ts',
        '.env',
        'config/task.env',
        'lib/.env',
        'tasks/prod.env',
        'worker/.env.local',
        'lib/service-account.pem',
        'lib/gcp-credentials.json',
        'Pulumi.dev.yaml',
        'infra/Pulumi.prod.yaml',
        '.pulumi/stacks/dev.json',
        'node_modules/pkg/index.js',
        'lib/node_modules/pkg/index.js',
        'test/image.test.ts',
        'local/queue/queue/0--id.json',
        'dist/worker.js',
        '.git/config',
        'docs/image.md',
        'bench/image.ts',
        'scripts/other.sh',
        'dashboard/server.ts',
        'dashboard/client/main.ts',
        'cli/dashboard.ts',
      ];
      for (const file of files) {
        mkdirSync(path.dirname(path.join(context, file)), { recursive: true });
        writeFileSync(path.join(context, file), file);
      }
      copyFileSync(path.join(ROOT, '.dockerignore'), path.join(context, '.dockerignore'));
      const probe = `gke-batch-context-probe:${process.pid}`;
      await docker(['build', '--quiet', '--tag', probe, '--file', '-', context], {
        input: `FROM ${baseImage}\nCOPY . /context/\n`,
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
      });
      try {
        const sent = (await imageFileList(probe))
          .filter((file) => file.startsWith('/context/') && !file.endsWith('/'))
          .map((file) => file.slice('/context/'.length));
        assert.deepEqual(sent.sort(), [
          'lib/a.ts',
          'package-lock.json',
          'package.json',
          'scripts/build-worker.ts',
          'scripts/worker-bundle/d.ts',
          'tasks/b.ts',
          'tsconfig.json',
          'worker/c.ts',
        ]);
      } finally {
        await docker(['rmi', '--force', probe], { allowFailure: true });
      }
    },
  );

  it('drains a file queue on a mounted volume and writes every output', async function () {
    this.timeout(120_000);
    const rows = [
      { start: 0, count: 1000 },
      { start: 1000, count: 1000 },
      { start: 1_000_000, count: 5000 },
      { start: 7, count: 1 },
    ];
    const fixture = await fileQueueWith(rows);
    const name = containerName('drain');
    await docker(['run', '--detach', '--name', name, ...workerArgs(fixture, { WORKER_EXIT_WHEN_EMPTY: '1' }), IMAGE]);
    const code = await waitForExit(name, 90_000);
    const logs = await docker(['logs', name]);
    assert.equal(code, 0, `worker exit code (logs:\n${logs.stdout}${logs.stderr})`);
    assertOutputs(fixture.outputs, rows);
    // pino writes to stdout itself (no worker-thread transport): one Cloud Logging JSON entry per line.
    const lines = logs.stdout.trim().split('\n');
    for (const line of lines)
      assert.ok(
        typeof (JSON.parse(line) as { severity?: unknown }).severity === 'string',
        `not a JSON log line: ${line}`,
      );
    assert.equal(logs.stderr, '', 'nothing on stderr');
    const counts = await fixture.queue.counts();
    assert.deepEqual(
      { enqueued: counts.enqueued, completed: counts.completed, failed: counts.failed },
      { enqueued: 0, completed: rows.length, failed: 0 },
    );
  });

  it("takes the code cache made by the build stage's Node, on the main thread and in each thread", async function () {
    this.timeout(120_000);
    // Long enough that both task threads have loaded before the queue is empty: the worker leases
    // while they load, and one quick task would end the run before the second reported.
    const fixture = await fileQueueWith(Array.from({ length: 4 }, (_, i) => ({ start: i, count: 10, sleep_ms: 400 })));
    const name = containerName('cache');
    const env = { WORKER_EXIT_WHEN_EMPTY: '1', WORKER_CONCURRENCY: '2', GKE_BATCH_CODE_CACHE: 'report' };
    await docker(['run', '--detach', '--name', name, ...workerArgs(fixture, env), IMAGE]);
    const code = await waitForExit(name, 90_000);
    const logs = await docker(['logs', name]);
    assert.equal(code, 0, `worker exit code (logs:\n${logs.stdout}${logs.stderr})`);
    assert.deepEqual(
      logs.stderr.trim().split('\n'),
      Array(3).fill('code cache of /app/shared-packages.js: used'),
      'what became of the cache, per thread',
    );
  });

  it('on docker stop releases the running task at once and exits 0 within the grace period', async function () {
    this.timeout(120_000);
    const graceSeconds = 2;
    const fixture = await fileQueueWith([{ start: 10, count: 10, sleep_ms: 10 * 60_000 }]);
    const name = containerName('stop');
    const env = { WORKER_GRACE_SECONDS: String(graceSeconds), TQ_LEASE_SECONDS: '600' };
    await docker(['run', '--detach', '--name', name, ...workerArgs(fixture, env), IMAGE]);
    await waitFor(async () => (await fixture.queue.counts()).leased === 1, 60_000, 'the container to lease the task');

    const stopTimeoutSeconds = 30;
    const started = Date.now();
    await docker(['stop', '--time', String(stopTimeoutSeconds), name], {
      timeoutMs: (stopTimeoutSeconds + 30) * 1000,
    });
    const stopSeconds = (Date.now() - started) / 1000;

    const counts = await fixture.queue.counts();
    assert.deepEqual(
      { enqueued: counts.enqueued, leased: counts.leased },
      { enqueued: 1, leased: 0 },
      'the task is back in the queue, unleased',
    );
    const [again] = await fixture.queue.lease({ count: 1, seconds: 60 });
    assert.ok(again, 'the released task can be leased again right away');
    await fixture.queue.release(again);

    const state = JSON.parse((await docker(['inspect', '--format', '{{json .State}}', name])).stdout) as {
      ExitCode: number;
      OOMKilled: boolean;
    };
    const logs = await docker(['logs', name]);
    assert.equal(
      state.ExitCode,
      0,
      `exit code 0, not 137 (SIGKILL after the stop timeout); logs:\n${logs.stdout}${logs.stderr}`,
    );
    assert.match(logs.stdout, /received SIGTERM/, 'node as PID 1 saw the SIGTERM');
    // Generous slack for a contended CPU; SIGTERM ignored would take the full stop timeout.
    assert.ok(
      stopSeconds < graceSeconds + 10,
      `docker stop took ${stopSeconds.toFixed(1)} s with a ${graceSeconds} s grace period`,
    );
  });

  it('runs as a random non-root UID with a read-only root filesystem and a tmpfs /tmp', async function () {
    this.timeout(120_000);
    const rows = [
      { start: 500, count: 500 },
      { start: 2000, count: 100 },
    ];
    const fixture = await fileQueueWith(rows);
    const uid = 20_000 + Math.floor(Math.random() * 40_000);
    const name = containerName('readonly');
    await docker([
      'run',
      '--detach',
      '--name',
      name,
      '--user',
      `${uid}:${uid}`,
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      ...workerArgs(fixture, { WORKER_EXIT_WHEN_EMPTY: '1' }),
      IMAGE,
    ]);
    const code = await waitForExit(name, 90_000);
    const logs = await docker(['logs', name]);
    assert.equal(code, 0, `worker exit code as UID ${uid} (logs:\n${logs.stdout}${logs.stderr})`);
    assertOutputs(fixture.outputs, rows);
    assert.equal((await fixture.queue.counts()).completed, rows.length);
  });
});

/** The primes in [start, start + count), by a sieve (the task itself uses trial division). */
function primesIn(start: number, count: number): number[] {
  const end = start + count;
  const composite = new Uint8Array(end);
  const primes: number[] = [];
  for (let n = 2; n < end; n++) {
    if (composite[n]) continue;
    if (n >= start) primes.push(n);
    for (let multiple = n * n; multiple < end; multiple += n) composite[multiple] = 1;
  }
  return primes;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

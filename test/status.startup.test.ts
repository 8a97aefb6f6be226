/**
 * What `npm run status` loads to look once at a file queue: not what only `--watch`, `--cluster`, another
 * backend or an object write needs (each costs start-up time), and V8's compile cache is kept between runs.
 * On Pub/Sub: the generated subscriber only, not the handwritten client nor the publisher.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createQueue } from '../lib/queue';
import { runCli } from './ops.helpers';
import { startPstest } from './support/pstest';
import { useToolServer } from './support/tools';

const LOADED_MODULES = path.join(__dirname, 'support', 'loadedModules.cjs');

/** Modules that a one-look status on a file queue must not load, with why they are loaded elsewhere. */
const NOT_FOR_ONE_LOOK: ReadonlyArray<readonly [RegExp, string]> = [
  [/\/lib\/ops\/watch\.ts$/, 'status --watch'],
  [/\/node_modules\/cli-progress\//, 'status --watch'],
  [/\/node_modules\/wrap-ansi\//, 'status --watch'],
  [/\/lib\/ops\/clusterFetch\.ts$/, 'status --cluster'],
  [/\/node_modules\/@kubernetes\//, 'status --cluster'],
  [/\/node_modules\/@aws-sdk\//, 'SQS and S3'],
  [/\/node_modules\/@google-cloud\//, 'Pub/Sub and GCS'],
  [/\/node_modules\/@grpc\//, 'Pub/Sub'],
  [/\/node_modules\/mime-db\//, 'writing an object'],
];

describe('npm run status: start-up', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'status-startup-'));
  const queueUrl = `fq://${path.join(dir, 'queue')}`;
  before(() => createQueue(queueUrl));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads none of what only --watch, --cluster, the cloud backends or object writes need', async () => {
    const listFile = path.join(dir, 'modules.txt');
    const run = await runCli('status', ['--queue', queueUrl], {
      NODE_OPTIONS: `--require ${LOADED_MODULES}`,
      LOADED_MODULES_FILE: listFile,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^enqueued +0/m);
    const loaded = readFileSync(listFile, 'utf8').split('\n');
    assert.ok(
      loaded.some((file) => file.endsWith(path.join('lib', 'queue', 'fileQueue.ts'))),
      'the list is real',
    );
    for (const [pattern, neededBy] of NOT_FOR_ONE_LOOK) {
      assert.deepEqual(
        loaded.filter((file) => pattern.test(file)),
        [],
        `loaded, though only ${neededBy} needs it`,
      );
    }
  });

  it("keeps V8's compiled code of its modules for the next start, which prints the same", async () => {
    const cache = path.join(dir, 'compile-cache');
    const first = await runCli('status', ['--queue', queueUrl, '--json'], { NODE_COMPILE_CACHE: cache });
    assert.equal(first.code, 0, first.stderr);
    const cached = readdirSync(cache, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    assert.ok(cached.length > 50, `${cached.length} files in the compile cache`);
    const second = await runCli('status', ['--queue', queueUrl, '--json'], { NODE_COMPILE_CACHE: cache });
    assert.equal(second.code, 0, second.stderr);
    const { time: _first, ...firstReport } = JSON.parse(first.stdout) as Record<string, unknown>;
    const { time: _second, ...secondReport } = JSON.parse(second.stdout) as Record<string, unknown>;
    assert.deepEqual(secondReport, firstReport);
  });
});

describe('npm run status on Pub/Sub: start-up', function () {
  this.timeout(60_000);
  const pstest = useToolServer('pstest', startPstest);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'status-startup-pubsub-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the generated subscriber, not the handwritten client or the publisher it does not need', async () => {
    const queueUrl = await createQueue('pubsub://startup-project/look');
    const listFile = path.join(dir, 'modules.txt');
    const run = await runCli('status', ['--queue', queueUrl], {
      ...pstest.server.env,
      NODE_OPTIONS: `--require ${LOADED_MODULES}`,
      LOADED_MODULES_FILE: listFile,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^failed +0 +dead-lettered$/m);
    const loaded = readFileSync(listFile, 'utf8').split('\n');
    const under = (folder: string) => loaded.filter((file) => file.includes(`/node_modules/${folder}/`));
    assert.ok(
      under('@google-cloud/pubsub-api').some((file) => file.endsWith('/v1/subscriber_client.js')),
      'the list is real',
    );
    assert.deepEqual(under('@google-cloud/pubsub'), [], 'the handwritten client (publishing) is not loaded');
    assert.deepEqual(
      under('@google-cloud/pubsub-api').filter((file) => /_client\.js$/.test(file) && !/subscriber_client/.test(file)),
      [],
      'no other generated client is loaded',
    );
  });
});

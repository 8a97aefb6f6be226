/**
 * The test-only tools from scripts/test-tools.sh really work: the Python venv (python-task-queue,
 * pandas, pyarrow), Google's GCS and Pub/Sub fakes, and the latency proxy. Each suite skips with
 * the install command locally when its tool is missing, and fails under CI.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PubSub, v1 } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { openTable, type TableRow } from '../lib/params/readTable';
import { startFakeGcs } from './support/fakeGcs';
import { startPstest } from './support/pstest';
import { requireToolOrSkip, runPython, useToolServer } from './support/tools';
import { startToxiproxy } from './support/toxiproxy';

describe('test tools: the Python venv', function () {
  this.timeout(120_000);
  let dir: string;

  before(function () {
    requireToolOrSkip(this, 'python');
    dir = mkdtempSync(path.join(os.tmpdir(), 'gke-batch-tools-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('imports the pinned python-task-queue, pandas and pyarrow', async () => {
    const out = await runPython(
      'import importlib.metadata as m, taskqueue, pandas, pyarrow; print(m.version("task-queue"), ' +
        'pandas.__version__, pyarrow.__version__)',
    );
    assert.deepEqual(out.trim().split(' '), ['2.14.3', '3.1.1', '26.0.1']);
  });

  it('writes a Feather file with pandas that lib/params reads back value for value', async () => {
    const file = path.join(dir, 'pandas.feather');
    await runPython(
      [
        'import sys, pandas as pd',
        'df = pd.DataFrame({"start": [0, 1000, 2**40], "label": ["a", None, "ü"], "ratio": [0.5, -1.25, ' +
          '3.0], "ok": [True, False, True]})',
        'df.to_feather(sys.argv[1])',
      ].join('\n'),
      [file],
    );
    const table = await openTable(file);
    const rows: TableRow[] = [];
    for await (const chunk of table.rows()) rows.push(...chunk);
    assert.equal(table.format, 'arrow-file');
    assert.deepEqual(
      rows.map((row) => row.values),
      [
        { start: 0, label: 'a', ratio: 0.5, ok: true },
        { start: 1000, label: null, ratio: -1.25, ok: false },
        { start: 2 ** 40, label: 'ü', ratio: 3, ok: true },
      ],
    );
  });
});

describe('test tools: fake-gcs-server', function () {
  this.timeout(60_000);
  const gcs = useToolServer('fake-gcs-server', startFakeGcs);

  it(
    'lets the @google-cloud/storage client create a bucket, write objects (one resumable, in chunks), read ' +
      'and list them',
    async () => {
      const client = new Storage({ apiEndpoint: gcs.server.endpoint, projectId: 'test' });
      const [bucket] = await client.createBucket('tools-smoke');
      const body = `ünïcode and bytes ${Date.now()}`;
      await bucket.file('dir/hello.txt').save(body, { contentType: 'text/plain', resumable: false });
      const [read] = await bucket.file('dir/hello.txt').download();
      assert.equal(read.toString('utf8'), body);
      const large = Buffer.alloc(9 * 1024 * 1024, 7);
      await bucket.file('dir/large.bin').save(large, { resumable: true, chunkSize: 4 * 1024 * 1024 });
      const [readLarge] = await bucket.file('dir/large.bin').download();
      assert.ok(readLarge.equals(large), 'the resumable upload came back byte for byte');
      const [files] = await bucket.getFiles({ prefix: 'dir/' });
      assert.deepEqual(
        files.map((file) => file.name),
        ['dir/hello.txt', 'dir/large.bin'],
      );
    },
  );
});

describe('test tools: pstest (Google Pub/Sub fake)', function () {
  this.timeout(60_000);
  useToolServer('pstest', startPstest);

  it('publishes, pulls and acks one message through PUBSUB_EMULATOR_HOST', async () => {
    const pubsub = new PubSub({ projectId: 'tools-smoke' });
    // The emulator endpoint and insecure channel the handwritten client derived from the variable.
    const subscriber = new v1.SubscriberClient({ ...pubsub.options });
    try {
      const [topic] = await pubsub.createTopic('smoke');
      const [subscription] = await topic.createSubscription('smoke-sub', { ackDeadlineSeconds: 60 });
      const id = await topic.publishMessage({ data: Buffer.from('{"n":1}'), attributes: { kind: 'smoke' } });
      assert.match(id, /\S/);

      const pull = () => subscriber.pull({ subscription: subscription.name, maxMessages: 10, returnImmediately: true });
      const [first] = await pull();
      assert.equal(first.receivedMessages?.length, 1);
      const received = first.receivedMessages![0]!;
      assert.equal(received.message?.messageId, id);
      assert.equal(Buffer.from(received.message!.data!).toString('utf8'), '{"n":1}');
      assert.deepEqual(received.message?.attributes, { kind: 'smoke' });

      await subscriber.acknowledge({ subscription: subscription.name, ackIds: [received.ackId!] });
      // Deadline 0 would make an unacked message visible again at once; an acked one stays gone.
      await subscriber.modifyAckDeadline({
        subscription: subscription.name,
        ackIds: [received.ackId!],
        ackDeadlineSeconds: 0,
      });
      const [second] = await pull();
      assert.equal(second.receivedMessages?.length ?? 0, 0, 'the acked message came back');
    } finally {
      await subscriber.close();
      await pubsub.close();
    }
  });
});

describe('test tools: toxiproxy-server', function () {
  this.timeout(60_000);
  const toxiproxy = useToolServer('toxiproxy-server', startToxiproxy);
  let echo: Server | undefined;

  before(async () => {
    echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo!.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => (echo ? echo.close(resolve) : resolve(undefined)));
  });

  /** Median round trip of one small write echoed back, over one connection, in ms. */
  async function medianRoundTripMs(port: number, samples = 7): Promise<number> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const times: number[] = [];
    try {
      for (let i = 0; i < samples; i++) {
        const started = performance.now();
        socket.write('ping');
        await once(socket, 'data');
        times.push(performance.now() - started);
      }
    } finally {
      socket.destroy();
    }
    return times.sort((a, b) => a - b)[Math.floor(samples / 2)]!;
  }

  it('adds at least 25 ms to a round trip through a proxy with a 30 ms latency toxic', async () => {
    const address = echo!.address();
    assert.ok(address && typeof address === 'object');
    const upstream = `127.0.0.1:${address.port}`;
    const plain = await toxiproxy.server.addProxy('smoke-plain', upstream);
    const slow = await toxiproxy.server.addProxy('smoke-slow', upstream, { latencyMs: 30 });
    const [direct, viaPlain, viaSlow] = [
      await medianRoundTripMs(address.port),
      await medianRoundTripMs(plain.port),
      await medianRoundTripMs(slow.port),
    ];
    process.stdout.write(
      `      round trip: direct ${direct.toFixed(1)} ms, proxy ${viaPlain.toFixed(1)} ms, proxy + 30 ms ` +
        `toxic ${viaSlow.toFixed(1)} ms\n`,
    );
    assert.ok(viaSlow - viaPlain >= 25, `the toxic added ${(viaSlow - viaPlain).toFixed(1)} ms`);
    assert.ok(viaSlow - viaPlain < 200, `the toxic added ${(viaSlow - viaPlain).toFixed(1)} ms, far over 30 ms`);
  });
});

/**
 * `npm run failures` on what a real worker dead-lettered (issue 20): a misspelt argument's schema
 * failure names the field on the table's line, a long field is cut with a note, and bodies or
 * values holding control bytes, C1 controls or bidirectional overrides are printed as escapes, never
 * raw to the terminal; --full shows everything (escaped), --json keeps the bytes exactly.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createQueue, openQueue, Queue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { runCli } from './ops.helpers';
import { FIXTURE_TASKS, startWorker } from './support/workerProcess';

/** Anything a terminal would act on: every C0 control but the newline, DEL, C1, bidi controls. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

describe('npm run failures: what the worker dead-lettered, printed safely', function () {
  this.timeout(120_000);
  let dir: string;
  let url: string;
  let queue: Queue;
  const long = 'x'.repeat(2000);
  const hostileBody = '\u001b[31mred\u0007\u0000 \u009b2J \u202etxt.exe';
  const hostileName = 'a\u202eb\u001b[2Jc';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failures-cli-'));
    url = await createQueue(`fq://${path.join(dir, 'q')}`);
    queue = await openQueue(url);
    await queue.insert([
      { ...encodeTask(['fixtures', 'sleep'], { dir, name: 'typo', sleepms: 5 }, url), id: 'typo' },
      { ...encodeTask(['fixtures', 'sleep'], { dir, name: long, ms: 'soon' }, url), id: 'long' },
      { ...encodeTask(['fixtures', 'sleep'], { dir, name: hostileName }, url), id: 'hostile-params' },
      { id: 'binary', body: hostileBody },
    ]);
    // A real worker dead-letters all four at their first attempt: they can never run.
    const flags = ['--queue', url, '--cloudpath', `file://${path.join(dir, 'out')}`, '--tasks', FIXTURE_TASKS];
    const worker = await startWorker([...flags, '--exit-when-empty']);
    const exit = await worker.waitForExit(90_000);
    assert.equal(exit.code, 0, worker.describe());
    assert.equal((await queue.counts()).failed, 4, worker.describe());
  });
  after(async () => {
    await queue.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('groups by error with the field named and nothing raw, the hostile id quoted in its logs command', async () => {
    const grouped = await runCli('failures', ['--queue', url]);
    assert.equal(grouped.code, 0, grouped.stderr);
    assert.doesNotMatch(grouped.stdout, RAW_CONTROL, 'nothing raw reaches the terminal');
    assert.match(grouped.stdout, /^4 dead-lettered tasks in fq:.*, 2 distinct errors:$/m);
    // The three schema failures are one group; its example names the field, as the list's line does.
    assert.match(
      grouped.stdout,
      /^ {4}3 .* InvalidParams: task fixtures\.sleep: parameters do not match its schema:$/m,
    );
    assert.match(grouped.stdout, /e\.g\. task [\w-]+, 1 tries: InvalidParams: .*: ✖ .* → at \w+$/m);
    assert.match(grouped.stdout, /e\.g\. task binary, .*MalformedTask: /);
    assert.match(grouped.stdout, /^ +logs: grep -hF '"taskId":"binary"' local\/logs\/worker-\*\.log$/m);
  });

  it('--list names the field of a schema failure on one line, cuts long values, escapes control bytes', async () => {
    const table = await runCli('failures', ['--queue', url, '--list']);
    assert.equal(table.code, 0, table.stderr);
    assert.doesNotMatch(table.stdout, RAW_CONTROL, 'nothing raw reaches the terminal');
    const lines = table.stdout.split('\n');
    const line = (id: string) => lines.find((l) => l.startsWith(`${id} `)) ?? assert.fail(`no line for ${id}`);
    assert.match(
      line('typo'),
      new RegExp(
        'InvalidParams: task fixtures\\.sleep: parameters do not match its schema: ' +
          '✖ unknown argument "sleepms".*; ✖ .* → at ms$',
      ),
    );
    // The long value: cut on the parameter line, with how much was left out and where to see it.
    const paramsOfLong = lines[lines.indexOf(line('long')) + 1]!;
    assert.match(paramsOfLong, /^ {4}dir=".*" name="x{100,}… \(\d+ more characters: --full or --json\)$/);
    assert.ok(paramsOfLong.length < 400, `${paramsOfLong.length} characters`);
    assert.match(line('long'), /InvalidParams: .*parameters do not match its schema: ✖ .*ms/);
    // Escaped, not raw: the body that is no task message, and a value with a bidi override.
    assert.match(table.stdout, /^ {4}body: \\x1b\[31mred\\x07\\x00 \\x9b2J \\u202etxt\.exe$/m);
    assert.match(table.stdout, /name="a\\u202eb\\u001b\[2Jc"/);
    assert.match(line('binary'), /MalformedTask: /);
  });

  it('--full shows every detail, escaped; --json keeps the bytes exactly', async () => {
    const [full, json] = await Promise.all([
      runCli('failures', ['--queue', url, '--full']),
      runCli('failures', ['--queue', url, '--json']),
    ]);
    assert.equal(full.code, 0, full.stderr);
    assert.doesNotMatch(full.stdout, RAW_CONTROL);
    assert.ok(full.stdout.includes(`name="${long}"`), 'the long value whole');
    assert.match(full.stdout, /^ {4}✖ unknown argument "sleepms"; the task takes dir, name, ms, ignore_abort$/m);
    const listed = JSON.parse(json.stdout) as { failures: Array<{ id: string; body: string }> };
    const byId = new Map(listed.failures.map((f) => [f.id, f]));
    assert.equal(byId.get('binary')?.body, hostileBody);
    assert.equal(JSON.parse(byId.get('hostile-params')!.body).payload[2].name, hostileName);
  });
});

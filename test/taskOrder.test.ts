/**
 * README §1 tells users to list their own task in tasks/index.ts, and the first one listed is the
 * default for `npm run insert`. The suite must not depend on which task that is: this runs the test
 * files that start the task-picking commands (insert, params, task, npm start) in a copy of the
 * project whose tasks/index.ts lists a user's task first, and expects them all to pass there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { copyProject } from './support/projectCopy';

/** A user's task, listed before the example (its parameters share nothing with the example's). */
const USER_TASK = `import { z } from 'zod';
import { defineTask } from '../lib/task';

export const double = defineTask({
  key: ['tasks.mine', 'double'],
  description: 'a user task listed first',
  params: z.object({ x: z.number() }),
  async run({ x }, { storage }) {
    await storage.putJson(\`double/\${x}.json\`, { y: 2 * x });
  },
});
`;

const USER_FIRST = `import type { AnyTaskDefinition } from '../lib/task';
import { countPrimes } from './example';
import { double } from './mine';

export const tasks: readonly AnyTaskDefinition[] = [double, countPrimes];
`;

/** The test files that run the commands which pick a task, and need no test server. */
const TASK_PICKING_TESTS = [
  'test/broken.commands.test.ts',
  'test/insert.cli.test.ts',
  'test/insert.nothing.test.ts',
  'test/task.cli.test.ts',
  'test/params.arrow017.test.ts',
  'test/insert.pipeline.test.ts',
];

describe('the suite with a user task listed first in tasks/index.ts', function () {
  this.timeout(600_000);

  it('passes the tests of the task-picking commands unchanged', function () {
    const dir = copyProject({ taskList: USER_FIRST, files: { 'tasks/mine.ts': USER_TASK } });
    try {
      const run = spawnSync(process.execPath, ['node_modules/mocha/bin/mocha.js', ...TASK_PICKING_TESTS], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, CI: '' },
        maxBuffer: 64 * 1024 * 1024,
      });
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.status, 0, `mocha in the copy failed:\n${output.slice(-6000)}`);
      const passed = /^\s*(\d+) passing/m.exec(run.stdout);
      assert.ok(passed && Number(passed[1]) >= TASK_PICKING_TESTS.length, output.slice(-2000));
      assert.doesNotMatch(run.stdout, /\d+ (failing|pending)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

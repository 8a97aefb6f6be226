/** Worker-thread entry of the fuzzer (see fuzzRunner.ts): runs `fuzzFixtures` and posts every event. */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzFixtures, type FuzzFixture } from './fuzz';

const { fixtures, seed, runs, dir } = workerData as {
  fixtures: FuzzFixture[];
  seed: number;
  runs: number;
  dir: string;
};
fuzzFixtures(fixtures, { seed, runs, dir }, (event) => parentPort!.postMessage(event)).then(
  () => parentPort!.postMessage({ type: 'done' }),
  (error: unknown) =>
    parentPort!.postMessage({
      type: 'crash',
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
);

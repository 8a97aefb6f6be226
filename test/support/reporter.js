// Mocha's spec reporter plus the plain closing line CI counts: "N passed, N failed[, N skipped]".
// It lists every skipped test with its reason (see skipWithReason in tools.ts), and under CI
// (CI set and not 0/false) a skipped test fails the run: CI must run every suite.
'use strict';
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

/** Reasons recorded by skipWithReason (test/support/tools.ts), keyed by test or suite. */
const SKIP_REASONS = Symbol.for('gke-batch.skip-reasons');

function runningInCi() {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

function reasonFor(test) {
  const reasons = globalThis[SKIP_REASONS];
  for (let node = test; node && reasons; node = node.parent) {
    const reason = reasons.get(node);
    if (reason) return reason;
  }
  return 'no reason given';
}

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    runner.on(EVENT_TEST_PENDING, (test) => skipped.push(test));
    // Registered before the runner's own 'end' listener, which passes runner.failures to mocha's
    // exit handler: raising it here is what makes the exit code non-zero in both exit modes.
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      const ci = runningInCi();
      if (skipped.length > 0) {
        process.stdout.write(`\n${ci ? 'Skipped under CI, which must run every suite:' : 'Skipped:'}\n`);
        for (const test of skipped) process.stdout.write(`  - ${test.fullTitle()}: ${reasonFor(test)}\n`);
      }
      if (ci && pending > 0) runner.failures += pending;
      process.stdout.write(`\n${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}\n`);
    });
  }
}
module.exports = SpecWithSummary;

/**
 * The SQS inserter's window of calls in flight (lib/queue/adaptiveWindow.ts): grows while answers
 * come as fast as the fastest, shrinks on slow ones once per round trip (never below the start for
 * that), halves on throttling, and stays put when the caller fixed it (initial = max).
 */
import assert from 'node:assert/strict';
import { AdaptiveWindow } from '../lib/queue/adaptiveWindow';

describe('queue: the adaptive window of insert calls in flight', () => {
  it('grows by one per fast answer up to its maximum', () => {
    const window = new AdaptiveWindow(16, 20);
    for (let i = 0; i < 3; i++) window.answered(30);
    assert.equal(window.size, 19);
    for (let i = 0; i < 10; i++) window.answered(31);
    assert.equal(window.size, 20);
    assert.equal(window.largest, 20);
  });

  it('shrinks by a quarter at most once per round trip on much slower answers, not below its start', () => {
    const window = new AdaptiveWindow(4, 64);
    for (let i = 0; i < 10; i++) window.answered(30, 0); // 14
    window.answered(30 * 2 + 5, 0); // at the limit: still fast
    assert.equal(window.size, 15);
    window.answered(100, 1000);
    assert.equal(window.size, 11);
    window.answered(100, 1050); // the same round trip: the same queue
    window.answered(100, 1099);
    assert.equal(window.size, 11);
    window.answered(100, 1100);
    assert.equal(window.size, 8);
    for (let i = 0; i < 20; i++) window.answered(500, 2000 + i * 500);
    assert.equal(window.size, 4);
    assert.equal(window.largest, 15);
  });

  it('halves on throttling, down to one call', () => {
    const window = new AdaptiveWindow(16, 128);
    window.throttled();
    assert.equal(window.size, 8);
    for (let i = 0; i < 5; i++) window.throttled();
    assert.equal(window.size, 1);
    window.answered(20); // fast again: grows back
    assert.equal(window.size, 2);
  });

  it('never moves when fixed (initial = max) but for throttling', () => {
    const window = new AdaptiveWindow(8, 8);
    window.answered(10, 0);
    window.answered(1000, 5000);
    assert.equal(window.size, 8);
  });

  it('refuses a start outside 1..max', () => {
    assert.throws(() => new AdaptiveWindow(0, 8), /initial 0 must be an integer from 1 to max 8/);
    assert.throws(() => new AdaptiveWindow(9, 8), RangeError);
  });
});

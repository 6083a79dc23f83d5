import assert from 'node:assert/strict';
import { test } from 'node:test';

import { StalenessTracker } from '../../proxy/revocation/staleness.js';

/** Creates a tracker whose clock, in milliseconds, the test sets. */
function trackerAt(milliseconds: number, confirmedAt?: number): { tracker: StalenessTracker; setNow: (milliseconds: number) => void } {
  let now = milliseconds;
  const tracker = new StalenessTracker(() => now, confirmedAt);
  return { tracker, setNow: (next) => (now = next) };
}

test('StalenessTracker Infinity before confirmation', () => {
  const { tracker } = trackerAt(10_000);

  assert.equal(tracker.stalenessSeconds(), Number.POSITIVE_INFINITY);
  assert.equal(tracker.confirmedAtMs(), undefined);
  assert.equal(tracker.confirmedSince(0), false);
});

test('StalenessTracker initial confirmation', () => {
  const { tracker } = trackerAt(10_000, 7_500);

  assert.equal(tracker.stalenessSeconds(), 2.5);
  assert.equal(tracker.confirmedAtMs(), 7_500);
});

test('StalenessTracker confirm', () => {
  const { tracker, setNow } = trackerAt(10_000);
  tracker.confirm(10_000);

  assert.equal(tracker.stalenessSeconds(), 0);
  assert.equal(tracker.confirmedAtMs(), 10_000);
  setNow(14_000);
  assert.equal(tracker.stalenessSeconds(), 4);
});

test('StalenessTracker counts from probe send time', () => {
  const { tracker } = trackerAt(10_000);
  // The probe was sent at 6s and its response arrived now, at 10s.
  tracker.confirm(6_000);

  assert.equal(tracker.stalenessSeconds(), 4);
});

test('StalenessTracker older confirm ignored', () => {
  const { tracker } = trackerAt(10_000);
  tracker.confirm(9_000);
  tracker.confirm(5_000);

  assert.equal(tracker.stalenessSeconds(), 1);
  assert.equal(tracker.confirmedAtMs(), 9_000);
});

test('StalenessTracker confirmedSince', () => {
  const { tracker } = trackerAt(10_000);
  tracker.confirm(6_000);

  assert.equal(tracker.confirmedSince(5_999), true);
  assert.equal(tracker.confirmedSince(6_000), true);
  assert.equal(tracker.confirmedSince(6_001), false);
});

test('StalenessTracker confirmedSince initial value', () => {
  const { tracker } = trackerAt(10_000, 3_000);

  assert.equal(tracker.confirmedSince(3_000), true);
  assert.equal(tracker.confirmedSince(4_000), false);
});

test('StalenessTracker clock behind confirmation', () => {
  const { tracker } = trackerAt(10_000);
  tracker.confirm(12_000);

  assert.equal(tracker.stalenessSeconds(), 0);
});

test('StalenessTracker expect already applied', () => {
  const { tracker } = trackerAt(10_000);
  tracker.expect(9_000, 5, 5);

  assert.equal(tracker.stalenessSeconds(), 1);
});

test('StalenessTracker expect applied beyond', () => {
  const { tracker } = trackerAt(10_000);
  tracker.expect(9_000, 5, 8);

  assert.equal(tracker.stalenessSeconds(), 1);
});

test('StalenessTracker expect waits for sequence', () => {
  const { tracker, setNow } = trackerAt(10_000, 1_000);
  tracker.expect(9_000, 10, 7);

  assert.equal(tracker.stalenessSeconds(), 9);
  setNow(11_000);
  tracker.applied(8);
  assert.equal(tracker.stalenessSeconds(), 10, 'confirmed before the awaited sequence');
  tracker.applied(9);
  assert.equal(tracker.stalenessSeconds(), 10, 'confirmed before the awaited sequence');
  tracker.applied(10);
  assert.equal(tracker.stalenessSeconds(), 2);
});

test('StalenessTracker applied past sequence', () => {
  const { tracker } = trackerAt(10_000);
  tracker.expect(9_000, 10, 7);
  tracker.applied(12);

  assert.equal(tracker.stalenessSeconds(), 1);
});

test('StalenessTracker applied without awaited probe', () => {
  const { tracker } = trackerAt(10_000, 4_000);
  tracker.applied(100);

  assert.equal(tracker.stalenessSeconds(), 6);
});

test('StalenessTracker awaited probe confirmed once', () => {
  const { tracker, setNow } = trackerAt(10_000);
  tracker.expect(9_000, 10, 7);
  tracker.applied(10);
  tracker.confirm(9_500);
  setNow(20_000);
  tracker.applied(11);

  assert.equal(tracker.stalenessSeconds(), 10.5);
});

test('StalenessTracker clearAwaited', () => {
  const { tracker } = trackerAt(10_000, 2_000);
  tracker.expect(9_000, 10, 7);
  tracker.clearAwaited();
  tracker.applied(10);

  assert.equal(tracker.stalenessSeconds(), 8);
});

test('StalenessTracker newer confirm clears awaited', () => {
  const { tracker, setNow } = trackerAt(10_000);
  tracker.expect(8_000, 10, 7);
  tracker.confirm(9_000);
  setNow(12_000);
  tracker.applied(10);

  assert.equal(tracker.stalenessSeconds(), 3);
});

test('StalenessTracker older confirm keeps awaited', () => {
  const { tracker } = trackerAt(10_000);
  tracker.expect(9_000, 10, 7);
  tracker.confirm(5_000);
  tracker.applied(10);

  assert.equal(tracker.stalenessSeconds(), 1);
});

test('StalenessTracker later probe awaited', () => {
  const { tracker } = trackerAt(10_000);
  tracker.expect(8_000, 10, 7);
  tracker.expect(9_000, 12, 9);
  tracker.applied(12);

  assert.equal(tracker.stalenessSeconds(), 1);
});

// expect() keeps one awaited probe, and each new probe overwrites it. When the replica lags by
// more than the probe interval, every probe replaces the previous one before its sequence is
// reached. Reaching sequence 10 proves the replica current as of 8s, yet staleness keeps counting
// from the last confirmation, so it grows without bound under a steady lag.
test('StalenessTracker earlier probe confirmed under lag', () => {
  const { tracker } = trackerAt(10_000, 0);
  tracker.expect(8_000, 10, 7);
  tracker.expect(9_000, 12, 9);
  tracker.applied(10);

  assert.equal(tracker.stalenessSeconds(), 2);
});

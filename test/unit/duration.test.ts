import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatDuration, parseDuration, requireDuration } from '../../proxy/config/duration.js';

const VALID: readonly { text: string; milliseconds: number }[] = [
  { text: '500ms', milliseconds: 500 },
  { text: '0ms', milliseconds: 0 },
  { text: '0s', milliseconds: 0 },
  { text: '5s', milliseconds: 5_000 },
  { text: '2m', milliseconds: 120_000 },
  { text: '1h', milliseconds: 3_600_000 },
  { text: '1d', milliseconds: 86_400_000 },
  { text: '1h30m', milliseconds: 5_400_000 },
  { text: '1m30s500ms', milliseconds: 90_500 },
  { text: '1d1h1m1s1ms', milliseconds: 90_061_001 },
  { text: '30m1h', milliseconds: 5_400_000 },
  { text: '1.5s', milliseconds: 1_500 },
  { text: '0.25h', milliseconds: 900_000 },
  { text: '1.5ms', milliseconds: 2 },
  { text: '007s', milliseconds: 7_000 },
  { text: ' 5s ', milliseconds: 5_000 },
  { text: '\t1h\n', milliseconds: 3_600_000 },
];

const INVALID: readonly string[] = [
  '',
  '   ',
  '5',
  '1500',
  '-5s',
  '+5s',
  '1h 30m',
  '5 s',
  's',
  'ms',
  '.5s',
  '1.s',
  '1,5s',
  '5S',
  '1H',
  '5sec',
  '1w',
  '1e3ms',
  '1h-30m',
  '5s5',
  'NaNs',
  'Infinitys',
  `1${'0'.repeat(400)}s`,
];

for (const { text, milliseconds } of VALID) {
  test(`parseDuration ${JSON.stringify(text)}`, () => {
    assert.equal(parseDuration(text), milliseconds);
  });
}

for (const text of INVALID) {
  test(`parseDuration rejects ${JSON.stringify(text.length > 20 ? `${text.slice(0, 20)}...` : text)}`, () => {
    assert.equal(parseDuration(text), undefined);
  });
}

test('parseDuration after a failed parse', () => {
  // The parser keeps one sticky regex at module level, so a failed parse must not leave state behind.
  assert.equal(parseDuration('1h x'), undefined);
  assert.equal(parseDuration('5s'), 5_000);
});

const FORMATTED: readonly { milliseconds: number; text: string }[] = [
  { milliseconds: 0, text: '0ms' },
  { milliseconds: 1, text: '1ms' },
  { milliseconds: 999, text: '999ms' },
  { milliseconds: 1_000, text: '1s' },
  { milliseconds: 1_500, text: '1.5s' },
  { milliseconds: 59_000, text: '59s' },
  { milliseconds: 60_000, text: '1m' },
  { milliseconds: 90_000, text: '90s' },
  { milliseconds: 3_600_000, text: '1h' },
  { milliseconds: 5_400_000, text: '90m' },
  { milliseconds: 86_400_000, text: '24h' },
];

for (const { milliseconds, text } of FORMATTED) {
  test(`formatDuration ${milliseconds}`, () => {
    assert.equal(formatDuration(milliseconds), text);
  });
}

test('formatDuration output parses back', () => {
  for (const milliseconds of [0, 1, 999, 1_000, 1_234, 61_000, 3_599_999, 5_400_000, 86_400_000, 90_061_001]) {
    assert.equal(parseDuration(formatDuration(milliseconds)), milliseconds, `round trip of ${milliseconds}`);
  }
});

test('requireDuration valid', () => {
  assert.equal(requireDuration('2m', '--timeout'), 120_000);
});

test('requireDuration invalid names the field', () => {
  assert.throws(() => requireDuration('5', '--timeout'), (error: unknown) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^--timeout "5": invalid duration/);
    return true;
  });
});

import { expect, test } from 'vitest';
import { parseDuration } from '../../../ingress/durations.ts';

test.each([
  ['60', 60_000],
  ['0.5', 500],
  ['30s', 30_000],
  ['250ms', 250],
  ['2m', 120_000],
  ['1h', 3_600_000],
  [' 5 ', 5_000],
  ['', undefined],
  ['5 s', undefined],
  ['-1', undefined],
  ['1d', undefined],
  ['abc', undefined],
])('parseDuration(%j) → %j ms', (text, expected) => {
  expect(parseDuration(text)).toBe(expected);
});
